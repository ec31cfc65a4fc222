"""Money, numbers and times written one way on every page, notice, admin view and export.

- Money: the book's currency, comma thousands and two decimals, the same in every language
  (`¥12,345.00`, `-¥1,200.00`). Django's zh-hans locale groups digits by four with no separator,
  and an amount must read the same for every analyst whatever their language.
- Counts: comma thousands (`12,345`) in every language, for the same reason.
- Times: `YYYY-MM-DD HH:MM` in the viewer's zone (the active time zone; UTC for every user
  today), with the zone named once per page (base.html's footer, the admin's footer) or export,
  never after each value. Dates: `YYYY-MM-DD`.

Templates use these through the `riskops_formats` filters (`{{ amount|money }}`,
`{{ n|count }}`, `{{ t|when }}`); settings.FORMAT_MODULE_PATH (riskops/formats/) makes Django's
own rendering (the admin, a bare `{{ t }}`, `|date` without an argument) agree.

This module sits in riskops.core, the lowest layer, so accounts' admin and every app above can
use it; decisions.presentation.formats re-exports it for the pages.
"""

from __future__ import annotations

from datetime import date, datetime, timezone as dt_timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone

DATETIME_FORMAT = "%Y-%m-%d %H:%M"
DATE_FORMAT = "%Y-%m-%d"
BLANK = "—"


def currency_symbol() -> str:
    return getattr(settings, "RISKOPS_CURRENCY_SYMBOL", "¥")


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        # Through str, so a float (a chart's or JSON's) is read as written, not as its binary value.
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def money(amount: Any, *, signed: bool = False, blank: str | None = None) -> str:
    """¥12,345.00: the currency, comma thousands and two decimals in every language.

    A negative amount is `-¥1,200.00` (the sign before the currency, as a reader expects);
    `signed=True` puts `+` before a positive one (a change). None or "" is ¥0.00, or `blank`
    when given (a limit not set is not a limit of zero). Accepts Decimal, int, float or the
    decimal strings of JSON reports.
    """
    value = _decimal(amount)
    if value is None:
        if blank is not None and (amount is None or amount == ""):
            return blank
        value = Decimal("0")
    sign = "-" if value < 0 else ("+" if signed and value > 0 else "")
    return f"{sign}{currency_symbol()}{abs(value):,.2f}"


def count(value: Any) -> str:
    """12,345: a whole number with comma thousands in every language."""
    number = _decimal(value)
    if number is None:
        return BLANK
    return f"{number:,.0f}"


def when(value: datetime | date | None, *, blank: str = BLANK) -> str:
    """`YYYY-MM-DD HH:MM` in the active zone for a datetime, `YYYY-MM-DD` for a date.

    A naive datetime is taken as already in the zone it should be shown in (USE_TZ makes every
    stored time aware, so only a hand-built value is naive)."""
    if value is None or value == "":
        return blank
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime(DATETIME_FORMAT)
    if isinstance(value, date):
        return value.strftime(DATE_FORMAT)
    return str(value)


def utc_when(value: datetime | None, *, blank: str = "") -> str:
    """`YYYY-MM-DD HH:MM` in UTC, whatever the active zone: for exports, whose zone is fixed and
    named in their file name."""
    if value is None:
        return blank
    if timezone.is_aware(value):
        value = value.astimezone(dt_timezone.utc)
    return value.strftime(DATETIME_FORMAT)


def zone_name() -> str:
    """The zone times are shown in, as stated once per page: `UTC`."""
    return timezone.get_current_timezone_name()

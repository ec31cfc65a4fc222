"""Checks on what the ingestion services are given, run before anything is written.

Every check raises a `ValidationFailed` naming the argument at fault (the services add `NotFound`
for a row that is gone), so no raw `InvalidOperation`, `DataError`, `IntegrityError` or
`TypeError` reaches a caller. Bounds come from
the model columns themselves (`max_digits`, `decimal_places`, `max_length`), so a migration that
widens a column widens the check with it.

Choices made here (the README's "Bad input" section repeats them):
- **Money** is a `Decimal`, an `int`, or a plain decimal string (``"12.50"``, no exponent, no
  spaces); those convert exactly. A `float` is refused: ``0.1`` is not 0.10. The value must be
  finite, positive (or non-negative where said), have at most 2 decimal places — ``1.999`` is
  refused, never rounded; ``1.000`` is the exact value 1.00 and is accepted — and fit the column.
- **Integers** are `int` (not `bool`, not ``"700"``): a bureau score sent as a string means the
  sender's mapping is broken, and converting it would hide that.
- **Timestamps** are aware `datetime`s, at most `CLOCK_SKEW` (5 min) in the future, and not before
  the customer's onboarding minus `BEFORE_ONBOARDING` (30 days: a bureau pull or an application
  made during a sign-up that completed later is plausible; 1900-01-01 or a year-old date is a
  sender's bug).
- **Expiries** are in the future and at most `MAX_EXPIRY` (100 years) ahead; every timestamp must
  also be representable in UTC (``9999-12-31T23:59:59-14:00`` is year 10000 there: refused).
- **JSON payloads** (bureau `raw`, consent `evidence`) are objects that survive a strict JSON round
  trip unchanged, nest at most `MAX_JSON_DEPTH` (32) levels and serialise to at most
  `MAX_JSON_BYTES` (64 KiB). A `datetime`, `Decimal`, set
  or NaN inside is refused, not converted: evidence is a record of what was said, so the sender
  chooses its text form (ISO 8601 strings, decimal strings).
- **Strings** are `str`, within the column's `max_length`, without NUL characters (PostgreSQL
  cannot store them); required ones are not blank.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.db import models
from django.utils import timezone

from riskops.core.exceptions import ValidationFailed

CLOCK_SKEW = timedelta(minutes=5)
BEFORE_ONBOARDING = timedelta(days=30)
MAX_JSON_BYTES = 64 * 1024
# Deeper than any real evidence or bureau payload, far below where the database's JSON encoder
# (recursive) would raise RecursionError.
MAX_JSON_DEPTH = 32
MAX_EXPIRY = timedelta(days=36_525)

_PLAIN_DECIMAL = re.compile(r"-?\d{1,40}(\.\d{1,40})?")
M = TypeVar("M", bound=models.Model)


def column(model: type[models.Model], name: str) -> models.Field:
    return model._meta.get_field(name)


def money(value: Any, *, field: str, column: models.DecimalField, allow_zero: bool = False) -> Decimal:
    """An exact amount that fits `column`, returned at the column's scale (``12.5`` → ``12.50``)."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise ValidationFailed(f"must be an exact decimal (Decimal, int or decimal string), not {type(value).__name__}", field=field)
    if isinstance(value, str):
        if not _PLAIN_DECIMAL.fullmatch(value):
            raise ValidationFailed(f"{value[:40]!r} is not a plain decimal number", field=field)
        value = Decimal(value)
    amount = Decimal(value)
    # Checked before any comparison: comparing a signalling NaN raises InvalidOperation.
    if not amount.is_finite():
        raise ValidationFailed(f"must be a finite number, not {amount}", field=field)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationFailed("must not be negative" if allow_zero else "must be greater than zero", field=field)
    places = column.decimal_places
    largest = Decimal(10) ** (column.max_digits - places) - Decimal(1).scaleb(-places)
    if amount > largest:
        raise ValidationFailed(f"must be at most {largest}", field=field)
    unit = Decimal(1).scaleb(-places)
    try:
        exact = amount.quantize(unit)
    except InvalidOperation:  # pragma: no cover - bounded above, so within the context precision
        raise ValidationFailed("is not a representable amount", field=field) from None
    if exact != amount:
        raise ValidationFailed(f"{amount} has more than {places} decimal places; amounts are never rounded", field=field)
    return exact


def integer(value: Any, *, field: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"must be an integer, not {type(value).__name__}", field=field)
    if not minimum <= value <= maximum:
        raise ValidationFailed(f"must be between {minimum} and {maximum}", field=field)
    return value


def text(value: Any, *, field: str, column: models.CharField, required: bool = True) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(f"must be a string, not {type(value).__name__}", field=field)
    if required and not value.strip():
        raise ValidationFailed("is required", field=field)
    if len(value) > column.max_length:
        raise ValidationFailed(f"must be at most {column.max_length} characters (got {len(value)})", field=field)
    if "\x00" in value:
        raise ValidationFailed("must not contain NUL characters", field=field)
    return value


def choice(value: Any, *, field: str, choices: list[str], refused: tuple[str, ...] = ()) -> str:
    if not isinstance(value, str) or value not in choices or value in refused:
        raise ValidationFailed(f"unknown or not accepted here: {value!r}", field=field)
    return value


def _aware(value: Any, *, field: str) -> datetime:
    """An aware datetime that exists in UTC (it is stored and compared there)."""
    if not isinstance(value, datetime):
        raise ValidationFailed(f"must be a datetime, not {type(value).__name__}", field=field)
    if timezone.is_naive(value):
        raise ValidationFailed("must include a timezone", field=field)
    try:
        value.astimezone(dt_timezone.utc)
    except OverflowError:
        raise ValidationFailed("is out of range once converted to UTC", field=field) from None
    return value


def moment(value: Any, *, field: str, now: datetime) -> datetime:
    """An aware datetime no later than now + CLOCK_SKEW (the sender's clock may run a little ahead)."""
    value = _aware(value, field=field)
    if value > now + CLOCK_SKEW:
        raise ValidationFailed("must not be in the future", field=field)
    return value


def not_before_onboarding(value: datetime, *, field: str, onboarded_at: datetime) -> datetime:
    earliest = onboarded_at - BEFORE_ONBOARDING
    if value < earliest:
        raise ValidationFailed(
            f"must not be before {earliest.isoformat()} (the customer's onboarding less {BEFORE_ONBOARDING.days} days)", field=field
        )
    return value


def future_moment(value: Any, *, field: str, now: datetime) -> datetime:
    """An aware datetime strictly after now (an expiry), at most MAX_EXPIRY ahead."""
    value = _aware(value, field=field)
    if value <= now:
        raise ValidationFailed("must be in the future", field=field)
    if value > now + MAX_EXPIRY:
        raise ValidationFailed(f"must be at most {MAX_EXPIRY.days // 365} years ahead", field=field)
    return value


def json_object(value: Any, *, field: str, max_bytes: int = MAX_JSON_BYTES) -> dict:
    """A JSON object stored exactly as given: strict serialisation, a round trip that changes
    nothing (no int keys turned into strings, no tuples into lists), and a size cap."""
    if not isinstance(value, dict):
        raise ValidationFailed(f"must be a JSON object (dict), not {type(value).__name__}", field=field)
    if json_depth(value) > MAX_JSON_DEPTH:
        raise ValidationFailed(f"nests more than {MAX_JSON_DEPTH} levels deep", field=field)
    try:
        encoded = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValidationFailed(f"must be JSON-serialisable ({_json_problem(exc)})", field=field) from None
    size = len(encoded.encode("utf-8"))
    if size > max_bytes:
        raise ValidationFailed(f"is {size} bytes serialised; the limit is {max_bytes}", field=field)
    if "\\u0000" in encoded:
        raise ValidationFailed("must not contain NUL characters", field=field)
    if json.loads(encoded) != value:
        raise ValidationFailed("must survive a JSON round trip unchanged (string keys, lists, no tuples)", field=field)
    return value


def json_depth(value: Any) -> int:
    """How many objects and arrays deep `value` nests (a scalar is 0). Iterative: a hostile
    document cannot exhaust the stack of the check meant to refuse it."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _json_problem(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    message = str(exc)
    if "Out of range float" in message:
        return "NaN and Infinity are not JSON"
    # e.g. "Object of type datetime is not JSON serializable": send ISO 8601 strings instead.
    return message + "; send dates as ISO 8601 strings and amounts as decimal strings"


def saved(value: Any, model: type[M], *, field: str) -> M:
    """An instance of `model` that has been saved (it has a primary key)."""
    if not isinstance(value, model):
        raise ValidationFailed(f"must be a {model.__name__}, not {type(value).__name__}", field=field)
    if value.pk is None:
        raise ValidationFailed(f"must be a saved {model.__name__}", field=field)
    return value


def first_difference(stored: models.Model, expected: list[tuple[str, str, Any]]) -> str | None:
    """The first argument whose value differs from the stored row's: `expected` lists
    (argument name, model attribute, value sent) in the order they should be reported."""
    for field, attribute, value in expected:
        if getattr(stored, attribute) != value:
            return field
    return None


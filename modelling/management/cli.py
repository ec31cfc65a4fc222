"""What the model commands share: the `--as-of` date and an aligned text table."""

from __future__ import annotations

from datetime import date

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from modelling.performance import utc_date


def as_of_date(value: str | None) -> date:
    """`--as-of`: a date as YYYY-MM-DD, today (UTC) when absent; a clear error otherwise."""
    if value is None:
        return utc_date(timezone.now())
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("--as-of must be a date as YYYY-MM-DD, not %(value)r") % {"value": value}) from None


def aligned_table(headers: tuple[str, ...], rows: list[tuple[str, ...]], *, right: set[int]) -> list[str]:
    """The rows as text lines under their headers and a rule; the columns in `right` are
    right-aligned (figures), the others left-aligned."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows)]
    lines = [
        "  ".join(cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
        for row in [headers, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines

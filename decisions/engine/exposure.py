"""The exposure that utilisation is measured against, chosen so a decision cannot feed on itself.

Utilisation (outstanding ÷ limit) used to divide by the limit the engine had set a moment ago, so
a recompute with no new data moved the score, which moved the band, which moved the limit, which
moved utilisation again: decisions flapped forever (e.g. band D 1,550 → band E → band D …).

Here the denominator is the limit **in force when the current statement period began** (calendar
month, UTC), as a bureau reports utilisation from the statement's balance and limit. A recompute
writes decisions at `now`, after the period began, so it can never change the denominator of the
period it is in: the same data and the same clock give the same utilisation, and so the same
decision. The denominator moves only when time passes into a new statement period, and a decision
that follows says so (its reasons name `utilisation` among the inputs that changed).

The line keeps (`exposure_period_start`, `exposure_limit`). The first recompute after a period
boundary rolls them: the line's current limit is the limit in force at the boundary, because any
decision made after the boundary would have rolled the period first.
"""

from __future__ import annotations

from datetime import datetime, timezone as dt_timezone
from decimal import Decimal


def statement_period_start(now: datetime) -> datetime:
    """Midnight UTC on the first day of `now`'s calendar month."""
    utc = now.astimezone(dt_timezone.utc)
    return utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def exposure_for(*, period_start: datetime | None, exposure_limit: Decimal, current_limit: Decimal, now: datetime) -> tuple[datetime, Decimal]:
    """(period start, limit in force at that start) for a line as it stands before this recompute."""
    period = statement_period_start(now)
    if period_start is not None and period_start == period:
        return period, exposure_limit
    return period, current_limit

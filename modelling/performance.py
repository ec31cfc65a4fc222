"""The arithmetic of a performance window, with no database: observation dates, horizons, days
past due, consent at a point in time. `services/outcomes.py` reads the book and calls these.

Dates are UTC calendar dates. The observation point of an observation date is 00:00 UTC on that
date: who is in the book and who has consented is decided there; days past due are counted on
the dates after it, up to the end of the window.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timezone as dt_timezone
from typing import Iterable, Iterator


@dataclass(frozen=True)
class Installment:
    """What an outcome needs of one repayment installment (and of the draw it repays)."""

    draw_date: date  # the UTC date of the draw: it only counts in a window that ends on or after it
    due_on: date
    paid_on: date | None  # the UTC date of paid_at, set only when fully paid


@dataclass(frozen=True)
class ConsentSpan:
    """A `credit_scoring` consent: active from granted_at until withdrawn or expired."""

    granted_at: datetime
    withdrawn_at: datetime | None
    expires_at: datetime | None

    def active_at(self, moment: datetime) -> bool:
        return (
            self.granted_at <= moment
            and (self.withdrawn_at is None or self.withdrawn_at > moment)
            and (self.expires_at is None or self.expires_at > moment)
        )


def utc_date(moment: datetime) -> date:
    return moment.astimezone(dt_timezone.utc).date()


def start_of(day: date) -> datetime:
    """00:00 UTC on `day`: the observation point of an observation date."""
    return datetime.combine(day, time.min, tzinfo=dt_timezone.utc)


def add_months(month_start: date, months: int) -> date:
    years, month_index = divmod(month_start.month - 1 + months, 12)
    return date(month_start.year + years, month_index + 1, 1)


def first_month_start_at_or_after(moment: datetime) -> date:
    day = utc_date(moment)
    this_month = day.replace(day=1)
    return this_month if start_of(this_month) >= moment else add_months(this_month, 1)


def observation_dates(book_start: datetime, as_of: date) -> list[date]:
    """Every first of the month from the first one at or after `book_start` (the earliest
    onboarding) up to and including `as_of`."""
    return list(month_starts(first_month_start_at_or_after(book_start), as_of))


def month_starts(start: date, stop: date) -> Iterator[date]:
    """Month starts from `start` (a month start) up to and including `stop`."""
    current = start
    while current <= stop:
        yield current
        current = add_months(current, 1)


def consent_active(spans: Iterable[ConsentSpan], moment: datetime) -> bool:
    return any(span.active_at(moment) for span in spans)


def window_end(horizon_end: date, as_of: date) -> date:
    """The last date of the window observed so far: the horizon's end, or as_of before it."""
    return min(horizon_end, as_of)


def days_past_due_reached(installment: Installment, observation_date: date, end: date) -> int:
    """The worst days past due `installment` reached on a date t in (observation_date, end].

    At date t an installment is (min(paid date, t) − due_on) days past due when due_on < t and it
    was not paid before t; once paid it is no longer past due. So the worst is reached at its
    payment date or at `end`, whichever comes first; an installment paid on or before the
    observation date was settled before the window (its lateness is history, not an outcome) and
    one of a draw made after `end` did not exist yet.
    """
    if end <= observation_date or installment.draw_date > end:
        return 0
    paid_on = installment.paid_on
    if paid_on is not None and paid_on <= observation_date:
        return 0
    stop = end if paid_on is None else min(paid_on, end)
    return max(0, (stop - installment.due_on).days)


def worst_days_past_due(installments: Iterable[Installment], observation_date: date, end: date) -> int:
    return max((days_past_due_reached(i, observation_date, end) for i in installments), default=0)


"""The engine over time, read back from a replayed book's decisions and installments.

- **Limit reversals**: a limit change followed, within 30 days, by a change the other way (up then
  down, or down then up) with nothing new in between: no event of the customer's, no due date
  passed unpaid (the engine's `overdue` trigger), and no person's decision on the account (an
  alert confirmed or dismissed, an override decided). A suspension ending at the date set when it
  began is not a second decision and is not counted. Reported per
  customer-year: the calendar time the replayed nights cover, customer by customer. The engine should not
  hesitate: the target is 0. Reported per customer-year (customers × days covered by nightly runs).
- **Defaults caught early**: customers who reached 90+ days past due during the replayed period on
  an installment that fell due within it, and the share of them whose line was limited,
  suspended or closed (the last decision before that day) before they got there.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone as dt_timezone

from django.db.models import F, Max, Min

from accounts.models import BureauReport, Consent, CreditApplication, Customer, RepaymentInstallment, Transaction
from decisions.models import CreditDecision, Override, RecomputeRun, RiskAlert, Trigger

REVERSAL_WINDOW = timedelta(days=30)
CAUGHT = {"limited", "suspended", "closed"}


@dataclass
class EngineOverTime:
    reversals: int
    customer_years: float
    defaults: int
    caught_early: int

    @property
    def reversals_per_customer_year(self) -> float:
        return self.reversals / self.customer_years if self.customer_years else 0.0

    @property
    def caught_early_share(self) -> float:
        return self.caught_early / self.defaults if self.defaults else 0.0


def _had_event(customer_id: int, after: datetime, until: datetime) -> bool:
    """Did anything new about the customer arrive between two changes: an event of the customer's,
    a due date that passed unpaid (the engine's own `overdue` trigger: a missed payment is news),
    or a person's decision on the account (an alert triaged, an override decided)?"""
    window = dict(customer_id=customer_id)
    missed = RepaymentInstallment.objects.filter(
        **window, due_on__gte=after.date(), due_on__lt=until.date(),
    ).exclude(paid_at__date__lte=F("due_on"))
    return (
        RiskAlert.objects.filter(**window, resolved_at__gt=after, resolved_at__lte=until).exists()
        or Override.objects.filter(**window, decided_at__gt=after, decided_at__lte=until).exists()
        or Transaction.objects.filter(**window, occurred_at__gt=after, occurred_at__lte=until).exists()
        or CreditApplication.objects.filter(**window, applied_at__gt=after, applied_at__lte=until).exists()
        or BureauReport.objects.filter(**window, reported_at__gt=after, reported_at__lte=until).exists()
        or Consent.objects.filter(**window, granted_at__gt=after, granted_at__lte=until).exists()
        or Consent.objects.filter(**window, withdrawn_at__gt=after, withdrawn_at__lte=until).exists()
        or missed.exists()
    )


@dataclass(frozen=True)
class _Move:
    at: datetime
    direction: int
    access: str
    previous_access: str
    suspended_until: datetime | None


def _scheduled_end(first: _Move, second: _Move) -> bool:
    """A suspension and its end at the date set when it began: one decision with a duration."""
    return (
        first.access == "suspended" and second.previous_access == "suspended"
        and first.suspended_until is not None and second.at >= first.suspended_until
    )


def limit_reversals() -> int:
    changes: dict[int, list[_Move]] = defaultdict(list)
    for customer_id, decided_at, limit, previous, access, previous_access, suspended_until in (
        CreditDecision.objects.filter(previous_limit__isnull=False).order_by("customer_id", "decided_at", "pk")
        .values_list("customer_id", "decided_at", "limit_amount", "previous_limit", "access", "previous_access", "suspended_until")
    ):
        if limit != previous:
            changes[customer_id].append(_Move(decided_at, 1 if limit > previous else -1, access, previous_access, suspended_until))
    reversals = 0
    for customer_id, moves in changes.items():
        for first, second in zip(moves, moves[1:]):
            if (
                first.direction != second.direction and second.at - first.at <= REVERSAL_WINDOW
                and not _scheduled_end(first, second) and not _had_event(customer_id, first.at, second.at)
            ):
                reversals += 1
    return reversals


def defaults_caught_early() -> tuple[int, int]:
    """(customers who went from current to 90+ days past due within the replayed nights, those
    caught before). Only installments that fell due on or after the first replayed night count:
    one already overdue when the replay began was caught by the first night for nothing."""
    nights = RecomputeRun.objects.filter(trigger=Trigger.NIGHTLY, as_of__isnull=False).aggregate(first=Min("night"), last=Max("as_of"))
    if nights["first"] is None:
        return 0, 0
    first_night, last_clock = nights["first"], nights["last"]
    reached: dict[int, datetime] = {}
    for customer_id, due_on, paid_at in RepaymentInstallment.objects.filter(due_on__gte=first_night).values_list("customer_id", "due_on", "paid_at"):
        day90 = due_on + timedelta(days=90)
        if paid_at is not None and paid_at.date() <= day90:
            continue
        at = datetime.combine(day90, time.min, tzinfo=dt_timezone.utc)
        if at > last_clock:
            continue
        reached[customer_id] = min(reached.get(customer_id, at), at)
    caught = 0
    for customer_id, at in reached.items():
        last = CreditDecision.objects.filter(customer_id=customer_id, decided_at__lt=at).order_by("-decided_at", "-pk").values_list("access", flat=True).first()
        caught += last in CAUGHT
    return len(reached), caught


def customer_years() -> float:
    """The time the replayed nights cover, customer by customer: from the first night (or the
    customer's onboarding, if later) to the last night, in years. Runs only at month ends before
    the last days (`--daily-runs-last-days`) cover the same calendar time as nightly ones."""
    nights = RecomputeRun.objects.filter(trigger=Trigger.NIGHTLY, as_of__isnull=False).aggregate(first=Min("night"), last=Max("night"))
    if nights["first"] is None:
        return 0.0
    first, last = nights["first"], nights["last"]
    days = 0
    for onboarded_at in Customer.objects.filter(onboarded_at__date__lte=last).values_list("onboarded_at", flat=True):
        days += (last - max(first, onboarded_at.astimezone(dt_timezone.utc).date())).days + 1
    return days / 365


def engine_over_time() -> EngineOverTime:
    defaults, caught = defaults_caught_early()
    return EngineOverTime(reversals=limit_reversals(), customer_years=customer_years(), defaults=defaults, caught_early=caught)

"""Materialise credit outcomes: for every customer and monthly observation date, did the customer
go bad within the horizon after it?

"Bad" is the active policy's `outcome` section: the worst days past due reached within
`horizon_months` after the observation date is at least `bad_days_past_due`. The window arithmetic
is in `modelling/performance.py`; this module reads the book, chunk by chunk, and writes rows.

Who gets a row at an observation date: every customer onboarded by its observation point (00:00
UTC on the date) whose `credit_scoring` consent was active then. A customer without it is left
out (no row, and a row left from an earlier run is deleted) and counted in the report: their
repayment data may not be used to score them, so it may not be used to build a score either.

Point in time: a run as of a date reads nothing dated after it. Only installments of draws made by
the end of a window count in it, an installment paid after the window's end counts as unpaid up to
it, and the window of a recent observation date ends at `as_of` (the row is not matured yet).
So adding events dated after `as_of` does not change any outcome computed as of `as_of`.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Callable, Iterator

from django.db import transaction
from django.db.models import Min
from django.utils.translation import gettext as _

from accounts.models import Consent, Customer, RepaymentInstallment
from decisions.engine.policy import OutcomeDefinition
from decisions.engine.policy_reads import active_policy
from riskops.core.audit import audit_record
from riskops.core.bulk import ids_param
from riskops.core.exceptions import ValidationFailed
from riskops.core.models import AuditAction

from ..models import Outcome
from ..performance import (
    ConsentSpan,
    Installment,
    add_months,
    consent_active,
    observation_dates,
    start_of,
    utc_date,
    window_end,
    worst_days_past_due,
)

# Customers per chunk: one read of each table per chunk keeps the queries few and the memory of
# a chunk (its installments, consents and existing rows) small.
CHUNK_SIZE = 2000
# Rows per upsert statement; on SQLite Django splits it further under the variable limit.
UPSERT_BATCH = 2000
# The columns that hold an outcome's value, in the order they are compared with a stored row.
VALUE_FIELDS = ("horizon_end", "worst_dpd", "matured", "bad", "bad_days_past_due", "horizon_months", "policy_version")
UPSERT_FIELDS = [*VALUE_FIELDS, "as_of", "computed_at"]
RATE_PLACES = Decimal("0.0001")

Progress = Callable[[int], None]


@dataclass
class ObservationSummary:
    """One observation date's line in the report."""

    observation_date: date
    customers: int = 0  # rows: customers onboarded by the date, with scoring consent then
    excluded_no_consent: int = 0
    matured: int = 0
    bad: int = 0  # bad so far, matured or not
    matured_bad: int = 0

    @property
    def bad_rate(self) -> Decimal | None:
        """Bad among matured rows; None while the date has none (its horizon is still open)."""
        if not self.matured:
            return None
        return (Decimal(self.matured_bad) / Decimal(self.matured)).quantize(RATE_PLACES)


@dataclass
class OutcomeReport:
    as_of: date
    policy_version_id: int
    policy_version: int  # the version's number, as people read it ("v3")
    bad_days_past_due: int
    horizon_months: int
    observations: list[ObservationSummary] = field(default_factory=list)
    customers_read: int = 0
    written: int = 0  # rows inserted or rewritten because a value changed
    unchanged: int = 0
    deleted: int = 0  # rows of excluded customers and of dates after as_of

    @property
    def rows(self) -> int:
        return sum(o.customers for o in self.observations)

    @property
    def excluded_no_consent(self) -> int:
        return sum(o.excluded_no_consent for o in self.observations)

    def audit_payload(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(),
            "policy_version_id": self.policy_version_id,
            "policy_version": self.policy_version,
            "bad_days_past_due": self.bad_days_past_due,
            "horizon_months": self.horizon_months,
            "observation_dates": len(self.observations),
            "customers_read": self.customers_read,
            "rows": self.rows,
            "excluded_no_consent": self.excluded_no_consent,
            "matured": sum(o.matured for o in self.observations),
            "bad": sum(o.bad for o in self.observations),
            "written": self.written,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
        }


@dataclass(frozen=True)
class _Window:
    """An observation date with everything about it that is the same for every customer."""

    summary: ObservationSummary
    point: datetime  # the observation point: onboarding and consent are decided here
    horizon_end: date
    end: date  # the last date observed: min(horizon_end, as_of)
    matured: bool


def book_start() -> datetime | None:
    """When the book starts: the earliest onboarding (None while there is no customer)."""
    return Customer.objects.aggregate(start=Min("onboarded_at"))["start"]


def _validated_book_start(*, as_of: date, now: datetime) -> datetime | None:
    today = utc_date(now)
    if as_of > today:
        raise ValidationFailed(
            _("%(as_of)s is in the future: outcomes can only be known up to today (%(today)s, UTC).")
            % {"as_of": as_of.isoformat(), "today": today.isoformat()},
            field="as_of",
        )
    start = book_start()
    if start is not None and as_of < utc_date(start):
        raise ValidationFailed(
            _("%(as_of)s is before the book starts: the first customer was onboarded on %(start)s.")
            % {"as_of": as_of.isoformat(), "start": utc_date(start).isoformat()},
            field="as_of",
        )
    return start


def outcomes_materialise(*, as_of: date, now: datetime, progress: Progress | None = None, chunk_size: int = CHUNK_SIZE) -> OutcomeReport:
    """Compute every customer's outcome at every observation date up to `as_of`; upsert the rows.

    Refused (ValidationFailed naming `as_of`, nothing written) when `as_of` is after `now`'s UTC
    date or before the earliest onboarding. Customers are read in chunks of consecutive ids, each
    chunk with a fixed number of queries (customers, installments with their draw's date,
    consents, stored rows; then one upsert per UPSERT_BATCH rows and one delete) and written in
    its own transaction; one `outcomes.materialise` audit event follows with the counts.
    `progress(n)` is called after each chunk with the customers it read.

    Idempotent, and only rows whose values changed are rewritten: a stored row is left alone
    (computed_at and as_of included) when its horizon end, worst days past due, matured, bad,
    definition and policy version are what this run computes, and, for a row whose horizon is
    still open, its as_of is this run's (an open row's figures only hold up to its as_of). So a
    second run with the same as_of and data writes nothing; a run on a later day rewrites the
    open rows and the rows whose value moved, and leaves matured rows that did not change as
    they were, with the as_of they were computed for. Rows of customers excluded for want of
    consent and rows dated after `as_of` (left by a run with a later as_of) are deleted.
    A run interrupted between chunks leaves earlier chunks written; running it again completes it.
    """
    if chunk_size < 1:
        raise ValidationFailed(_("chunk_size must be at least 1."), field="chunk_size")
    start = _validated_book_start(as_of=as_of, now=now)
    version, policy = active_policy()
    definition = policy.outcome
    dates = observation_dates(start, as_of) if start is not None else []
    report = OutcomeReport(
        as_of=as_of,
        policy_version_id=version.pk,
        policy_version=version.version,
        bad_days_past_due=definition.bad_days_past_due,
        horizon_months=definition.horizon_months,
        observations=[ObservationSummary(d) for d in dates],
    )
    windows = _windows(report.observations, as_of=as_of, definition=definition)
    for chunk in _customer_chunks(chunk_size):
        with transaction.atomic():
            _materialise_chunk(chunk, windows=windows, report=report, version_id=version.pk, now=now)
        report.customers_read += len(chunk)
        if progress is not None:
            progress(len(chunk))
    with transaction.atomic():
        audit_record(
            actor=None,
            action=AuditAction.OUTCOMES_MATERIALISE,
            target=("outcomes", as_of.isoformat()),
            after=report.audit_payload(),
        )
    return report


def _windows(observations: list[ObservationSummary], *, as_of: date, definition: OutcomeDefinition) -> list[_Window]:
    windows = []
    for summary in observations:
        horizon_end = add_months(summary.observation_date, definition.horizon_months)
        windows.append(
            _Window(
                summary=summary,
                point=start_of(summary.observation_date),
                horizon_end=horizon_end,
                end=window_end(horizon_end, as_of),
                matured=horizon_end <= as_of,
            )
        )
    return windows


def _customer_chunks(size: int) -> Iterator[list[tuple[int, datetime]]]:
    """(id, onboarded_at) of every customer, `size` consecutive ids at a time (keyset pages).

    Every customer, not only those onboarded by as_of: a customer with no row due still has any
    stale row deleted."""
    last_id = 0
    while True:
        chunk = list(Customer.objects.filter(pk__gt=last_id).order_by("pk").values_list("pk", "onboarded_at")[:size])
        if not chunk:
            return
        yield chunk
        last_id = chunk[-1][0]


def _materialise_chunk(
    chunk: list[tuple[int, datetime]], *, windows: list[_Window], report: OutcomeReport, version_id: int, now: datetime
) -> None:
    first, last = chunk[0][0], chunk[-1][0]
    as_of = report.as_of
    installments = _installments(first, last, as_of=as_of)
    consents = _scoring_consents(first, last, until=windows[-1].point if windows else None)
    stored = _stored_rows(first, last)
    threshold, horizon = report.bad_days_past_due, report.horizon_months

    to_write: list[Outcome] = []
    kept: set[tuple[int, date]] = set()
    for customer_id, onboarded_at in chunk:
        spans = consents.get(customer_id, ())
        repayments = installments.get(customer_id, ())
        for window in windows:
            if onboarded_at > window.point:
                continue  # not in the book yet at this observation date
            summary = window.summary
            if not consent_active(spans, window.point):
                summary.excluded_no_consent += 1
                continue
            worst = worst_days_past_due(repayments, window.summary.observation_date, window.end)
            bad = worst >= threshold
            summary.customers += 1
            summary.matured += window.matured
            summary.bad += bad
            summary.matured_bad += window.matured and bad
            key = (customer_id, summary.observation_date)
            kept.add(key)
            values = (window.horizon_end, worst, window.matured, bad, threshold, horizon, version_id)
            if not _changed(stored.get(key), values, as_of=as_of):
                report.unchanged += 1
                continue
            to_write.append(
                Outcome(
                    customer_id=customer_id,
                    observation_date=summary.observation_date,
                    horizon_end=window.horizon_end,
                    as_of=as_of,
                    worst_dpd=worst,
                    matured=window.matured,
                    bad=bad,
                    bad_days_past_due=threshold,
                    horizon_months=horizon,
                    policy_version_id=version_id,
                    computed_at=now,
                )
            )
    if to_write:
        Outcome.objects.bulk_create(
            to_write,
            update_conflicts=True,
            unique_fields=["customer", "observation_date"],
            update_fields=UPSERT_FIELDS,
            batch_size=UPSERT_BATCH,
        )
        report.written += len(to_write)
    stale = [pk for key, (pk, *_rest) in stored.items() if key not in kept]
    if stale:
        report.deleted += Outcome.objects.filter(pk__in=ids_param(stale)).delete()[0]


def _changed(stored: tuple | None, values: tuple, *, as_of: date) -> bool:
    if stored is None:
        return True
    _pk, stored_as_of, *stored_values = stored
    matured = values[2]
    return tuple(stored_values) != values or (not matured and stored_as_of != as_of)


def _installments(first: int, last: int, *, as_of: date) -> dict[int, list[Installment]]:
    """The chunk's installments that can be past due on or before as_of, of draws made by then."""
    rows = (
        RepaymentInstallment.objects.filter(
            customer_id__gte=first,
            customer_id__lte=last,
            due_on__lt=as_of,  # due on or after as_of: not past due on any date of any window
            draw__occurred_at__lt=start_of(as_of + timedelta(days=1)),
        )
        .order_by()
        .values_list("customer_id", "draw__occurred_at", "due_on", "paid_at")
    )
    by_customer: dict[int, list[Installment]] = defaultdict(list)
    for customer_id, drawn_at, due_on, paid_at in rows:
        by_customer[customer_id].append(Installment(utc_date(drawn_at), due_on, None if paid_at is None else utc_date(paid_at)))
    return by_customer


def _scoring_consents(first: int, last: int, *, until: datetime | None) -> dict[int, list[ConsentSpan]]:
    if until is None:
        return {}
    rows = (
        Consent.objects.filter(
            customer_id__gte=first, customer_id__lte=last, purpose=Consent.Purpose.CREDIT_SCORING, granted_at__lte=until
        )
        .order_by()
        .values_list("customer_id", "granted_at", "withdrawn_at", "expires_at")
    )
    by_customer: dict[int, list[ConsentSpan]] = defaultdict(list)
    for customer_id, granted_at, withdrawn_at, expires_at in rows:
        by_customer[customer_id].append(ConsentSpan(granted_at, withdrawn_at, expires_at))
    return by_customer


def _stored_rows(first: int, last: int) -> dict[tuple[int, date], tuple]:
    """(customer, observation date) → (pk, as_of, *VALUE_FIELDS) of the chunk's stored rows."""
    columns = ["pk", "customer_id", "observation_date", "as_of", *(f"{name}_id" if name == "policy_version" else name for name in VALUE_FIELDS)]
    rows = Outcome.objects.filter(customer_id__gte=first, customer_id__lte=last).order_by().values_list(*columns)
    return {(row[1], row[2]): (row[0], *row[3:]) for row in rows}

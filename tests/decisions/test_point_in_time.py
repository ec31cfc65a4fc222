"""Point in time: what the engine computes as of a day D reads only what had happened by D.

For any customer of a seeded book and any day D of its history, the features, rule hits and
decision planned as of D's end are computed, events dated after D are stored (transactions,
applications, bureau reports, a new draw with its schedule, the full settlement of an installment
that was owed at D, a consent withdrawn and one granted, a risk disclosure acknowledged), and the
same computation as of D gives the same result, on both paths: one customer and a chunk.
"""

from datetime import datetime, time, timedelta, timezone as dt_timezone
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings, strategies as st

from accounts.models import Consent, Customer, Disclosure, RepaymentInstallment
from accounts.seeding.generator import as_of_default
from accounts.services import demo_book_seed
from decisions.engine.planning import plan_customer
from decisions.engine.policy_reads import active_policy
from decisions.engine.services.inputs import load_chunk, load_customer
from tests.factories import (
    BureauReportFactory,
    ConsentFactory,
    CreditApplicationFactory,
    DisclosureAcknowledgementFactory,
    RepaymentInstallmentFactory,
    TransactionFactory,
)

pytestmark = pytest.mark.django_db
CUSTOMERS = 40


@pytest.fixture(scope="module")
def book(django_db_setup, django_db_blocker):
    """A seeded book shared by the module and rolled back at its end."""
    with django_db_blocker.unblock(), transaction.atomic():
        demo_book_seed(customers=CUSTOMERS, seed=33, as_of=as_of_default())
        yield list(Customer.objects.order_by("pk").values_list("pk", flat=True))
        transaction.set_rollback(True)


def _end_of(days_ago: int) -> datetime:
    day = datetime.now(dt_timezone.utc).date() - timedelta(days=days_ago)
    return datetime.combine(day, time.max, tzinfo=dt_timezone.utc)


def _computed(customer_id: int, as_of: datetime, *, path: str) -> dict:
    """Features, rule hits and the planned outcome as of `as_of`, as plain data."""
    version, policy = active_policy()
    if path == "single":
        context = load_customer(customer=Customer.objects.get(pk=customer_id), now=as_of)
    else:
        # The chunk around the customer (neighbours included, as a nightly run reads it).
        context = next(c for c in load_chunk(first_id=customer_id - 3, last_id=customer_id + 3, now=as_of) if c.customer_id == customer_id)
    plan = plan_customer(context=context, policy=policy, version=version, trigger="nightly", now=as_of, run=None)
    return {
        "features": context.features.features.as_json() if context.features.features else None,
        "sources": context.features.data_sources,
        "consents": context.features.consent_ids,
        "disclosure": context.disclosure,
        "score": plan.snapshot.score,
        "band": plan.snapshot.band,
        "hits": sorted(h.rule for h in plan.hits),
        "access": plan.outcome.access,
        "limit": plan.outcome.limit,
    }


def _later(as_of: datetime, fraction: float) -> datetime:
    """A moment after `as_of` and before now."""
    now = datetime.now(dt_timezone.utc) - timedelta(seconds=5)
    return as_of + timedelta(seconds=1) + (now - as_of - timedelta(seconds=1)) * fraction


def _add_events_after(customer_id: int, as_of: datetime, kinds: set[str], at: float) -> None:
    customer = Customer.objects.get(pk=customer_id)
    when = _later(as_of, at)
    if "purchase" in kinds:
        TransactionFactory(customer=customer, amount=Decimal("5000.00"), occurred_at=when)
    if "income" in kinds:
        TransactionFactory(customer=customer, income=True, occurred_at=when)
    if "application" in kinds:
        for n in range(4):
            CreditApplicationFactory(customer=customer, applied_at=when + timedelta(seconds=n))
    if "bureau" in kinds:
        BureauReportFactory(customer=customer, score=310, external_lenders=9, reported_at=when)
    if "draw" in kinds:
        draw = TransactionFactory(customer=customer, credit_draw=True, occurred_at=when)
        RepaymentInstallmentFactory(draw=draw, due_on=when.date() + timedelta(days=1))
    if "settle" in kinds:
        # Every installment owed at as_of is settled now, after as_of.
        for installment in RepaymentInstallment.objects.filter(customer=customer, paid_at__isnull=True, draw__occurred_at__lte=as_of):
            installment.amount_paid, installment.paid_at = installment.amount_due, when
            installment.save(update_fields=["amount_paid", "paid_at"])
    if "withdraw" in kinds:
        Consent.objects.filter(customer=customer, state=Consent.State.ACTIVE, granted_at__lte=as_of).update(
            state=Consent.State.WITHDRAWN, withdrawn_at=when
        )
    if "grant" in kinds:
        for purpose in Consent.Purpose.values:
            if not Consent.objects.filter(customer=customer, purpose=purpose, state=Consent.State.ACTIVE).exists():
                ConsentFactory(customer=customer, purpose=purpose, granted_at=when)
    if "acknowledge" in kinds:
        risk = Disclosure.objects.filter(kind=Disclosure.Kind.RISK_DISCLOSURE).order_by("-version").first()
        if risk is not None and not customer.acknowledgements.filter(disclosure=risk).exists():
            DisclosureAcknowledgementFactory(customer=customer, disclosure=risk, shown_at=when, acknowledged_at=when + timedelta(seconds=1))


KINDS = st.sets(st.sampled_from(["purchase", "income", "application", "bureau", "draw", "settle", "withdraw", "grant", "acknowledge"]), min_size=1)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    index=st.integers(min_value=0, max_value=CUSTOMERS - 1),
    days_ago=st.integers(min_value=1, max_value=200),
    kinds=KINDS,
    at=st.floats(min_value=0.0, max_value=1.0),
    path=st.sampled_from(["single", "chunk"]),
)
def test_events_dated_after_d_do_not_change_what_is_computed_as_of_d(book, index, days_ago, kinds, at, path):
    customer_id = book[index]
    as_of = _end_of(days_ago)
    if not Customer.objects.filter(pk=customer_id, onboarded_at__lte=as_of).exists():
        return  # not a customer yet on that day
    with transaction.atomic():
        before = _computed(customer_id, as_of, path=path)
        _add_events_after(customer_id, as_of, kinds, at)
        after = _computed(customer_id, as_of, path=path)
        transaction.set_rollback(True)
    assert after == before


def test_the_same_events_before_d_do_change_it(book):
    """The property above is not vacuous: the same kinds of event dated by D move the result."""
    customer_id = next(
        cid for cid in book
        if Consent.objects.filter(customer_id=cid, purpose="credit_scoring", state="active", granted_at__lte=_end_of(40)).exists()
    )
    as_of = _end_of(10)
    with transaction.atomic():
        before = _computed(customer_id, as_of, path="chunk")
        _add_events_after(customer_id, _end_of(20), {"purchase", "application", "bureau"}, 0.0)
        after = _computed(customer_id, as_of, path="chunk")
        transaction.set_rollback(True)
    assert after["features"] != before["features"]


def test_the_engine_reads_the_clock_only_where_a_computation_starts():
    """The clock is read once, where a recompute, a run's chunk, a batch of events' recomputes
    (each batch is a computation of its own) or a sweep starts, and passed down:
    the modules that compute (features, rules, scoring, access, planning, inputs, writing, notices,
    exposure) never read it themselves."""
    from pathlib import Path

    engine = Path(__file__).resolve().parents[2] / "decisions" / "engine"
    entry_points = {"services/recompute.py", "services/runs.py", "services/recovery.py", "services/batches.py", "selectors.py"}
    readers = sorted(
        str(path.relative_to(engine)) for path in engine.rglob("*.py")
        if any(call in path.read_text() for call in ("timezone.now(", "datetime.now(", "date.today("))
    )
    assert set(readers) <= entry_points, readers
    assert "features.py" not in readers and "planning.py" not in readers

"""A recompute is a fixed point: the same data and the same clock change no decision, alert or line.

Property-based over generated customers (hypothesis), and on a seeded book through the chunk path
and the single path, which must agree after the second run as after the first. A day later, with
no new data, only time may move a decision, and the decision says what moved.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings, strategies as st

from accounts.models import Customer
from accounts.seeding.generator import as_of_default
from accounts.services import demo_book_seed
from decisions.models import CreditDecision, CreditLine, RecomputeRun, RiskAlert, ScoreSnapshot
from decisions.engine.services.recompute import chunk_plans_write, decision_recompute
from decisions.engine.services.runs import recompute_run_process_inline, recompute_run_start
from tests.decisions.scenarios import days_ago, make_customer
from tests.factories import RepaymentInstallmentFactory, TransactionFactory

LINE_STATE = ("access", "limit_amount", "model_access", "model_limit", "score", "band", "suspended_until",
              "last_decision_id", "cycle_started_at", "cycle_base_limit", "exposure_period_start", "exposure_limit")


def state_of(customer):
    line = CreditLine.objects.get(customer=customer)
    alerts = sorted(
        RiskAlert.objects.filter(customer=customer).values_list("pk", "rule", "status", "severity", "action", "evidence", "effective_until", "last_seen_at")
    )
    return tuple(getattr(line, f) for f in LINE_STATE), alerts, CreditDecision.objects.filter(customer=customer).count()


customers = st.fixed_dictionaries(
    {
        "consents": st.sets(st.sampled_from(["credit_scoring", "bureau_query", "transaction_analysis"])),
        "income": st.one_of(st.none(), st.decimals(min_value=100, max_value=9000, places=2)),
        "bureau": st.one_of(
            st.none(),
            st.fixed_dictionaries({
                "score": st.integers(300, 900),
                "external_lenders": st.integers(0, 9),
                "external_debt": st.decimals(min_value=0, max_value=40000, places=2),
            }),
        ),
        "applications_last_week": st.integers(0, 7),
        "overdue_days": st.one_of(st.none(), st.integers(1, 120)),
        # Open draws the customer still owes: what utilisation measures.
        "owed": st.lists(st.decimals(min_value=50, max_value=3000, places=2), max_size=3),
        "spend_last_week": st.decimals(min_value=0, max_value=5000, places=2),
    }
)


def build(recipe):
    customer = make_customer(
        consents=tuple(sorted(recipe["consents"])), income=recipe["income"], bureau=recipe["bureau"],
        applications_last_week=recipe["applications_last_week"], overdue_days=recipe["overdue_days"],
    )
    for amount in recipe["owed"]:
        draw = TransactionFactory(customer=customer, credit_draw=True, amount=amount, occurred_at=days_ago(10))
        RepaymentInstallmentFactory(draw=draw, amount_due=amount, due_on=(timezone.now() + timedelta(days=20)).date())
    if recipe["spend_last_week"] > 0:
        TransactionFactory(customer=customer, purchase=True, amount=recipe["spend_last_week"], occurred_at=days_ago(2))
    return customer


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(recipe=customers, rounds=st.integers(2, 4))
def test_recomputing_with_the_same_data_and_clock_changes_nothing(recipe, rounds):
    # given any customer, recomputed once at a fixed clock
    customer = build(recipe)
    now = timezone.now()
    decision_recompute(customer=customer, trigger="manual", now=now)
    after_first = state_of(customer)

    # when recomputed again with nothing new and the same clock
    for _ in range(rounds):
        decision_recompute(customer=customer, trigger="manual", now=now)

    # then no decision, alert or line change
    assert state_of(customer) == after_first


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(recipe=customers, days=st.sampled_from([1, 3, 8, 31]))
def test_later_with_no_new_data_only_time_moves_a_decision_and_it_says_what_moved(recipe, days):
    # given a customer at its fixed point
    customer = build(recipe)
    now = timezone.now()
    decision_recompute(customer=customer, trigger="nightly", now=now)
    decision_recompute(customer=customer, trigger="nightly", now=now)
    decisions_before = CreditDecision.objects.filter(customer=customer).count()

    # when the nightly run comes days later with no new event
    decision_recompute(customer=customer, trigger="nightly", now=now + timedelta(days=days))

    # then any decision it writes names the inputs or the time-driven cause that moved
    for decision in CreditDecision.objects.filter(customer=customer).order_by("pk")[decisions_before:]:
        what = decision.reasons[-1]
        assert what["code"] == "WHAT_CHANGED"
        assert what["inputs"] or what["time"], decision.reasons

    # and once there, a rerun at that later clock is a fixed point again
    settled = state_of(customer)
    decision_recompute(customer=customer, trigger="nightly", now=now + timedelta(days=days))
    assert state_of(customer) == settled


def test_a_new_statement_period_remeasures_utilisation_and_says_so(db):
    # given a customer who owes most of a line granted this month
    customer = make_customer(bureau={"score": 640, "external_lenders": 1, "external_debt": Decimal("500.00")})
    draw = TransactionFactory(customer=customer, credit_draw=True, amount=Decimal("3000.00"), occurred_at=days_ago(10))
    RepaymentInstallmentFactory(draw=draw, amount_due=Decimal("3000.00"), due_on=(timezone.now() + timedelta(days=40)).date())
    now = timezone.now()
    line = decision_recompute(customer=customer, trigger="manual", now=now)
    # utilisation is unknown in the period the line was first granted: there was no limit at its start
    assert ScoreSnapshot.objects.filter(customer=customer).latest().features["utilisation"] is None
    granted = line.limit_amount

    # when the next statement period begins
    next_period = (now.replace(day=1) + timedelta(days=32)).replace(day=1, hour=1)
    decision_recompute(customer=customer, trigger="nightly", now=next_period)

    # then utilisation is measured against the limit in force when that period began
    snapshot = ScoreSnapshot.objects.filter(customer=customer).latest()
    assert Decimal(snapshot.features["utilisation"]) == (Decimal("3000.00") / granted).quantize(Decimal("0.0001"))
    line = CreditLine.objects.get(customer=customer)
    assert (line.exposure_limit, line.exposure_period_start.day) == (granted, 1)
    decision = CreditDecision.objects.filter(customer=customer).latest()
    if decision.decided_at == next_period:
        assert "statement_period" in decision.reasons[-1]["time"]


@pytest.mark.django_db
@pytest.mark.slow
def test_seeded_book_second_run_writes_nothing_and_both_paths_agree():
    # given a seeded book recomputed once through the chunk path
    demo_book_seed(customers=300, seed=41, as_of=as_of_default(), chunk_size=50)
    first = recompute_run_process_inline(run=recompute_run_start(chunk_size=70, enqueue=False))
    assert first.status == RecomputeRun.Status.SUCCEEDED
    lines_after_first = {l.customer_id: (l.access, l.limit_amount, l.band) for l in CreditLine.objects.all()}
    alerts_after_first = sorted(RiskAlert.objects.values_list("pk", "status", "severity", "evidence", "effective_until"))

    # when it runs again with nothing new
    second = recompute_run_process_inline(run=recompute_run_start(chunk_size=70, enqueue=False))

    # then no decision, no alert or line change
    assert CreditDecision.objects.filter(run=second).count() == 0
    assert {l.customer_id: (l.access, l.limit_amount, l.band) for l in CreditLine.objects.all()} == lines_after_first
    assert sorted(RiskAlert.objects.values_list("pk", "status", "severity", "evidence", "effective_until")) == alerts_after_first

    # and the single-customer path, at the same point, agrees: same score inputs, no decision either
    decisions = CreditDecision.objects.count()
    chunk_snapshots = {s.customer_id: s for s in ScoreSnapshot.objects.filter(run=second)}
    for customer in Customer.objects.all()[::7]:
        decision_recompute(customer=customer, trigger="manual")
        single = ScoreSnapshot.objects.filter(customer=customer, run__isnull=True).latest()
        mine = chunk_snapshots[customer.pk]
        assert (single.score, single.band, single.features) == (mine.score, mine.band, mine.features), customer.external_id
    assert CreditDecision.objects.count() == decisions


@pytest.mark.django_db
def test_a_chunk_rerun_at_the_same_clock_writes_no_decision():
    customer = make_customer(bureau={"score": 560, "external_lenders": 5, "external_debt": Decimal("9000.00")}, applications_last_week=2)
    run = recompute_run_start(chunk_size=10, enqueue=False)
    now = timezone.now()
    _, first = chunk_plans_write(first_id=customer.pk, last_id=customer.pk, run=run, now=now)
    again = recompute_run_start(chunk_size=10, enqueue=False)
    _, second = chunk_plans_write(first_id=customer.pk, last_id=customer.pk, run=again, now=now)
    assert len(first) == 1 and second == []


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(recipe=customers, later=st.integers(1, 3 * 3600))
def test_a_rerun_later_the_same_day_with_no_new_data_writes_no_decision(recipe, later):
    # given a customer recomputed early in a UTC day (windows are whole days)
    customer = build(recipe)
    morning = timezone.now().replace(hour=6, minute=0, second=0, microsecond=0)
    decision_recompute(customer=customer, trigger="nightly", now=morning)
    decisions = CreditDecision.objects.filter(customer=customer).count()
    line = CreditLine.objects.get(customer=customer)

    # when recomputed seconds to hours later, the same day, with nothing new
    decision_recompute(customer=customer, trigger="nightly", now=morning + timedelta(seconds=later))

    # then no decision and the same access, limit and suspension end
    again = CreditLine.objects.get(customer=customer)
    assert CreditDecision.objects.filter(customer=customer).count() == decisions
    assert (again.access, again.limit_amount, again.suspended_until) == (line.access, line.limit_amount, line.suspended_until)

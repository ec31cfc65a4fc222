"""Full-book recomputes: set-based features agree with the single path; chunks are idempotent."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Consent, Customer
from accounts.seeding.generator import as_of_default
from accounts.services import demo_book_seed
from decisions.engine.features import consent_states, features_for_chunk, features_for_customer
from decisions.models import CreditDecision, CreditLine, RecomputeRun, RiskAlert, ScoreSnapshot
from decisions.engine.services import runs
from decisions.engine.services.runs import chunk_recompute, recompute_run_process_inline, recompute_run_start
from decisions.governance.services.overrides import expiry_sweep
from decisions.tasks import recompute_chunk
from riskops.core.audit import verify_chain
from riskops.core.exceptions import ValidationFailed
from riskops.core.models import AuditEvent
from tests.decisions.scenarios import make_customer
from tests.factories import CreditLineFactory, OverrideFactory, UserFactory


@pytest.fixture(scope="module")
def book(django_db_setup, django_db_blocker):
    """A seeded book of 250 customers, shared by the module and rolled back at its end."""
    with django_db_blocker.unblock(), transaction.atomic():
        demo_book_seed(customers=250, seed=21, as_of=as_of_default())
        yield
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_set_based_features_agree_with_the_single_customer_path(book):
    now = timezone.now()
    customers = dict(Customer.objects.values_list("pk", "onboarded_at"))
    consents = consent_states(customers, as_of=now)
    limits = {cid: Decimal("1000.00") for cid in list(customers)[::3]}  # some with a limit, for utilisation

    chunk = features_for_chunk(customers=customers, consents=consents, limits=limits, as_of=now)

    scored = 0
    for customer in Customer.objects.all():
        single = features_for_customer(
            customer=customer, consents=consents.get(customer.pk, type(chunk[customer.pk].consents)()),
            limit=limits.get(customer.pk, Decimal("0")), as_of=now,
        )
        mine = chunk[customer.pk]
        assert (single.features.as_json() if single.features else None) == (mine.features.as_json() if mine.features else None), customer
        assert single.data_sources == mine.data_sources
        assert single.consent_ids == mine.consent_ids
        scored += single.features is not None
    # The comparison covered every kind of customer, not only easy ones.
    values = [r.features for r in chunk.values() if r.features]
    assert scored > 200
    assert any(f.current_dpd >= 90 for f in values) and any(0 < f.max_dpd_12m < 30 for f in values)
    assert any(f.bureau_score is None for f in values) and any(f.income_proxy_3m is None for f in values)
    assert any(f.utilisation for f in values) and any(f.spend_spike_ratio and f.spend_spike_ratio > 3 for f in values)


@pytest.mark.django_db
def test_chunk_queries_do_not_grow_with_the_number_of_customers(book, django_assert_max_num_queries):
    now = timezone.now()

    def read(n):
        customers = dict(Customer.objects.order_by("pk").values_list("pk", "onboarded_at")[:n])
        consents = consent_states(customers, as_of=now)
        with CaptureQueriesContext(connection) as ctx:
            features_for_chunk(customers=customers, consents=consents, limits={}, as_of=now)
        return len(ctx.captured_queries)

    # installments, applications, transactions, bureau: one query each, for 10 or 250 customers
    assert read(10) == read(250) == 4


@pytest.mark.django_db
def test_chunk_path_never_queries_bureau_for_customers_without_bureau_consent(book):
    now = timezone.now()
    without = list(
        Customer.objects.filter(consents__purpose="credit_scoring", consents__state="active")
        .exclude(consents__purpose="bureau_query", consents__state="active")
        .values_list("pk", "onboarded_at")
    )
    assert without, "the seeded book has customers without bureau consent"
    customers = dict(without)
    consents = consent_states(customers, as_of=now)

    with CaptureQueriesContext(connection) as ctx:
        results = features_for_chunk(customers=customers, consents=consents, limits={}, as_of=now)

    assert "accounts_bureaureport" not in " ".join(q["sql"] for q in ctx.captured_queries)
    assert all(r.features.bureau_score is None for r in results.values() if r.features)


@pytest.mark.django_db
def test_a_full_run_recomputes_everyone_with_progress_and_one_audit_event_per_chunk(book):
    run = recompute_run_start(chunk_size=60, enqueue=False)
    assert (run.total_customers, run.total_chunks, run.status) == (250, 5, "running")

    seen = []
    run = recompute_run_process_inline(run=run, progress=seen.append)

    assert run.status == "succeeded" and run.done_customers == 250 and run.finished_at
    assert sum(seen) == 250
    assert CreditLine.objects.count() == 250
    assert ScoreSnapshot.objects.filter(run=run).count() == 250
    assert CreditDecision.objects.filter(run=run).count() == 250  # first decision for everyone
    assert set(CreditLine.objects.values_list("access", flat=True)) == {"open", "limited", "suspended", "closed", "not_offered"}
    assert set(RiskAlert.objects.values_list("rule", flat=True)) >= {"OVERDUE_30", "OVERDUE_90", "SPENDING_SPIKE", "CONSENT_WITHDRAWN"}
    assert AuditEvent.objects.filter(action="recompute.chunk").count() == 5
    assert verify_chain()[1] is None


@pytest.mark.django_db
def test_a_chunk_run_twice_writes_once(book):
    run = recompute_run_start(chunk_size=100, enqueue=False)
    chunk = run.chunks.get(index=0)

    chunk_recompute(chunk_id=chunk.pk)
    counts = (ScoreSnapshot.objects.count(), CreditDecision.objects.count(), RiskAlert.objects.count())
    chunk_recompute(chunk_id=chunk.pk)  # a redelivered task

    assert (ScoreSnapshot.objects.count(), CreditDecision.objects.count(), RiskAlert.objects.count()) == counts
    assert AuditEvent.objects.filter(action="recompute.chunk").count() == 1
    run.refresh_from_db()
    assert run.done_customers == 100


@pytest.mark.django_db
def test_a_second_run_with_no_new_data_writes_no_decision(book):
    first = recompute_run_process_inline(run=recompute_run_start(chunk_size=125, enqueue=False))
    assert CreditDecision.objects.filter(run=first).count() == 250
    # Utilisation is measured against the statement period's exposure, not the limit just set,
    # so the second run sees exactly the inputs the first one saw.
    second = recompute_run_process_inline(run=recompute_run_start(chunk_size=125, enqueue=False))
    assert ScoreSnapshot.objects.filter(run=second).count() == 250
    assert CreditDecision.objects.filter(run=second).count() == 0


@pytest.mark.django_db
def test_a_failing_chunk_is_recorded_not_lost_and_a_retry_completes_the_run(book, monkeypatch):
    run = recompute_run_start(chunk_size=125, enqueue=False)
    first, second = run.chunks.order_by("index")

    def explode(**kwargs):
        raise RuntimeError("feature store exploded")

    monkeypatch.setattr(runs, "chunk_plans_write", explode)
    with pytest.raises(RuntimeError):
        recompute_chunk.apply(kwargs={"chunk_id": first.pk}, throw=True)
    monkeypatch.undo()
    chunk_recompute(chunk_id=second.pk)

    first.refresh_from_db()
    run.refresh_from_db()
    assert first.status == "failed" and "exploded" in first.error and first.attempts == 1
    assert (run.status, run.done_customers, run.failed_customers) == ("partial", 125, 125)
    assert not ScoreSnapshot.objects.filter(run=run, customer__pk__range=(first.first_customer_id, first.last_customer_id)).exists()

    chunk_recompute(chunk_id=first.pk)  # the retry

    run.refresh_from_db()
    assert (run.status, run.done_customers, run.failed_customers) == ("succeeded", 250, 0)


@pytest.mark.django_db
def test_a_run_with_a_fixed_clock_is_a_replay_and_an_unknown_origin_is_refused():
    make_customer()
    replay = recompute_run_start(trigger="nightly", enqueue=False, as_of=timezone.now())
    assert replay.origin == "replay"
    assert recompute_run_start(enqueue=False).origin == ""
    with pytest.raises(ValidationFailed) as exc:
        recompute_run_start(enqueue=False, origin="whim")
    assert exc.value.field == "origin"


@pytest.mark.django_db
def test_run_start_refuses_bad_chunk_size():
    with pytest.raises(ValidationFailed) as exc:
        recompute_run_start(chunk_size=0, enqueue=False)
    assert exc.value.field == "chunk_size"
    assert not RecomputeRun.objects.exists()


@pytest.mark.django_db
def test_expiry_sweep_expires_overrides_and_finds_lapsed_suspensions():
    now = timezone.now()
    overridden = make_customer()
    override = OverrideFactory(
        customer=overridden, state="approved", requested_by=UserFactory(), decided_by=UserFactory(), decided_at=now - timedelta(days=2),
        created_at=now - timedelta(days=3), expires_at=now - timedelta(minutes=1),
    )
    lapsed = CreditLineFactory(suspended=True, suspended_until=now - timedelta(minutes=5)).customer
    still = CreditLineFactory(suspended=True, suspended_until=now + timedelta(days=1)).customer
    overdue_today = make_customer(overdue_days=30)

    due = expiry_sweep(now=now)

    override.refresh_from_db()
    assert override.state == "expired"
    assert {overridden.pk, lapsed.pk, overdue_today.pk} <= set(due)
    assert still.pk not in due
    assert AuditEvent.objects.filter(action="override.expire", target_id=str(override.pk)).exists()


@pytest.mark.django_db
def test_consent_withdrawn_between_runs_takes_effect_in_the_next_run():
    customer = make_customer()
    recompute_run_process_inline(run=recompute_run_start(enqueue=False))
    assert CreditLine.objects.get(customer=customer).access == "open"
    Consent.objects.filter(customer=customer, purpose="credit_scoring").update(state="withdrawn", withdrawn_at=timezone.now())

    recompute_run_process_inline(run=recompute_run_start(enqueue=False))

    assert CreditLine.objects.get(customer=customer).access == "not_offered"


@pytest.mark.django_db
def test_a_run_on_its_own_clock_leaves_the_book_figures_to_whoever_set_it(django_capture_on_commit_callbacks):
    from decisions.casework.services.book_stats import utc_today
    from decisions.models import BookDailyStat

    make_customer()
    yesterday_end = (timezone.now() - timedelta(days=1)).replace(hour=23, minute=59, second=59)
    with django_capture_on_commit_callbacks(execute=True):
        recompute_run_process_inline(run=recompute_run_start(trigger="manual", enqueue=False, as_of=yesterday_end))
    assert not BookDailyStat.objects.exists()  # a replayed night does not rewrite today's figures
    with django_capture_on_commit_callbacks(execute=True):
        recompute_run_process_inline(run=recompute_run_start(trigger="manual", enqueue=False))
    assert BookDailyStat.objects.filter(day=utc_today()).exists()  # a live run does

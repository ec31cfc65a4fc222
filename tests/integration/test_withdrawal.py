"""Withdrawal takes effect, end to end: a consent withdrawn through the event service asks for a
recompute on commit; a real Celery worker (private redis-server, PostgreSQL) picks it up; the
decision after the withdrawal did not read the withdrawn source. Once per scoring purpose."""

from decimal import Decimal

import pytest

from accounts.events import consent_withdraw
from accounts.models import Consent
from compliance.selectors import withdrawal_proof
from decisions.models import CreditDecision, CreditLine, CustomerNotice, ScoreSnapshot
from decisions.engine.services.recompute import decision_recompute
from tests.decisions.scenarios import make_customer
from tests.support.waiting import wait_for
from tests.support.worker import RedisServer, producer_broker, worker_process

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# What each source leaves in the features when it is read; absent (None) when it is not.
BUREAU_FEATURES = ("bureau_score", "external_lenders", "external_debt", "debt_to_income")
TRANSACTION_FEATURES = ("income_proxy_3m", "avg_monthly_spend_3m", "spend_7d", "spend_spike_ratio")


@pytest.fixture
def worker(tmp_path):
    try:
        server = RedisServer(workdir=tmp_path)
    except RuntimeError as exc:
        pytest.skip(str(exc))
    server.start()
    try:
        with producer_broker(server.url), worker_process(broker_url=server.url, concurrency=1, log_path=tmp_path / "worker.log"):
            yield server
    finally:
        server.stop()


def _withdraw_and_wait(customer, purpose):
    """Score the customer under every consent, withdraw one, wait for the worker's recompute."""
    decision_recompute(customer=customer, trigger="manual")
    before = ScoreSnapshot.objects.filter(customer=customer).latest()
    assert {"bureau", "transactions"} <= set(before.data_sources)
    consent = Consent.objects.get(customer=customer, purpose=purpose, state="active")
    assert before.consents_used.filter(pk=consent.pk).exists()

    consent_withdraw(consent=consent, evidence={"reason": "customer request"})  # commits: the task goes to Redis
    consent.refresh_from_db()
    snapshot = wait_for(
        lambda: ScoreSnapshot.objects.filter(customer=customer, trigger="consent", computed_at__gt=consent.withdrawn_at).first(),
        timeout=60,
    )
    return consent, before, snapshot


def _assert_nothing_used_it_afterwards(consent):
    proof = withdrawal_proof(consent=consent)
    assert (proof.snapshots_after, proof.decisions_after) == (0, 0)
    assert not ScoreSnapshot.objects.filter(consents_used=consent, computed_at__gt=consent.withdrawn_at).exists()


def test_withdrawing_credit_scoring_stops_all_reading(worker):
    customer = make_customer()
    consent, before, snapshot = _withdraw_and_wait(customer, "credit_scoring")

    # nothing was read: no score, no features, no sources, no consent used
    assert (snapshot.score, snapshot.features, snapshot.data_sources) == (None, {}, [])
    assert not snapshot.consents_used.exists()
    decision = CreditDecision.objects.get(snapshot=snapshot)
    assert (decision.previous_access, decision.access) == ("open", "not_offered")
    assert CreditLine.objects.get(customer=customer).access == "not_offered"
    assert CustomerNotice.objects.get(decision=decision).kind == "refused"
    _assert_nothing_used_it_afterwards(consent)


def test_withdrawing_bureau_query_stops_reading_the_bureau(worker):
    customer = make_customer()
    consent, before, snapshot = _withdraw_and_wait(customer, "bureau_query")

    assert before.features["bureau_score"] == 720
    assert "bureau" not in snapshot.data_sources and "transactions" in snapshot.data_sources
    assert all(snapshot.features[f] is None for f in BUREAU_FEATURES)
    assert consent.pk not in set(snapshot.consents_used.values_list("pk", flat=True))
    assert snapshot.consents_used.filter(purpose="credit_scoring").exists()
    for decision in CreditDecision.objects.filter(customer=customer, decided_at__gt=consent.withdrawn_at):
        assert decision.snapshot_id == snapshot.pk
    _assert_nothing_used_it_afterwards(consent)


def test_withdrawing_transaction_analysis_stops_reading_the_wallet(worker):
    customer = make_customer()
    consent, before, snapshot = _withdraw_and_wait(customer, "transaction_analysis")

    assert Decimal(before.features["income_proxy_3m"]) == Decimal("3000.00")
    assert "transactions" not in snapshot.data_sources and "bureau" in snapshot.data_sources
    assert all(snapshot.features[f] is None for f in TRANSACTION_FEATURES)
    assert consent.pk not in set(snapshot.consents_used.values_list("pk", flat=True))
    # unknown income falls back to the policy's 800.00: the limit is cut, and the customer told
    decision = CreditDecision.objects.get(snapshot=snapshot)
    assert decision.limit_amount < decision.previous_limit
    assert CustomerNotice.objects.get(decision=decision).kind == "limit_cut"
    _assert_nothing_used_it_afterwards(consent)

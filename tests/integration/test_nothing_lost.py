"""Fault tests on real Redis, PostgreSQL and Celery workers: a worker killed mid-run, a broker
restarted mid-run, a broker restarted between an event's commit and its pickup. Every run
finishes and every customer is recomputed exactly once.

Each test runs its own throwaway `redis-server` (no persistence, on a free port), so restarting
it loses every queued message, as a crashed broker would, without touching the shared Redis.
Recovery thresholds are seconds here (minutes in production): in this process through settings,
in the workers through their environment. The sweep is called here in a loop, as beat would.
"""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Count
from django.utils import timezone

from accounts.events import transaction_record
from accounts.models import CustomerChangeMark
from decisions.models import RecomputeRun, ScoreSnapshot
from decisions.engine.services.recovery import lost_work_sweep
from decisions.engine.services.runs import recompute_run_start
from riskops.core.audit import verify_chain
from riskops.core.models import AuditEvent
from tests.decisions.scenarios import make_customer
from tests.support.waiting import wait_for
from tests.support.worker import RedisServer, producer_broker, producer_queue, worker_process

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

GRACE, STALE = 1, 2  # seconds: RISKOPS_MARK_GRACE_SECONDS, RISKOPS_CHUNK_STALE_SECONDS (and the chunk lease)
WORKER_ENV = {
    "RISKOPS_MARK_GRACE_SECONDS": str(GRACE), "RISKOPS_CHUNK_STALE_SECONDS": str(STALE), "RISKOPS_CHUNK_LEASE_SECONDS": str(STALE),
}



@pytest.fixture(autouse=True)
def _short_thresholds(settings):
    settings.RISKOPS_MARK_GRACE_SECONDS = GRACE
    settings.RISKOPS_CHUNK_STALE_SECONDS = STALE
    settings.RISKOPS_CHUNK_LEASE_SECONDS = STALE


@pytest.fixture
def broker(tmp_path):
    try:
        server = RedisServer(workdir=tmp_path)
    except RuntimeError as exc:
        pytest.skip(str(exc))
    server.start()
    try:
        with producer_broker(server.url):
            yield server
    finally:
        server.stop()


def sweep_until_finished(run: RecomputeRun, timeout: float = 45.0) -> RecomputeRun:
    """Beat's job, faster: sweep every half second until the run finishes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.finished_at is not None:
            return run
        lost_work_sweep()
        time.sleep(0.5)
    states = list(run.chunks.values_list("index", "status", "attempts"))
    raise AssertionError(f"run {run.pk} did not finish in {timeout}s: {states}")


def assert_each_customer_once(run: RecomputeRun, customers: int) -> None:
    run.refresh_from_db()
    assert (run.status, run.done_customers, run.failed_customers) == ("succeeded", customers, 0)
    per_customer = ScoreSnapshot.objects.filter(run=run).values("customer").annotate(n=Count("id"))
    assert len(per_customer) == customers and {row["n"] for row in per_customer} == {1}
    assert verify_chain()[1] is None


def test_a_worker_killed_mid_run_loses_nothing(broker, tmp_path):
    for _ in range(24):
        make_customer()
    log = tmp_path / "workers.log"

    # given a run of 12 chunks on a slow worker, killed with two chunks in flight
    with worker_process(broker_url=broker.url, env=WORKER_ENV, chunk_delay=0.5, log_path=log) as first:
        run = recompute_run_start(chunk_size=2)
        wait_for(lambda: run.chunks.filter(status="done").count() >= 2 and run.chunks.filter(status="running").exists(),
                 what="chunks done and in flight")
        first.kill()
        killed = set(run.chunks.filter(status="running").values_list("pk", flat=True))
        assert killed and run.chunks.exclude(status="done").count() > len(killed)
        queue = first.queue

        # when another worker takes the same queue and the sweep runs
        with worker_process(broker_url=broker.url, env=WORKER_ENV, queue=queue, log_path=log):
            run = sweep_until_finished(run)

    # then the run finished and every customer was recomputed exactly once
    assert_each_customer_once(run, 24)
    redispatched = AuditEvent.objects.filter(action="recompute.redispatch", target_id=str(run.pk))
    assert {i for e in redispatched for i in e.after["lost_worker"]} == set(
        run.chunks.filter(pk__in=killed).values_list("index", flat=True)
    )
    assert set(run.chunks.filter(pk__in=killed).values_list("attempts", flat=True)) == {2}  # killed + redone


def test_a_broker_restarted_mid_run_loses_nothing(broker, tmp_path):
    for _ in range(24):
        make_customer()

    with worker_process(broker_url=broker.url, env=WORKER_ENV, chunk_delay=0.3, log_path=tmp_path / "worker.log") as worker:
        # given a run whose queued chunks are lost with the broker
        run = recompute_run_start(chunk_size=2)
        wait_for(lambda: run.chunks.filter(status="done").exists(), what="a first chunk")
        assert broker.client().llen(f"{worker.queue}.bulk") > 2  # chunks waiting in the queue...
        broker.restart()  # ...gone (the worker may put back only the one or two it holds)

        # when the sweep runs
        run = sweep_until_finished(run)

    # then the run finished exactly once
    assert_each_customer_once(run, 24)
    redispatched = AuditEvent.objects.filter(action="recompute.redispatch", target_id=str(run.pk))
    assert {i for e in redispatched for i in e.after["lost_message"]}  # the sweep, not luck, finished it


def test_a_broker_restarted_between_an_event_and_its_pickup_loses_nothing(broker, tmp_path):
    customer = make_customer()
    log = tmp_path / "workers.log"

    with producer_queue("q-event-test") as queue:
        # given an event committed while no worker was listening
        transaction_record(customer=customer, external_id="lost-1", kind="purchase", amount=Decimal("25.00"),
                           occurred_at=timezone.now() - timedelta(minutes=1))
        assert broker.client().llen(f"{queue}.high") == 1  # its recompute message was in the broker
        # and the broker restarted before a worker picked it up
        broker.restart()
        assert broker.client().llen(f"{queue}.high") == 0

        with worker_process(broker_url=broker.url, env=WORKER_ENV, queue=queue, log_path=log):
            time.sleep(0.5)
            assert not ScoreSnapshot.objects.filter(customer=customer).exists()  # nothing is coming
            assert CustomerChangeMark.objects.filter(customer=customer).count() == 1

            # when the sweep runs after the grace period
            wait_for(lambda: timezone.now() - CustomerChangeMark.objects.get(customer=customer).marked_at
                     > timedelta(seconds=GRACE), what="the mark to age")
            assert lost_work_sweep().customers == [(customer.pk, "transaction")]

            # then the customer is recomputed, once, and the mark is gone
            wait_for(lambda: ScoreSnapshot.objects.filter(customer=customer).exists(), what="the recompute")
            wait_for(lambda: not CustomerChangeMark.objects.filter(customer=customer).exists(), what="the mark to clear")
            time.sleep(GRACE + 0.2)
            assert lost_work_sweep().customers == []

    assert list(ScoreSnapshot.objects.filter(customer=customer).values_list("trigger", flat=True)) == ["transaction"]

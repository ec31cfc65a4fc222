"""A real Celery worker, fed through Redis, recomputing against PostgreSQL (CI runs these)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.events import transaction_record
from accounts.models import Customer
from accounts.services import demo_book_seed
from accounts.seeding.generator import as_of_default
from decisions.models import CreditDecision, CreditLine, RecomputeRun, ScoreSnapshot
from decisions.engine.services.runs import recompute_run_start
from decisions.tasks import recompute_chunk
from riskops.core.audit import verify_chain
from tests.support.waiting import wait_for
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def worker(tmp_path):
    """A `celery worker` subprocess on a queue of its own, pointed at the test database."""
    with celery_worker(concurrency=2, log_path=tmp_path / "worker.log") as queue:
        yield queue


def test_a_full_recompute_runs_on_the_worker_through_redis(worker):
    demo_book_seed(customers=120, seed=33, as_of=as_of_default(), chunk_size=50)

    run = recompute_run_start(chunk_size=25)  # on_commit fires at once outside a transaction: 5 tasks go to Redis

    run = wait_for(lambda: RecomputeRun.objects.filter(pk=run.pk, finished_at__isnull=False).first(), timeout=90)
    errors = list(run.chunks.exclude(error="").values_list("error", flat=True))
    assert (run.status, run.done_customers, run.failed_customers) == ("succeeded", 120, 0), errors
    assert CreditLine.objects.count() == 120 and CreditDecision.objects.filter(run=run).count() == 120
    assert verify_chain()[1] is None

    # A redelivered chunk (acks_late) is recognised and writes nothing twice.
    chunk = run.chunks.first()
    result = recompute_chunk.delay(chunk_id=chunk.pk)
    result.get(timeout=60)
    assert ScoreSnapshot.objects.filter(run=run).count() == 120


def test_an_event_reaches_a_decision_through_the_worker(worker):
    demo_book_seed(customers=5, seed=34, as_of=as_of_default())
    customer = Customer.objects.filter(consents__purpose="credit_scoring", consents__state="active").first()

    transaction_record(customer=customer, external_id="it-tx-1", kind="purchase", amount=Decimal("10.00"), occurred_at=timezone.now() - timedelta(minutes=1))

    snapshot = wait_for(lambda: ScoreSnapshot.objects.filter(customer=customer, trigger="transaction").first(), timeout=60)
    assert snapshot.score is not None
    assert CreditLine.objects.get(customer=customer).last_snapshot_id == snapshot.pk


def test_the_benchmark_command_runs_end_to_end_on_a_small_book(capsys):
    from django.core.management import call_command

    demo_book_seed(customers=60, seed=35, as_of=as_of_default())

    call_command("bench_recompute", sample=5, events=5, chunk_size=20, during_full=True)

    out = capsys.readouterr().out
    assert "60 customers in" in out and "(run " in out and "succeeded" in out
    assert "Event to decision through the worker (5 transactions" in out
    assert "Target: full recompute of 100k" in out and "Target: event-to-decision" in out
    assert "Events in batches through the worker (60 marked customers" in out and "Target: >= 1,000 customers/s" in out
    # Events beside a full recompute, on a dedicated high-lane worker (the run here is over in a moment).
    assert "Event to decision while a full recompute runs" in out and "5 transactions" in out
    assert "Target: event-to-decision p95 < 50 ms during a full recompute" in out


def test_the_simulation_benchmark_runs_end_to_end_on_a_small_book(capsys):
    from django.core.management import call_command

    from decisions.models import PolicySimulation, PolicyVersion

    demo_book_seed(customers=60, seed=36, as_of=as_of_default())

    call_command("bench_simulation", chunk_size=20, recompute=True, compare_chunks=1)

    out = capsys.readouterr().out
    assert "Policy simulation via Celery + Redis" in out and "60 customers in" in out and ": succeeded;" in out
    assert "Full recompute through the same worker: 60 customers" in out and "Target: the simulation is no slower" in out
    assert "Same chunks in this process (1 × 20 customers" in out
    # it cleans up its draft and its simulation (their audit events stay)
    assert not PolicySimulation.objects.exists() and not PolicyVersion.objects.filter(state="draft").exists()

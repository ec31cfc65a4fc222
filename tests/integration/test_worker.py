"""A real Celery worker, fed through Redis, recomputing against PostgreSQL (CI runs these)."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.events import transaction_record
from accounts.models import Customer
from accounts.services import demo_book_seed
from accounts.seeding.generator import as_of_default
from decisions.models import CreditDecision, CreditLine, RecomputeRun, ScoreSnapshot
from decisions.services.runs import recompute_run_start
from decisions.tasks import recompute_chunk
from riskops.celery import app as celery_app
from riskops.core.audit import verify_chain

# serialized_rollback: an earlier transactional test flushed the tables, taking the data
# migrations (roles, the default policy) with it; this puts them back first.
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate, timeout=90.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")


@pytest.fixture
def worker(django_db_blocker):
    """A `celery worker` subprocess on a queue of its own, pointed at the test database."""
    db = settings.DATABASES["default"]
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_QUEUE": queue,
        "CONN_MAX_AGE": "0",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = open(ROOT / f".pytest-worker-{queue}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "riskops", "worker", "--pool=prefork", "--concurrency=2", "-Q", queue,
         "--loglevel=INFO", "--without-gossip", "--without-mingle", "--hostname", f"{queue}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        wait_for(lambda: celery_app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=0.5), timeout=60)
        yield proc
    finally:
        celery_app.conf.task_default_queue = previous_queue
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        os.unlink(log.name)


def test_a_full_recompute_runs_on_the_worker_through_redis(worker):
    demo_book_seed(customers=120, seed=33, as_of=as_of_default(), chunk_size=50)

    run = recompute_run_start(chunk_size=25)  # on_commit fires at once outside a transaction: 5 tasks go to Redis

    run = wait_for(lambda: RecomputeRun.objects.filter(pk=run.pk, finished_at__isnull=False).first())
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

"""Chunk claims as leases (decisions/engine/services/runs.py): a holder's token, a lease that lapses,
a retry that takes back its own claim, a superseded holder that writes nothing; and the queues."""

from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from accounts.models import CustomerChangeMark
from decisions.engine.services import runs
from decisions.engine.services.batches import marked_customers_recompute
from decisions.engine.services.recovery import lost_work_sweep
from decisions.models import RecomputeChunk, ScoreSnapshot
from riskops.core.audit import verify_chain
from riskops.core.models import AuditEvent
from riskops.queues import TASK_LANES, queue_name, route_task
from tests.decisions.scenarios import make_customer

pytestmark = pytest.mark.django_db

LEASE = 30


@pytest.fixture(autouse=True)
def _lease(settings):
    settings.RISKOPS_CHUNK_LEASE_SECONDS = LEASE
    settings.RISKOPS_MARK_GRACE_SECONDS = 120


@pytest.fixture
def chunk():
    make_customer(), make_customer()
    run = runs.recompute_run_start(chunk_size=1, enqueue=False)
    return run.chunks.get(index=0)


def test_a_retry_takes_back_its_own_claim_and_nobody_else_can_before_the_lease_lapses(chunk):
    now = timezone.now()
    assert runs.chunk_claim(chunk_id=chunk.pk, token="task-1", now=now)
    # the database went away mid-chunk: the failure was never recorded, the chunk is still ours
    assert not runs.chunk_claim(chunk_id=chunk.pk, token="task-2", now=now + timedelta(seconds=5))  # a copy of another task
    assert runs.chunk_claim(chunk_id=chunk.pk, token="task-1", now=now + timedelta(seconds=5))  # the retry: at once
    chunk.refresh_from_db()
    assert (chunk.status, chunk.claim_token, chunk.attempts) == ("running", "task-1", 2)
    assert chunk.lease_until == now + timedelta(seconds=5 + LEASE)


def test_a_lapsed_lease_is_taken_over_by_another_holder(chunk):
    now = timezone.now()
    runs.chunk_claim(chunk_id=chunk.pk, token="dead", now=now)
    assert not runs.chunk_claim(chunk_id=chunk.pk, token="next", now=now + timedelta(seconds=LEASE - 1))
    assert runs.chunk_claim(chunk_id=chunk.pk, token="next", now=now + timedelta(seconds=LEASE + 1))
    chunk.refresh_from_db()
    assert (chunk.claim_token, chunk.attempts) == ("next", 2)


def test_a_holder_whose_claim_was_taken_over_writes_nothing(chunk, monkeypatch):
    runs.chunk_claim(chunk_id=chunk.pk, token="new-holder")
    # the old holder got past its claim before the takeover (its lease lapsed while it read)
    monkeypatch.setattr(runs, "chunk_claim", lambda **kwargs: True)

    result = runs.chunk_recompute(chunk_id=chunk.pk, token="old-holder")

    assert result.status == "running" and result.claim_token == "new-holder"
    assert not ScoreSnapshot.objects.filter(run=chunk.run).exists()
    assert not AuditEvent.objects.filter(action="recompute.chunk").exists()


def test_the_holder_finishes_and_releases_its_lease(chunk):
    done = runs.chunk_recompute(chunk_id=chunk.pk, token="task-1")
    assert (done.status, done.claim_token, done.lease_until, done.attempts) == ("done", "task-1", None, 1)
    assert not runs.chunk_claim(chunk_id=chunk.pk, token="task-1")  # a redelivered copy of the same task


def test_a_superseded_holder_does_not_record_its_failure_on_the_new_holders_chunk(chunk):
    runs.chunk_claim(chunk_id=chunk.pk, token="new-holder")
    runs.chunk_record_failure(chunk_id=chunk.pk, error="OperationalError()", final=True, token="old-holder")
    chunk.refresh_from_db()
    assert (chunk.status, chunk.error) == ("running", "")


def test_the_sweep_sends_a_lapsed_lease_once_not_every_sweep(chunk, django_capture_on_commit_callbacks):
    now = timezone.now()
    runs.chunk_claim(chunk_id=chunk.pk, token="killed", now=now)
    RecomputeChunk.objects.filter(run=chunk.run).exclude(pk=chunk.pk).update(status="done", finished_at=now)

    with django_capture_on_commit_callbacks(execute=False):
        alive = lost_work_sweep(now=now + timedelta(seconds=LEASE - 1))
        lapsed = lost_work_sweep(now=now + timedelta(seconds=LEASE + 1))
        next_sweep = lost_work_sweep(now=now + timedelta(seconds=LEASE + 16))

    assert (alive.chunks, lapsed.chunks, next_sweep.chunks) == ([], [chunk.pk], [])


def test_a_pending_chunk_overtaken_by_a_later_claimed_one_is_sent_again(django_capture_on_commit_callbacks):
    for _ in range(3):
        make_customer()
    run = runs.recompute_run_start(chunk_size=1, enqueue=False)
    now = timezone.now()
    run.chunks.update(dispatched_at=now)
    # the dead worker had taken chunk 0's message; a live worker claimed chunk 1 and is still on it
    runs.chunk_claim(chunk_id=run.chunks.get(index=1).pk, token="live", now=now)
    RecomputeChunk.objects.filter(run=run, index=1).update(lease_until=now + timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=False):
        early = lost_work_sweep(now=now + timedelta(seconds=LEASE - 1))
        later = lost_work_sweep(now=now + timedelta(seconds=LEASE + 1))

    assert early.chunks == [] and later.chunks == [run.chunks.get(index=0).pk]  # not chunk 2: nothing overtook it


def test_a_batch_of_marked_customers_is_recomputed_as_one_set_and_the_unmarked_skipped():
    customers = [make_customer() for _ in range(4)]
    CustomerChangeMark.objects.all().delete()
    for c in customers[:3]:
        CustomerChangeMark.objects.create(customer=c, trigger="transaction", marked_at=timezone.now())

    result = marked_customers_recompute(customer_ids=[c.pk for c in customers], trigger="transaction")

    assert (result.customers, result.skipped, result.failed) == (3, 1, [])
    assert not CustomerChangeMark.objects.exists()
    snapshots = ScoreSnapshot.objects.filter(trigger="transaction").values("customer").annotate(n=Count("id"))
    assert {row["customer"] for row in snapshots} == {c.pk for c in customers[:3]} and {row["n"] for row in snapshots} == {1}
    event = AuditEvent.objects.get(target_type="decisions.eventbatch")
    assert event.after["customer_ids"] == sorted(c.pk for c in customers[:3]) and event.after["customers"] == 3
    assert verify_chain()[1] is None  # the batch's digest matches its decision rows
    # done already: a second message for the same customers writes nothing
    assert marked_customers_recompute(customer_ids=[c.pk for c in customers], trigger="transaction").customers == 0


def test_every_task_has_a_lane_and_a_namespace_prefixes_its_queue(settings):
    from riskops.celery import app

    app.loader.import_default_modules()
    # The app's own tasks: not Celery's, nor those a test module defines for itself (test_metrics).
    ours = {name for name in app.tasks if not name.startswith(("celery.", "tests."))}
    assert ours <= set(TASK_LANES), f"tasks without a lane: {sorted(ours - set(TASK_LANES))}"
    assert route_task("decisions.tasks.recompute_chunk", (), {}, {}) == {"queue": queue_name("bulk")}
    assert queue_name("high", "q-1") == "q-1.high" and queue_name("high", "") == "high"
    assert TASK_LANES["decisions.tasks.recompute_marked"] == TASK_LANES["api.tasks.recompute_customers"] == "high"
    assert TASK_LANES["decisions.tasks.recovery_sweep"] == "sweeps"

"""Nothing is lost: the sweep re-enqueues recomputes whose change mark outlived the grace period
and re-dispatches chunks that lost their message or their worker; the runs page says "stalled"."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import changes
from accounts.models import CustomerChangeMark
from decisions.models import RecomputeChunk, RecomputeRun, ScoreSnapshot
from decisions.selectors import recompute_runs, run_progress
from decisions.services import recovery
from decisions.services.recovery import lost_work_sweep
from decisions.services.runs import chunk_claim, recompute_run_start
from riskops.core.models import AuditEvent
from tests.decisions.scenarios import make_customer
from tests.factories import RecomputeChunkFactory, RecomputeRunFactory

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _thresholds(settings):
    settings.RISKOPS_MARK_GRACE_SECONDS = 120
    settings.RISKOPS_CHUNK_STALE_SECONDS = 300


def mark(customer, *, trigger="transaction", age=timedelta(0)):
    return CustomerChangeMark.objects.create(customer=customer, trigger=trigger, marked_at=timezone.now() - age)


def stopped_run(*customers, chunk_size=1, age=10 * MINUTE) -> RecomputeRun:
    """A run whose chunk messages were sent `age` ago and never arrived (lost with the broker)."""
    run = recompute_run_start(chunk_size=chunk_size, enqueue=False)
    then = timezone.now() - age
    RecomputeRun.objects.filter(pk=run.pk).update(started_at=then)
    run.chunks.update(dispatched_at=then)
    return run


# --- change marks -------------------------------------------------------------------------------


def test_a_mark_older_than_the_grace_period_is_recomputed_once_and_a_fresh_one_is_left(django_capture_on_commit_callbacks):
    lost, fresh = make_customer(), make_customer()
    mark(lost, trigger="repayment", age=5 * MINUTE)
    mark(fresh, age=timedelta(seconds=30))  # its recompute may simply not have run yet

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = lost_work_sweep()

    assert result.customers == [(lost.pk, "repayment")] and len(callbacks) == 1
    assert ScoreSnapshot.objects.filter(customer=lost, trigger="repayment").count() == 1
    assert not ScoreSnapshot.objects.filter(customer=fresh).exists()
    assert not CustomerChangeMark.objects.filter(customer=lost).exists()  # the recompute cleared it
    assert CustomerChangeMark.objects.filter(customer=fresh).count() == 1


def test_a_swept_mark_waits_another_grace_period_before_it_is_swept_again(django_capture_on_commit_callbacks):
    customer = make_customer()
    mark(customer, age=5 * MINUTE)
    now = timezone.now()

    with django_capture_on_commit_callbacks(execute=False):  # the re-sent message is lost too
        first = lost_work_sweep(now=now)
    with django_capture_on_commit_callbacks(execute=False):
        a_minute_later = lost_work_sweep(now=now + MINUTE)
    with django_capture_on_commit_callbacks(execute=False):
        after_the_grace = lost_work_sweep(now=now + 2 * MINUTE + timedelta(seconds=1))

    assert first.customers == [(customer.pk, "transaction")]
    assert a_minute_later.customers == []  # not re-sent every minute while a queue drains
    assert after_the_grace.customers == [(customer.pk, "transaction")]


def test_the_sweep_re_enqueues_a_bounded_batch_oldest_first(django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(recovery, "MARK_BATCH", 2)
    monkeypatch.setattr(changes, "_SUBSCRIBERS", [])
    customers = [make_customer() for _ in range(3)]
    for age, customer in zip((3, 9, 6), customers):
        mark(customer, age=age * MINUTE)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = lost_work_sweep()

    assert [c for c, _ in result.customers] == [customers[1].pk, customers[2].pk]
    assert len(callbacks) == 1  # one on_commit hook sends the batch
    assert CustomerChangeMark.objects.filter(marked_at__lt=timezone.now() - 2 * MINUTE).count() == 1  # the next sweep's


# --- chunks -------------------------------------------------------------------------------------


def test_pending_chunks_of_a_run_that_stopped_moving_are_sent_again_and_the_run_finishes(django_capture_on_commit_callbacks):
    customers = [make_customer() for _ in range(3)]
    run = stopped_run(*customers)

    with django_capture_on_commit_callbacks(execute=True):
        result = lost_work_sweep()

    run.refresh_from_db()
    assert sorted(result.chunks) == sorted(run.chunks.values_list("pk", flat=True))
    assert (run.status, run.done_customers) == ("succeeded", 3)
    assert ScoreSnapshot.objects.filter(run=run).count() == 3
    event = AuditEvent.objects.get(action="recompute.redispatch")
    assert event.after == {"lost_message": [0, 1, 2], "lost_worker": []}


def test_pending_chunks_of_a_run_that_is_still_moving_are_left_in_their_queue(django_capture_on_commit_callbacks):
    for _ in range(3):
        make_customer()
    run = stopped_run()
    first = run.chunks.get(index=0)
    chunk_claim(chunk_id=first.pk)  # a worker took a chunk just now: the queue is alive

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = lost_work_sweep()

    assert result.chunks == [] and callbacks == []
    assert not AuditEvent.objects.filter(action="recompute.redispatch").exists()


def test_a_chunk_whose_worker_died_is_sent_again_once_its_claim_is_stale(django_capture_on_commit_callbacks):
    make_customer(), make_customer()
    run = stopped_run()
    dead = run.chunks.get(index=0)
    now = timezone.now()
    chunk_claim(chunk_id=dead.pk, now=now - 6 * MINUTE)  # claimed, then the worker was killed
    run.chunks.filter(index=1).update(status="done", claimed_at=now - 9 * MINUTE, finished_at=now - 8 * MINUTE)

    with django_capture_on_commit_callbacks(execute=False):
        too_early = lost_work_sweep(now=now - 2 * MINUTE)  # a 4 min old claim: the worker may still be busy
    with django_capture_on_commit_callbacks(execute=True):
        result = lost_work_sweep(now=now)  # 6 min > the 5 min stale threshold

    dead.refresh_from_db()
    assert too_early.chunks == []
    assert result.chunks == [dead.pk]
    assert dead.status == "done" and dead.attempts == 2  # the dead attempt and the one that finished
    assert AuditEvent.objects.get(action="recompute.redispatch").after == {"lost_message": [], "lost_worker": [0]}


def test_a_re_sent_chunk_is_not_sent_again_within_the_grace_period(django_capture_on_commit_callbacks):
    make_customer()
    stopped_run()
    now = timezone.now()

    with django_capture_on_commit_callbacks(execute=False):
        first = lost_work_sweep(now=now)
    with django_capture_on_commit_callbacks(execute=False):
        second = lost_work_sweep(now=now + MINUTE)

    assert len(first.chunks) == 1 and second.chunks == []


def test_chunks_of_finished_runs_are_never_swept(django_capture_on_commit_callbacks):
    run = RecomputeRunFactory(succeeded=True)
    RecomputeChunkFactory(run=run, dispatched_at=timezone.now() - timedelta(hours=2))  # left pending by a bug or by hand

    with django_capture_on_commit_callbacks(execute=False):
        assert lost_work_sweep().chunks == []


def test_the_recovery_sweep_task_reports_what_it_sent(django_capture_on_commit_callbacks):
    from decisions.tasks import recovery_sweep

    customer = make_customer()
    mark(customer, age=5 * MINUTE)
    with django_capture_on_commit_callbacks(execute=True):
        summary = recovery_sweep.delay().get()

    assert summary == {"customers": 1, "chunks": 0, "skipped": False}


# --- the runs page ------------------------------------------------------------------------------


def test_a_running_run_without_progress_past_the_stale_threshold_is_stalled_in_words():
    long_ago = timezone.now() - 20 * MINUTE
    stalled = RecomputeRunFactory(running=True, started_at=long_ago, total_customers=4000, done_customers=2000)
    RecomputeChunkFactory(run=stalled, status="done", claimed_at=long_ago, finished_at=long_ago + MINUTE)
    moving = RecomputeRunFactory(running=True, started_at=long_ago, total_customers=4000)
    RecomputeChunkFactory(run=moving, status="running", claimed_at=timezone.now() - MINUTE)
    finished = RecomputeRunFactory(succeeded=True, started_at=long_ago)

    by_id = {run.pk: run_progress(run=run) for run in recompute_runs()}

    assert by_id[stalled.pk]["stalled"] is True
    assert by_id[stalled.pk]["status_label"] == "Stalled: no progress for 19 minutes"
    assert f"--resume {stalled.pk}" in by_id[stalled.pk]["hint"]
    assert by_id[moving.pk]["stalled"] is False and by_id[moving.pk]["status_label"] == "Running"
    assert by_id[finished.pk]["stalled"] is False and by_id[finished.pk]["hint"] == ""
    # The JSON endpoint's path (a run without the page's annotations) agrees.
    assert run_progress(run=RecomputeRun.objects.get(pk=stalled.pk))["stalled"] is True


def test_the_runs_page_and_its_endpoint_say_stalled(analyst_client):
    run = RecomputeRunFactory(running=True, started_at=timezone.now() - 30 * MINUTE, total_customers=10)

    page = analyst_client.get(reverse("decisions:runs")).content.decode()
    data = analyst_client.get(reverse("decisions:run-progress", args=[run.pk])).json()

    assert 'class="stalled"' in page and "Stalled: no progress for 30 minutes" in page
    assert f"manage.py recompute --resume {run.pk}" in page
    assert data["stalled"] is True and data["status_label"].startswith("Stalled")

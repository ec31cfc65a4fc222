"""Nothing is lost: the sweep re-enqueues recomputes whose change mark outlived the grace period
and re-dispatches chunks that lost their message or their worker; chunks are claimed before their
work; the nightly run starts once per night; an inline failure is recorded; a run can be resumed;
the runs page says "stalled"."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import changes
from accounts.models import CustomerChangeMark
from decisions.models import RecomputeRun, ScoreSnapshot
from decisions.engine.selectors import recompute_runs, run_progress
from decisions.engine.services import recovery, runs
from decisions.engine.services.recovery import lost_work_sweep
from decisions.engine.services.runs import chunk_claim, chunk_recompute, recompute_run_process_inline, recompute_run_start
from decisions.tasks import recompute_all, recompute_chunk
from riskops.core.exceptions import Conflict, NotFound, ValidationFailed
from riskops.core.models import AuditEvent
from tests.decisions.scenarios import make_customer
from tests.factories import RecomputeChunkFactory, RecomputeRunFactory

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _thresholds(settings):
    settings.RISKOPS_MARK_GRACE_SECONDS = 120
    settings.RISKOPS_CHUNK_STALE_SECONDS = 300
    settings.RISKOPS_CHUNK_LEASE_SECONDS = 300  # the tests below count in minutes; tests/decisions/test_leases.py in seconds


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


# --- claims, nightly dedupe, inline failures, resume -----------------------------------------


@pytest.fixture
def two_chunk_run():
    make_customer(), make_customer()
    return recompute_run_start(chunk_size=1, enqueue=False)


def test_a_chunk_is_claimed_once_and_a_stale_claim_is_taken_over(two_chunk_run, settings):
    settings.RISKOPS_CHUNK_LEASE_SECONDS = 300
    chunk = two_chunk_run.chunks.get(index=0)
    now = timezone.now()

    assert runs.chunk_claim(chunk_id=chunk.pk, now=now) is True
    assert runs.chunk_claim(chunk_id=chunk.pk, now=now + timedelta(seconds=299)) is False  # a redelivered copy
    chunk.refresh_from_db()
    assert (chunk.status, chunk.claimed_at, chunk.attempts) == ("running", now, 1)

    later = now + timedelta(seconds=301)  # the first worker is presumed dead
    assert runs.chunk_claim(chunk_id=chunk.pk, now=later) is True
    chunk.refresh_from_db()
    assert (chunk.status, chunk.claimed_at, chunk.attempts) == ("running", later, 2)


def test_a_redelivered_task_skips_a_chunk_running_under_a_fresh_claim_and_a_done_one(two_chunk_run):
    busy, done = two_chunk_run.chunks.order_by("index")
    runs.chunk_claim(chunk_id=busy.pk)  # another worker is on it
    chunk_recompute(chunk_id=done.pk)

    recompute_chunk.apply(kwargs={"chunk_id": busy.pk}, throw=True)
    recompute_chunk.apply(kwargs={"chunk_id": done.pk}, throw=True)

    busy.refresh_from_db()
    done.refresh_from_db()
    assert (busy.status, busy.attempts) == ("running", 1)
    assert (done.status, done.attempts) == ("done", 1)
    assert ScoreSnapshot.objects.filter(run=two_chunk_run).count() == 1  # only the done chunk's customer


def test_the_nightly_run_starts_once_per_night_however_often_its_message_arrives(django_capture_on_commit_callbacks):
    make_customer()

    with django_capture_on_commit_callbacks(execute=True) as first:
        first_id = recompute_all.delay(trigger="nightly").get()
    with django_capture_on_commit_callbacks(execute=True) as again:
        again_id = recompute_all.delay(trigger="nightly").get()

    run = RecomputeRun.objects.get()
    assert first_id == again_id == run.pk and run.night == timezone.now().date()
    # chunks sent once (the first delivery's other callback is the finished run's book-stats refresh)
    assert [repr(c) for c in first if "chunks_dispatch" in repr(c)] and again == []
    assert ScoreSnapshot.objects.filter(run=run).count() == 1
    assert AuditEvent.objects.filter(action="recompute.start").count() == 1
    # A manual run the same day is another run; a manual run cannot claim a night.
    assert recompute_run_start(enqueue=False).pk != run.pk
    with pytest.raises(ValidationFailed) as exc:
        recompute_run_start(trigger="manual", night=timezone.now().date(), enqueue=False)
    assert exc.value.field == "night"


def test_the_database_refuses_two_runs_for_one_night():
    RecomputeRunFactory(trigger="nightly", night=timezone.now().date())
    with pytest.raises(IntegrityError), transaction.atomic():
        RecomputeRunFactory(trigger="nightly", night=timezone.now().date())


def test_the_database_refuses_a_night_on_a_manual_run_and_a_running_chunk_without_a_claim():
    with pytest.raises(IntegrityError), transaction.atomic():
        RecomputeRunFactory(trigger="manual", night=timezone.now().date())
    chunk = RecomputeChunkFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(chunk).objects.filter(pk=chunk.pk).update(status="running", claimed_at=None)


def test_a_failing_chunk_inline_is_recorded_like_on_a_worker_and_the_run_ends_partial(two_chunk_run, monkeypatch):
    first, second = two_chunk_run.chunks.order_by("index")
    real = runs.chunk_plans_write

    def explode_on_first(*, first_id, **kwargs):
        if first_id == first.first_customer_id:
            raise OverflowError("int too large to convert")
        return real(first_id=first_id, **kwargs)

    monkeypatch.setattr(runs, "chunk_plans_write", explode_on_first)
    seen = []

    run = recompute_run_process_inline(run=two_chunk_run, progress=seen.append)

    first.refresh_from_db()
    assert (run.status, run.done_customers, run.failed_customers) == ("partial", 1, 1)
    assert run.finished_at is not None
    assert (first.status, first.attempts) == ("failed", 1) and "OverflowError" in first.error
    assert seen == [1, 1]  # both chunks settled
    assert AuditEvent.objects.filter(action="recompute.chunk_failed", target_id=str(first.pk)).exists()


def test_a_run_where_every_chunk_fails_inline_ends_failed(two_chunk_run, monkeypatch):
    monkeypatch.setattr(runs, "chunk_plans_write", lambda **kw: 1 / 0)

    run = recompute_run_process_inline(run=two_chunk_run)

    assert (run.status, run.done_customers, run.failed_customers) == ("failed", 0, 2)
    assert set(run.chunks.values_list("status", flat=True)) == {"failed"}


def test_resume_retries_the_failed_chunks_of_a_partial_run(two_chunk_run, monkeypatch, risk_admin):
    monkeypatch.setattr(runs, "chunk_plans_write", lambda **kw: 1 / 0)
    recompute_run_process_inline(run=two_chunk_run)
    monkeypatch.undo()

    run = runs.recompute_run_resume(run_id=two_chunk_run.pk, actor=risk_admin, enqueue=False)
    assert (run.status, run.failed_customers, run.finished_at) == ("running", 0, None)
    assert set(run.chunks.values_list("status", flat=True)) == {"pending"}

    run = recompute_run_process_inline(run=run)

    assert (run.status, run.done_customers, run.failed_customers) == ("succeeded", 2, 0)
    assert list(run.chunks.values_list("attempts", flat=True)) == [2, 2]
    resume = AuditEvent.objects.get(action="recompute.resume")
    assert resume.actor_id == risk_admin.pk and resume.before == {"status": "failed", "failed": 2}


def test_resume_sends_the_chunks_not_done_to_the_workers(two_chunk_run, django_capture_on_commit_callbacks):
    chunk_recompute(chunk_id=two_chunk_run.chunks.get(index=0).pk)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = runs.recompute_run_resume(run_id=two_chunk_run.pk)

    run.refresh_from_db()
    # one callback sends the chunks; the other is the finished run's book-stats refresh
    assert len([c for c in callbacks if "chunks_dispatch" in repr(c)]) == 1
    assert (run.status, run.done_customers) == ("succeeded", 2)
    assert run.chunks.get(index=1).dispatched_at is not None


def test_resume_refuses_an_unknown_or_succeeded_run():
    make_customer()
    done = recompute_run_process_inline(run=recompute_run_start(enqueue=False))

    with pytest.raises(NotFound):
        runs.recompute_run_resume(run_id=done.pk + 1000)
    with pytest.raises(Conflict, match="already finished"):
        runs.recompute_run_resume(run_id=done.pk)
    assert not AuditEvent.objects.filter(action="recompute.resume").exists()

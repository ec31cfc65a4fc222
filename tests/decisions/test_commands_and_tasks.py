"""The recompute command, the Celery task wiring and the beat schedule."""

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from decisions import tasks
from decisions.models import CreditLine, RecomputeRun
from riskops.celery import app
from tests.decisions.scenarios import make_customer
from tests.factories import CreditLineFactory

pytestmark = pytest.mark.django_db


def test_recompute_all_runs_the_book_with_a_summary(capsys):
    make_customer(), make_customer()
    call_command("recompute", "--all", "--chunk-size", "1", "--no-progress")
    out = capsys.readouterr().out
    run = RecomputeRun.objects.get()
    assert run.status == "succeeded" and run.total_chunks == 2
    assert f"Run {run.pk} succeeded: 2 customers recomputed" in out


def test_recompute_one_customer_by_external_id(capsys):
    customer = make_customer()
    call_command("recompute", "--customer", customer.external_id)
    assert f"{customer.external_id}: access open, limit 4500.00" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no customer"):
        call_command("recompute", "--customer", "missing")
    with pytest.raises(CommandError, match="chunk_size"):
        call_command("recompute", "--all", "--chunk-size", "0", "--no-progress")


def test_beat_schedules_the_nightly_run_and_the_hourly_expiry():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["nightly-full-recompute"]["task"] == "decisions.tasks.recompute_all"
    assert schedule["hourly-expiry"]["task"] == "decisions.tasks.expire_overrides_and_suspensions"
    app.loader.import_default_modules()  # what a worker does at start: every app's tasks module
    for entry in schedule.values():
        assert entry["task"] in app.tasks  # a typo in a task name would silently never run


def test_tasks_ack_late_and_retry_only_transient_errors():
    from django.db import OperationalError

    for task in (tasks.recompute_customer, tasks.recompute_chunk):
        assert task.acks_late is True
        assert task.autoretry_for == (OperationalError,)
        assert task.max_retries == 5 and task.retry_backoff
    assert app.conf.worker_prefetch_multiplier == 1


def test_nightly_task_creates_and_runs_a_run(django_capture_on_commit_callbacks):
    make_customer()
    with django_capture_on_commit_callbacks(execute=True):  # the chunks are enqueued on commit
        run_id = tasks.recompute_all.delay(trigger="nightly").get()
    run = RecomputeRun.objects.get(pk=run_id)
    assert run.trigger == "nightly" and run.status == "succeeded"


def test_hourly_expiry_recomputes_lapsed_suspensions():
    from datetime import timedelta

    from django.utils import timezone

    line = CreditLineFactory(suspended=True, suspended_until=timezone.now() - timedelta(minutes=1))
    # the line's customer has no consent, so once the suspension lapses it is not offered
    assert tasks.expire_overrides_and_suspensions.delay().get() == 1
    line.refresh_from_db()
    assert line.access == "not_offered" and line.suspended_until is None
    assert line.customer.score_snapshots.get().trigger == "expiry"
    assert CreditLine.objects.count() == 1


def test_beat_sweeps_for_lost_work_every_minute_well_inside_the_visibility_timeout():
    sweep = settings.CELERY_BEAT_SCHEDULE["recovery-sweep"]
    assert sweep["task"] == "decisions.tasks.recovery_sweep" and sweep["schedule"] <= 60
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    # minutes, not Redis's default hour; a redelivery must find a dead worker's claim already stale
    assert 60 < visibility <= 900
    assert settings.RISKOPS_MARK_GRACE_SECONDS < settings.RISKOPS_CHUNK_STALE_SECONDS < visibility


def test_resume_finishes_a_run_left_running_with_a_progress_summary(capsys):
    from decisions.engine.services.runs import recompute_run_start

    make_customer(), make_customer(), make_customer()
    run = recompute_run_start(chunk_size=1, enqueue=False)  # its messages were lost: nothing ran

    call_command("recompute", "--resume", str(run.pk), "--no-progress")

    out = capsys.readouterr().out
    run.refresh_from_db()
    assert (run.status, run.done_customers) == ("succeeded", 3)
    assert f"Resuming run {run.pk}: 3 chunks not done, 0 of 3 customers already recomputed." in out
    assert f"Run {run.pk} succeeded: 3 customers recomputed, 0 failed" in out


def test_a_failing_chunk_in_the_cli_is_reported_with_the_resume_command(capsys, monkeypatch):
    from decisions.engine.services import runs

    make_customer()
    monkeypatch.setattr(runs, "chunk_plans_write", lambda **kw: 1 / 0)

    call_command("recompute", "--all", "--no-progress")

    captured = capsys.readouterr()
    run = RecomputeRun.objects.get()
    assert run.status == "failed" and run.finished_at is not None
    assert f"Run {run.pk} failed: 0 customers recomputed, 1 failed" in captured.out
    assert "chunk 0 failed: ZeroDivisionError" in captured.err
    assert f"manage.py recompute --resume {run.pk}" in captured.err


def test_resume_refuses_an_unknown_or_finished_run_with_a_clear_error():
    make_customer()
    call_command("recompute", "--all", "--no-progress")
    run = RecomputeRun.objects.get()

    with pytest.raises(CommandError, match=f"no recompute run {run.pk + 1}"):
        call_command("recompute", "--resume", str(run.pk + 1), "--no-progress")
    with pytest.raises(CommandError, match=f"run {run.pk} already finished \\(succeeded\\): nothing to resume"):
        call_command("recompute", "--resume", str(run.pk), "--no-progress")


# --- the follow loop of `recompute --all` survives a database restart -------------------------


def _follow_with_workers(monkeypatch, on_first_read):
    """`recompute --all` as with a broker: the run is started, its chunks "on the workers" (done
    here at the loop's second read, as workers would while the command waits), the command
    following from the database. `on_first_read(run)` breaks the first read."""
    from decisions.engine.services import runs
    from decisions.management.commands import recompute as command

    # As with a broker, the command follows the run (tests/conftest.py puts eager mode back).
    app.conf.task_always_eager = False
    monkeypatch.setattr(command, "recompute_run_start", lambda **kw: runs.recompute_run_start(**{**kw, "enqueue": False}))
    monkeypatch.setattr(command, "POLL_SECONDS", 0)
    monkeypatch.setattr(command, "OUTAGE_RETRY_SECONDS", 0)
    real, reads = RecomputeRun.refresh_from_db, []

    def refresh(self, *args, **kwargs):
        reads.append(self.pk)
        if len(reads) == 1:
            on_first_read(self)
        elif len(reads) == 2:
            runs.recompute_run_process_inline(run=RecomputeRun.objects.get(pk=self.pk))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(RecomputeRun, "refresh_from_db", refresh)
    call_command("recompute", "--all", "--chunk-size", "1", "--no-progress")
    return reads


def test_the_follow_loop_reports_a_lost_database_and_keeps_following(capsys, monkeypatch):
    from django.db import OperationalError

    make_customer(), make_customer()

    def lost(run):
        raise OperationalError("terminating connection due to administrator command\nSSL SYSCALL error: EOF detected")

    reads = _follow_with_workers(monkeypatch, lost)

    captured = capsys.readouterr()
    run = RecomputeRun.objects.get()
    assert len(reads) >= 2 and run.status == "succeeded"
    assert f"Lost the database while following run {run.pk} (terminating connection due to administrator command)" in captured.err
    assert "Traceback" not in captured.err
    assert f"The database is back after" in captured.err and f"following run {run.pk} again" in captured.err
    assert f"Run {run.pk} succeeded: 2 customers recomputed, 0 failed" in captured.out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_follow_loop_survives_its_connection_being_terminated_on_postgresql(capsys, monkeypatch):
    """The real thing: the server ends the command's connection (as a restart does); the loop's
    next read fails, it reconnects and follows the run to its end."""
    import psycopg
    from django.db import connection

    make_customer(), make_customer()

    def terminated(run):
        pid = connection.connection.info.backend_pid
        params = connection.get_connection_params()
        with psycopg.connect(**{k: v for k, v in params.items() if k in {"dbname", "user", "password", "host", "port"}},
                             autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    _follow_with_workers(monkeypatch, terminated)

    captured = capsys.readouterr()
    run = RecomputeRun.objects.get()
    assert run.status == "succeeded" and run.done_customers == 2
    assert f"Lost the database while following run {run.pk}" in captured.err and "Traceback" not in captured.err
    assert f"Run {run.pk} succeeded: 2 customers recomputed" in captured.out

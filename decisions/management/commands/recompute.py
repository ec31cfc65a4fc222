import time

from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError, connection
from django.db.models import Q
from tqdm import tqdm

from accounts.models import Customer
from decisions.models import RecomputeRun, Trigger
from decisions.engine.services.recompute import decision_recompute
from decisions.engine.services.runs import (
    DEFAULT_CHUNK_SIZE,
    recompute_run_process_inline,
    recompute_run_resume,
    recompute_run_start,
)
from riskops.celery import app as celery_app
from riskops.core.exceptions import DomainError

POLL_SECONDS = 0.5  # how often the follow loop reads the run's progress
OUTAGE_RETRY_SECONDS = 2.0  # how often it tries the database again after losing it


def _drop_connection() -> None:
    """Close the broken connection so that the next query opens a new one (what Django does
    between requests; a command has no requests). Never inside a transaction: a caller's (a
    test's) stays intact, and the follow loop itself holds none."""
    if not connection.in_atomic_block:
        connection.close()


class Command(BaseCommand):
    help = (
        "Recompute credit decisions: one customer (--customer), the whole book (--all), or the chunks "
        "of an unfinished run that are not done (--resume RUN), with progress."
    )

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--customer", help="external id (or numeric id) of one customer")
        target.add_argument("--all", action="store_true", help="the whole book, as a RecomputeRun in chunks")
        target.add_argument(
            "--resume", type=int, metavar="RUN",
            help="take up an unfinished (running, partial or failed) run again: its chunks not done are sent to the "
            "workers, or run here with --inline or without a broker",
        )
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
        parser.add_argument("--inline", action="store_true", help="run the chunks in this process even with a broker")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, customer, all, resume, chunk_size, inline, no_progress, **options):
        inline = inline or celery_app.conf.task_always_eager
        try:
            if customer:
                return self._one(customer)
            if resume is not None:
                return self._resume(run_id=resume, inline=inline, no_progress=no_progress)
            return self._all(chunk_size=chunk_size, inline=inline, no_progress=no_progress)
        except DomainError as exc:
            raise CommandError(exc.message)

    def _one(self, key: str) -> None:
        match = Q(external_id=key) | (Q(pk=int(key)) if key.isdigit() else Q())
        found = Customer.objects.filter(match).first()
        if found is None:
            raise CommandError(f"no customer with id {key!r}")
        line = decision_recompute(customer=found, trigger=Trigger.MANUAL)
        self.stdout.write(f"{found.external_id}: access {line.access}, limit {line.limit_amount}, score {line.score}, band {line.band or '-'}")

    def _all(self, *, chunk_size: int, inline: bool, no_progress: bool) -> None:
        started = time.perf_counter()
        run = recompute_run_start(trigger=Trigger.MANUAL, chunk_size=chunk_size, enqueue=not inline)
        self._follow(run=run, inline=inline, no_progress=no_progress, started=started)

    def _resume(self, *, run_id: int, inline: bool, no_progress: bool) -> None:
        started = time.perf_counter()
        run = recompute_run_resume(run_id=run_id, enqueue=not inline)
        left = run.chunks.exclude(status="done").count()
        self.stdout.write(f"Resuming run {run.pk}: {left} chunk{'s' if left != 1 else ''} not done, {run.done_customers:,} of {run.total_customers:,} customers already recomputed.")
        self._follow(run=run, inline=inline, no_progress=no_progress, started=started)

    def _follow(self, *, run: RecomputeRun, inline: bool, no_progress: bool, started: float) -> None:
        initial, done_before = run.done_customers + run.failed_customers, run.done_customers
        with tqdm(total=run.total_customers, initial=initial, unit="customer", desc=f"run {run.pk}", disable=no_progress or None) as bar:
            if inline:
                run = recompute_run_process_inline(run=run, progress=bar.update)
            else:
                # Chunks run on the Celery workers; follow the run's progress from the database.
                last_change, warned, lost_since = time.monotonic(), False, None
                while True:
                    try:
                        run.refresh_from_db()
                    except (OperationalError, InterfaceError) as exc:
                        # The database restarted or the network dropped: the run goes on on the
                        # workers (they retry their chunks), so report it once and keep following.
                        if lost_since is None:
                            lost_since = time.monotonic()
                            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
                            self.stderr.write(
                                f"Lost the database while following run {run.pk} ({first_line}). The run goes on on the "
                                f"workers; trying again every {OUTAGE_RETRY_SECONDS:g} s (Ctrl-C stops waiting, not the run)."
                            )
                        _drop_connection()
                        time.sleep(OUTAGE_RETRY_SECONDS)
                        continue
                    if lost_since is not None:
                        self.stderr.write(f"The database is back after {time.monotonic() - lost_since:.0f} s; following run {run.pk} again.")
                        lost_since, last_change = None, time.monotonic()
                    progressed = run.done_customers + run.failed_customers - bar.n
                    bar.update(progressed)
                    if run.finished_at is not None:
                        break
                    if progressed:
                        last_change = time.monotonic()
                    elif not warned and time.monotonic() - last_change > 60:
                        warned = True
                        self.stderr.write("No progress for a minute: is a Celery worker running (make worker)? Still waiting; Ctrl-C stops waiting, not the run.")
                    time.sleep(POLL_SECONDS)
        elapsed = time.perf_counter() - started
        done_now = run.done_customers - done_before
        style = self.style.SUCCESS if run.status == RecomputeRun.Status.SUCCEEDED else self.style.WARNING
        self.stdout.write(style(
            f"Run {run.pk} {run.status}: {run.done_customers:,} customers recomputed, {run.failed_customers:,} failed, "
            f"{elapsed:.1f}s ({done_now / elapsed if elapsed else 0:,.0f} customers/s)"
        ))
        for index, error in run.chunks.filter(status="failed").order_by("index").values_list("index", "error")[:5]:
            self.stderr.write(f"  chunk {index} failed: {error.splitlines()[0] if error else '?'}")
        if run.failed_customers:
            self.stderr.write(f"Retry the failed chunks with: manage.py recompute --resume {run.pk}")
        elif run.finished_at is None:
            self.stderr.write(
                f"Run {run.pk} has chunks still running under a worker's claim; it finishes when they do "
                f"(or resume it again once their claim is stale)."
            )

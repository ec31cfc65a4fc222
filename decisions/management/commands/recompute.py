import time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from tqdm import tqdm

from accounts.models import Customer
from decisions.models import RecomputeRun, Trigger
from decisions.services.recompute import decision_recompute
from decisions.services.runs import DEFAULT_CHUNK_SIZE, recompute_run_process_inline, recompute_run_start
from riskops.celery import app as celery_app
from riskops.core.exceptions import DomainError


class Command(BaseCommand):
    help = "Recompute credit decisions: one customer (--customer) or the whole book (--all), with progress."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--customer", help="external id (or numeric id) of one customer")
        target.add_argument("--all", action="store_true", help="the whole book, as a RecomputeRun in chunks")
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
        parser.add_argument("--inline", action="store_true", help="run the chunks in this process even with a broker")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, customer, all, chunk_size, inline, no_progress, **options):
        try:
            if customer:
                return self._one(customer)
            return self._all(chunk_size=chunk_size, inline=inline or celery_app.conf.task_always_eager, no_progress=no_progress)
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
        with tqdm(total=run.total_customers, unit="customer", desc=f"run {run.pk}", disable=no_progress or None) as bar:
            if inline:
                run = recompute_run_process_inline(run=run, progress=bar.update)
            else:
                # Chunks run on the Celery workers; follow the run's progress from the database.
                last_change, warned = time.monotonic(), False
                while True:
                    run.refresh_from_db()
                    progressed = run.done_customers + run.failed_customers - bar.n
                    bar.update(progressed)
                    if run.finished_at is not None:
                        break
                    if progressed:
                        last_change = time.monotonic()
                    elif not warned and time.monotonic() - last_change > 60:
                        warned = True
                        self.stderr.write("No progress for a minute: is a Celery worker running (make worker)? Still waiting; Ctrl-C stops waiting, not the run.")
                    time.sleep(0.5)
        elapsed = time.perf_counter() - started
        style = self.style.SUCCESS if run.status == RecomputeRun.Status.SUCCEEDED else self.style.WARNING
        self.stdout.write(style(
            f"Run {run.pk} {run.status}: {run.done_customers:,} customers recomputed, {run.failed_customers:,} failed, "
            f"{elapsed:.1f}s ({run.done_customers / elapsed if elapsed else 0:,.0f} customers/s)"
        ))

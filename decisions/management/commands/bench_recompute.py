"""`make bench`: full recompute through a real Celery worker vs the naive single-customer path,
and event-to-decision latency. Needs PostgreSQL and a Redis broker (it refuses anything else)."""

import time
import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.events import transaction_record
from accounts.changes import change_marks_write
from accounts.models import Customer, CustomerChangeMark
from decisions.models import CreditDecision, RecomputeChunk, RecomputeRun, RiskAlert, ScoreSnapshot, Trigger
from decisions.engine.services.recompute import decision_recompute
from decisions.engine.services.runs import DEFAULT_CHUNK_SIZE, recompute_run_start
from decisions.engine.dispatch import task
from riskops.core.bulk import ids_param
from riskops.core.models import AuditEvent
from riskops.queues import BULK, HIGH, SWEEPS
from tests.support.worker import celery_worker, worker_process


BATCH_MESSAGE = 250  # customers per message, as the API's batch endpoints send them (api/tasks.py)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


class Command(BaseCommand):
    help = "Benchmark the full recompute (real worker) against the naive per-customer path."

    def add_arguments(self, parser):
        parser.add_argument("--sample", type=int, default=1000, help="customers for the naive path")
        parser.add_argument("--events", type=int, default=200, help="events for the latency measurement")
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
        parser.add_argument("--skip-full", action="store_true", help="only the naive path and the event latency")
        parser.add_argument("--pool", default="prefork", choices=["prefork", "threads", "solo"])
        parser.add_argument("--event-batch", type=int, default=10000, help="customers for the batched event recomputes (0: skip)")
        parser.add_argument(
            "--during-full", action="store_true",
            help="then events one at a time while a full recompute runs: a dedicated high-lane worker beside a sweeps+bulk one",
        )

    def handle(self, *args, sample, events, chunk_size, concurrency, skip_full, pool, event_batch, during_full, **options):
        if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL:
            raise CommandError("the benchmark needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://…")
        total = Customer.objects.count()
        if total == 0:
            raise CommandError("no customers: seed a book first (make bench does)")
        self.stdout.write(f"Book: {total:,} customers. Starting a Celery worker (concurrency {concurrency})…")
        with celery_worker(concurrency=concurrency, pool=pool):
            # Events first, on a quiet system: a full run leaves PostgreSQL busy (vacuum,
            # checkpoints) for a while, which is a different measurement.
            latencies, phases = self._events(events)
            batched = self._event_batches(event_batch) if event_batch else None
            full_s, run = self._full(chunk_size) if not skip_full else (None, None)
            rerun = self._rerun(chunk_size) if not skip_full else None
        naive = self._naive(sample)
        during = self._events_during_full(events, chunk_size, concurrency, pool) if during_full else None

        naive_rate = len(naive) / sum(naive)
        full_rate = run.done_customers / full_s if run else 0.0
        lines = [""]
        if run:
            lines += [
                f"Full recompute via Celery + Redis ({concurrency} worker processes, chunks of {chunk_size}):",
                f"  {run.done_customers:,} customers in {full_s:.1f} s = {full_rate:,.0f} customers/s  (run {run.pk}: {run.status})",
            ]
        lines += [
            f"Naive single-customer path, {len(naive)} customers sampled across the book:",
            f"  {naive_rate:,.1f} customers/s; per customer p50 {percentile(naive, 50) * 1000:.1f} ms, "
            f"p95 {percentile(naive, 95) * 1000:.1f} ms; extrapolated to the book: {total / naive_rate:,.0f} s",
        ]
        if run:
            lines.append(f"  set-based chunks are {full_rate / naive_rate:,.1f}× faster")
        if rerun:
            rerun_s, second, written = rerun
            lines += [
                f"Second full recompute with no new data (run {second.pk}, {rerun_s:.1f} s) wrote:",
                "  " + ", ".join(f"{n:,} {what}" for what, n in written.items()),
                f"Target: a rerun writes 0 decisions ({'met' if written['decisions'] == 0 else 'NOT met'})",
            ]
        lines += [
            f"Event to decision through the worker ({len(latencies)} transactions, one at a time):",
            f"  p50 {percentile(latencies, 50) * 1000:.1f} ms, p95 {percentile(latencies, 95) * 1000:.1f} ms, "
            f"max {max(latencies) * 1000:.1f} ms",
            "  where the time goes (p50 / p95 ms): "
            + "; ".join(f"{name} {percentile(v, 50) * 1000:.1f} / {percentile(v, 95) * 1000:.1f}" for name, v in phases.items()),
            f"Target: event-to-decision p95 < 50 ms ({'met' if percentile(latencies, 95) < 0.05 else 'NOT met'})",
        ]
        if batched:
            customers, seconds = batched
            rate = customers / seconds
            lines += [
                f"Events in batches through the worker ({customers:,} marked customers across the book, "
                f"{BATCH_MESSAGE} per message, {concurrency} worker processes):",
                f"  {customers:,} customers in {seconds:.1f} s = {rate:,.0f} customers/s",
                f"Target: >= 1,000 customers/s of event recomputes ({'met' if rate >= 1000 else 'NOT met'})",
            ]
        if during:
            lat, ph, during_run, measured_while_running, seconds = during
            lines += [
                f"Event to decision while a full recompute runs (run {during_run.pk}, {during_run.done_customers:,} customers in "
                f"{seconds:.1f} s; a 1-process high-lane worker beside a {concurrency}-process sweeps+bulk worker):",
                f"  {len(lat)} transactions, {measured_while_running} of them before the run finished: p50 "
                f"{percentile(lat, 50) * 1000:.1f} ms, p95 {percentile(lat, 95) * 1000:.1f} ms, max {max(lat) * 1000:.1f} ms",
                "  where the time goes (p50 / p95 ms): "
                + "; ".join(f"{name} {percentile(v, 50) * 1000:.1f} / {percentile(v, 95) * 1000:.1f}" for name, v in ph.items()),
                f"Target: event-to-decision p95 < 50 ms during a full recompute ({'met' if percentile(lat, 95) < 0.05 else 'NOT met'})",
            ]
        if run:
            lines.append(
                f"Target: full recompute of 100k < 60 s ({'met' if total / full_rate < 60 else 'NOT met'} at this rate: "
                f"{total / full_rate:.1f} s)"
            )
        self.stdout.write("\n".join(lines))

    def _events_during_full(self, count: int, chunk_size: int, concurrency: int, pool: str):
        """Events one at a time while a full recompute's chunks fill the bulk lane: what the
        priority lanes are for. Two workers on one queue namespace, as `make workers` runs them:
        one process on the high lane only, `concurrency` processes on sweeps and bulk."""
        namespace = f"q-{uuid.uuid4().hex[:10]}"
        with worker_process(concurrency=1, pool=pool, queue=namespace, lanes=(HIGH,)), worker_process(
            concurrency=concurrency, pool=pool, queue=namespace, lanes=(SWEEPS, BULK)
        ):
            started = time.perf_counter()
            run = recompute_run_start(trigger=Trigger.MANUAL, chunk_size=chunk_size)
            deadline = time.monotonic() + 60
            while not RecomputeChunk.objects.filter(run=run).exclude(status="pending").exists():
                if time.monotonic() > deadline:
                    raise CommandError("the full recompute did not start: is the bulk worker healthy?")
                time.sleep(0.05)
            latencies, phases = self._events(count)
            while run.finished_at is None:
                time.sleep(0.25)
                run.refresh_from_db()
            # Only events that arrived while the run was still going measure what the lanes are for.
            measured = sum(1 for at in self.arrivals if at < run.finished_at)
            return latencies, phases, run, measured, time.perf_counter() - started

    def _event_batches(self, count: int) -> tuple[int, float]:
        """Seconds for the worker to recompute `count` customers marked as changed (scattered over
        the book, as events land), sent as the API's batches send them: one `recompute_marked`
        message per BATCH_MESSAGE customers, each recomputed as a set (services/batches.py)."""
        ids = list(Customer.objects.order_by("?").values_list("pk", flat=True)[:count])
        with transaction.atomic():
            change_marks_write(customer_ids=ids, trigger=Trigger.TRANSACTION)
        recompute_marked = task("recompute_marked")
        started = time.perf_counter()
        for start in range(0, len(ids), BATCH_MESSAGE):
            recompute_marked.delay(customer_ids=ids[start : start + BATCH_MESSAGE], trigger=Trigger.TRANSACTION)
        deadline = time.monotonic() + max(120, count / 50)
        while CustomerChangeMark.objects.filter(customer_id__in=ids_param(ids)).exists():
            if time.monotonic() > deadline:
                raise CommandError("batched event recomputes did not finish: is the worker healthy?")
            time.sleep(0.1)
        return len(ids), time.perf_counter() - started

    def _full(self, chunk_size: int) -> tuple[float, RecomputeRun]:
        started = time.perf_counter()
        run = recompute_run_start(trigger=Trigger.MANUAL, chunk_size=chunk_size)
        last_report = started
        while True:
            run.refresh_from_db()
            if run.finished_at is not None:
                return time.perf_counter() - started, run
            if time.perf_counter() - last_report >= 5:
                last_report = time.perf_counter()
                self.stdout.write(f"  full recompute: {run.done_customers:,}/{run.total_customers:,} after {last_report - started:.0f} s")
            time.sleep(0.25)

    def _rerun(self, chunk_size: int) -> tuple[float, RecomputeRun, dict[str, int]]:
        """A second full run right after the first: a fixed point writes no decision and no alert."""
        seconds, run = self._full(chunk_size)
        written = {
            "snapshots (the record of each computation)": ScoreSnapshot.objects.filter(run=run).count(),
            "decisions": CreditDecision.objects.filter(run=run).count(),
            "new alerts": RiskAlert.objects.filter(raised_at__gte=run.started_at).count(),
        }
        return seconds, run, written

    def _naive(self, sample: int) -> list[float]:
        ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
        step = max(len(ids) // sample, 1)
        timings = []
        for pk in ids[::step][:sample]:
            started = time.perf_counter()
            decision_recompute(customer=Customer.objects.get(pk=pk), trigger=Trigger.MANUAL)
            timings.append(time.perf_counter() - started)
        return timings

    def _events(self, count: int) -> tuple[list[float], dict[str, list[float]]]:
        """Seconds from an event's arrival (the service call) to its decision being written, and
        where they go: storing the event (service call to commit), the queue (commit to the
        worker's recompute starting: Redis, the worker's pickup), the recompute itself.

        The end is the `decision.recompute` audit event's timestamp, taken inside the worker's
        transaction just before commit; the recompute's start is its snapshot's `computed_at`. The
        database is only polled, gently, so the measurement does not slow down what it measures."""
        customers = list(
            Customer.objects.filter(consents__purpose="credit_scoring", consents__state="active").order_by("?")[:count]
        )
        latencies = []
        self.arrivals = []
        phases: dict[str, list[float]] = {"store": [], "queue": [], "recompute": []}
        tag = uuid.uuid4().hex[:8]
        for n, customer in enumerate(customers):
            arrived = timezone.now()
            self.arrivals.append(arrived)
            transaction_record(
                customer=customer, external_id=f"bench-{tag}-{n}", kind="purchase", amount=Decimal("9.99"),
                occurred_at=arrived - timedelta(seconds=1),
            )
            stored = timezone.now()
            deadline = time.monotonic() + 30
            while True:
                written = (
                    AuditEvent.objects.filter(
                        action="decision.recompute", target_type="accounts.customer", target_id=str(customer.pk), occurred_at__gte=arrived
                    )
                    .values_list("occurred_at", flat=True)
                    .first()
                )
                if written:
                    break
                if time.monotonic() > deadline:
                    raise CommandError(f"no decision for {customer} after 30 s: is the worker healthy?")
                time.sleep(0.01)
            latencies.append((written - arrived).total_seconds())
            started = (
                ScoreSnapshot.objects.filter(customer=customer, trigger="transaction", computed_at__gte=arrived)
                .values_list("computed_at", flat=True)
                .first()
            )
            phases["store"].append((stored - arrived).total_seconds())
            phases["queue"].append((started - stored).total_seconds())
            phases["recompute"].append((written - started).total_seconds())
            time.sleep(0.02)  # one event at a time, with the worker idle in between
        return latencies, phases

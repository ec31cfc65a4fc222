"""`make bench`: a policy simulation of the whole book through a real Celery worker, timed.

The target: no slower than a full recompute through a real worker. `--recompute`
times one full recompute through the same worker right after, for a comparison under the same
conditions (it writes what any full recompute writes: snapshots, and decisions where they change).
Without it, `--compare-chunks N` (default 3) times N chunks spread over the book in this process,
each one simulated and then recomputed inside a transaction that is rolled back: the same
chunks, the same load on the machine, nothing left in the database.

What the simulation leaves behind is removed at the end (the draft it simulated, the simulation
and its chunks), unless `--keep`; its audit events stay (the audit trail is append-only)."""

import copy
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction

from accounts.models import Customer
from decisions.models import PolicySimulation, PolicyVersion, RecomputeRun, SimulationChunk, Trigger
from decisions.engine.policy_reads import active_policy
from decisions.governance.services.policy import policy_create
from decisions.engine.services.runs import recompute_run_start
from decisions.governance.services.simulation import DEFAULT_CHUNK_SIZE, simulation_start
from tests.support.worker import celery_worker


def bench_draft_body(body: dict) -> dict:
    """A draft that moves customers: band cut-offs up 10 points, a higher ceiling, a stricter rule."""
    body = copy.deepcopy(body)
    for band in body["bands"][:-1]:
        band["min_score"] += 10
    body["limits"]["max_limit"] = str(int(float(body["limits"]["max_limit"])) + 1000) + ".00"
    body["rules"]["OVER_BORROWING"]["max_external_lenders"] = max(1, body["rules"]["OVER_BORROWING"]["max_external_lenders"] - 1)
    return body


class Command(BaseCommand):
    help = "Benchmark a policy simulation of the whole book through a real Celery worker."

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
        parser.add_argument("--pool", default="prefork", choices=["prefork", "threads", "solo"])
        parser.add_argument("--recompute", action="store_true", help="also time a full recompute through the same worker")
        parser.add_argument("--keep", action="store_true", help="keep the draft and the simulation")
        parser.add_argument("--compare-chunks", type=int, default=3, help="chunks timed both ways in-process (0: none)")

    def handle(self, *args, chunk_size, concurrency, pool, recompute, keep, compare_chunks, **options):
        if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL:
            raise CommandError("the benchmark needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://…")
        total = Customer.objects.count()
        if total == 0:
            raise CommandError("no customers: seed a book first (make bench does)")
        active, _ = active_policy()
        draft = policy_create(name="bench_simulation draft", body=bench_draft_body(active.body), actor=None)
        self.stdout.write(f"Book: {total:,} customers. Starting a Celery worker (concurrency {concurrency})…")
        try:
            with celery_worker(concurrency=concurrency, pool=pool):
                seconds, simulation = self._simulate(draft, chunk_size)
                full = self._full(chunk_size) if recompute else None
            result = simulation.result
            lines = [
                "",
                f"Policy simulation via Celery + Redis ({concurrency} worker processes, chunks of {chunk_size}):",
                f"  {simulation.done_customers:,} customers in {seconds:.1f} s = {total / seconds:,.0f} customers/s "
                f"(simulation {simulation.pk}: {simulation.status}; {result.get('changed', 0):,} would change, "
                f"exposure {result.get('exposure_now')} → {result.get('exposure_draft')})",
            ]
            if full:
                full_s, run = full
                lines += [
                    f"Full recompute through the same worker: {run.done_customers:,} customers in {full_s:.1f} s (run {run.pk}: {run.status})",
                    f"Target: the simulation is no slower than a full recompute ({'met' if seconds <= full_s else 'NOT met'}: "
                    f"{seconds / full_s:.2f}× its time)",
                ]
            self.stdout.write("\n".join(lines))
            if compare_chunks:
                try:
                    sim_s, rec_s, n = self._compare(simulation, compare_chunks)
                except DatabaseError as exc:  # e.g. a bench database not migrated to the code's tables
                    self.stdout.write(f"Chunk comparison skipped: the recompute could not run here ({exc.__class__.__name__}: {str(exc).splitlines()[0]})")
                else:
                    self.stdout.write(
                        f"Same chunks in this process ({n} × {chunk_size} customers; the recompute rolled back): "
                        f"simulation {sim_s / n:.2f} s per chunk, full-recompute chunk {rec_s / n:.2f} s per chunk "
                        f"({sim_s / rec_s:.2f}× its time: target {'met' if sim_s <= rec_s else 'NOT met'})"
                    )
        finally:
            if not keep:
                with transaction.atomic():
                    sims = PolicySimulation.objects.filter(policy_version=draft)
                    SimulationChunk.objects.filter(simulation__in=sims).delete()
                    sims.delete()
                    PolicyVersion.objects.filter(pk=draft.pk, state=PolicyVersion.State.DRAFT).delete()

    def _compare(self, simulation: PolicySimulation, count: int) -> tuple[float, float, int]:
        """Time `count` chunks spread over the book both ways, one after the other, here."""
        from django.utils import timezone

        from decisions.engine.services.recompute import chunk_plans_write
        from decisions.governance.services.simulation import chunk_simulate

        chunks = list(simulation.chunks.order_by("index").values_list("first_customer_id", "last_customer_id"))
        picked = chunks[:: max(len(chunks) // count, 1)][:count]
        active, _ = active_policy()
        sim_s = rec_s = 0.0
        for first_id, last_id in picked:
            started = time.perf_counter()
            chunk_simulate(first_id=first_id, last_id=last_id, simulation=simulation)
            sim_s += time.perf_counter() - started
            with transaction.atomic():
                run = RecomputeRun.objects.create(policy_version=active, total_customers=50_000, total_chunks=1)
                started = time.perf_counter()
                chunk_plans_write(first_id=first_id, last_id=last_id, run=run, now=timezone.now())
                rec_s += time.perf_counter() - started
                transaction.set_rollback(True)
        return sim_s, rec_s, len(picked)

    def _wait(self, obj, label: str, started: float) -> float:
        last_report = started
        while True:
            obj.refresh_from_db()
            if obj.finished_at is not None:
                return time.perf_counter() - started
            if time.perf_counter() - last_report >= 5:
                last_report = time.perf_counter()
                done = obj.done_customers
                self.stdout.write(f"  {label}: {done:,}/{obj.total_customers:,} after {last_report - started:.0f} s")
            time.sleep(0.25)

    def _simulate(self, draft: PolicyVersion, chunk_size: int) -> tuple[float, PolicySimulation]:
        started = time.perf_counter()
        simulation = simulation_start(version=draft, actor=None, chunk_size=chunk_size)
        return self._wait(simulation, "simulation", started), simulation

    def _full(self, chunk_size: int) -> tuple[float, RecomputeRun]:
        started = time.perf_counter()
        run = recompute_run_start(trigger=Trigger.MANUAL, chunk_size=chunk_size)
        return self._wait(run, "full recompute", started), run

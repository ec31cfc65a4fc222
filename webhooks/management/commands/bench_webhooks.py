"""Webhook fan-out benchmark (`make bench`): a full recompute that changes ~10,000 decisions, run
through a real Celery worker without and then with a subscribed endpoint; reports both run times,
the slowdown, and how many signed events a local receiver verified, and when the last arrived.

How decisions are made to change: the effective limit of N open or limited lines with no
override in force is raised by 1.00 directly in `decisions_creditline` (the engine's own state,
not data); the next full run recomputes the model limit, finds the line differs, writes a
decision and puts the limit back. So each timed run changes exactly those N decisions and leaves
every line as it found it (the runs' decision rows and snapshots stay: they are the record, and
audit events vouch for them). A book never recomputed is recomputed once first (untimed).
The endpoint, its events, deliveries and attempt log are deleted at the end.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count

from accounts.models import Customer
from decisions.models import CreditDecision, CreditLine, RecomputeRun, Trigger
from decisions.engine.services.runs import recompute_run_start
from tests.support.worker import worker_process
from webhooks.bench.receiver import VerifyingReceiver
from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services.endpoints import webhook_endpoint_create

TARGET_SLOWDOWN = 0.20


class Command(BaseCommand):
    help = "Full recompute changing ~10,000 decisions, with and without a webhook endpoint; fan-out to a local verifying receiver"

    def add_arguments(self, parser):
        parser.add_argument("--changes", type=int, default=10_000, help="decisions to change per run")
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
        parser.add_argument("--delivery-timeout", type=int, default=600, help="seconds to wait for the last delivery")

    def handle(self, *args, changes, concurrency, delivery_timeout, **options):
        if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL:
            raise CommandError("the benchmark needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://…")
        if WebhookEndpoint.objects.filter(active=True).exists():
            raise CommandError("active webhook endpoints exist in this database: the baseline run would not be one")
        settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = True  # this process creates an endpoint on 127.0.0.1
        total = Customer.objects.count()
        with worker_process(concurrency=concurrency, env={"RISKOPS_WEBHOOK_ALLOW_PRIVATE": "true"}):
            if CreditLine.objects.count() < total:
                self.stdout.write("The book was never fully recomputed: one full run first (not timed)…")
                self._run()
            base_s, base_run, base_changed = self._changed_run(changes)
            self.stdout.write(f"Without an endpoint: {base_s:.1f} s, {base_changed:,} decisions changed (run {base_run.pk})")
            endpoint = None
            with VerifyingReceiver() as receiver:
                try:
                    endpoint = webhook_endpoint_create(url=receiver.url, event_types=["decision.changed", "alert.raised"], actor=None)
                    receiver.verify_with(endpoint.secret)
                    started = time.perf_counter()
                    hook_s, hook_run, hook_changed = self._changed_run(changes, started=started)
                    events = WebhookEvent.objects.count()
                    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint).count()
                    done_s = self._wait_delivered(endpoint, deliveries, started, delivery_timeout)
                    counts = dict(WebhookDelivery.objects.filter(endpoint=endpoint).order_by().values_list("status").annotate(n=Count("id")))
                finally:
                    if endpoint is not None:
                        self._cleanup(endpoint)
        slowdown = hook_s / base_s - 1
        self.stdout.write("\n".join([
            f"With an endpoint:    {hook_s:.1f} s, {hook_changed:,} decisions changed (run {hook_run.pk}); "
            f"{events:,} events and {deliveries:,} deliveries written in the run's transactions",
            f"  slowdown {slowdown * 100:+.1f}% (target ≤ {TARGET_SLOWDOWN * 100:.0f}%: {'met' if slowdown <= TARGET_SLOWDOWN else 'NOT met'})",
            f"  receiver: {receiver.ok:,} signed events verified (standardwebhooks), {receiver.bad} refused, "
            f"{len(receiver.ids):,} distinct webhook-ids; deliveries by status {counts}",
            f"  last delivery {done_s:.1f} s after the run started ({done_s - hook_s:.1f} s after it finished)"
            if done_s is not None else "  NOT all delivered within the timeout",
        ]))

    def _run(self, started: float | None = None) -> tuple[float, RecomputeRun]:
        started = started or time.perf_counter()
        run = recompute_run_start(trigger=Trigger.MANUAL)
        while True:
            run.refresh_from_db()
            if run.finished_at is not None:
                return time.perf_counter() - started, run
            time.sleep(0.2)

    def _changed_run(self, changes: int, started: float | None = None) -> tuple[float, RecomputeRun, int]:
        with transaction.atomic(), connection.cursor() as cursor:
            # Open or limited lines whose effective state is the model's own (no override), spread at random.
            cursor.execute(
                "UPDATE decisions_creditline SET limit_amount = limit_amount + 1 WHERE id IN ("
                " SELECT id FROM decisions_creditline WHERE access IN ('open', 'limited') AND access = model_access"
                " AND limit_amount = model_limit AND limit_amount > 0 ORDER BY random() LIMIT %s)",
                [changes],
            )
        seconds, run = self._run(started)
        return seconds, run, CreditDecision.objects.filter(run=run).count()

    def _wait_delivered(self, endpoint, expected: int, started: float, timeout: int) -> float | None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            left = WebhookDelivery.objects.filter(endpoint=endpoint, status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]).count()
            if left == 0:
                return time.perf_counter() - started
            time.sleep(0.5)
        return None

    def _cleanup(self, endpoint) -> None:
        """Leave the bench database as found: the endpoint and everything sent to it go."""
        with transaction.atomic():
            WebhookAttempt.objects.filter(delivery__endpoint=endpoint).delete()
            event_ids = list(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("event_id", flat=True))
            WebhookDelivery.objects.filter(endpoint=endpoint).delete()
            WebhookEvent.objects.filter(pk__in=event_ids).delete()
            WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()

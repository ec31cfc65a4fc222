"""`make bench`: batch ingestion through the service API's real WSGI stack (URL routing,
middleware, token authentication, throttling, the JSON parser, the view, the bulk service) on
PostgreSQL, then the time until every recompute those events asked for is done by a real Celery
worker.

Events are purchases of 0.01 a minute old, spread over customers that hold a credit_scoring
consent (so every recompute does the whole scoring). The end of the recomputes is read from the
outbox: each event's transaction leaves one change mark per customer, and the recompute deletes
it, so "no mark left for these customers" is "every recompute is done". Afterwards the bench's
transactions, client and token are deleted; the recomputes' snapshots (and any decision a
0.01 purchase changed, normally none) stay, like bench_recompute's events do.
"""

import json
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import Consent, Customer, CustomerChangeMark, Transaction
from api.models import ApiClient, ApiToken
from api.services import api_client_create, api_token_create
from decisions.models import CreditDecision, ScoreSnapshot
from tests.support.worker import celery_worker


class Command(BaseCommand):
    help = "Benchmark batch ingestion through /api/v1/transactions/batch/ and the recomputes it triggers."

    def add_arguments(self, parser):
        parser.add_argument("--batches", type=int, default=20)
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--customers", type=int, default=2000, help="distinct customers the events are spread over")
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
        parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the recomputes")
        parser.add_argument("--keep", action="store_true", help="leave the bench's transactions in place")

    def handle(self, *args, batches, batch_size, customers, concurrency, timeout, keep, **options):
        if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL:
            raise CommandError("the benchmark needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://…")
        ids = list(
            Consent.objects.filter(purpose="credit_scoring", state="active").order_by("customer_id")
            .values_list("customer__external_id", "customer_id")[: customers * 3 : 3]
        )
        if len(ids) < customers:
            raise CommandError(f"only {len(ids)} customers with a scoring consent: seed a bigger book (make bench-seed)")
        tag = uuid.uuid4().hex[:8]
        client = api_client_create(name=f"bench-{tag}", scopes=["events:write"], throttle_rate="100000/min", actor=None)
        _, token = api_token_create(client=client, actor=None)
        http = Client(HTTP_HOST=(settings.ALLOWED_HOSTS or ["localhost"])[0].replace("*", "localhost"))
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        at = (timezone.now() - timedelta(minutes=1)).isoformat()
        bodies = []
        for b in range(batches):
            items = []
            for i in range(batch_size):
                n = b * batch_size + i
                items.append({"customer": ids[n % len(ids)][0], "external_id": f"bench-api-{tag}-{n}", "kind": "purchase",
                              "amount": "0.01", "currency": settings.RISKOPS_CURRENCY, "occurred_at": at, "merchant_category": "bench"})
            bodies.append(json.dumps({"items": items}))
        customer_ids = sorted({pk for _, pk in ids[: min(len(ids), batches * batch_size)]})
        total = batches * batch_size
        self.stdout.write(f"{batches} batches of {batch_size} over {len(customer_ids):,} customers; starting a worker (concurrency {concurrency})…")
        started_at = timezone.now()
        try:
            with celery_worker(concurrency=concurrency):
                per_batch = []
                t0 = time.perf_counter()
                for body in bodies:
                    s = time.perf_counter()
                    response = http.post("/api/v1/transactions/batch/", data=body, content_type="application/json", secure=True, **auth)
                    per_batch.append(time.perf_counter() - s)
                    if response.status_code != 200:
                        raise CommandError(f"batch refused: {response.status_code} {response.content[:300]!r}")
                posted = time.perf_counter() - t0
                deadline = time.monotonic() + timeout
                while CustomerChangeMark.objects.filter(customer_id__in=customer_ids, marked_at__gte=started_at).exists():
                    if time.monotonic() > deadline:
                        left = CustomerChangeMark.objects.filter(customer_id__in=customer_ids, marked_at__gte=started_at).values("customer_id").distinct().count()
                        raise CommandError(f"{left} customers still waiting for their recompute after {timeout:.0f} s")
                    time.sleep(0.25)
                done = time.perf_counter() - t0
            snapshots = ScoreSnapshot.objects.filter(customer_id__in=customer_ids, computed_at__gte=started_at).count()
            decisions = CreditDecision.objects.filter(customer_id__in=customer_ids, decided_at__gte=started_at).count()
        finally:
            if not keep:
                Transaction.objects.filter(external_id__startswith=f"bench-api-{tag}-").delete()
            ApiToken.objects.filter(client=client).delete()
            ApiClient.objects.filter(pk=client.pk).delete()
        per_batch.sort()
        rate = total / posted
        after = done - posted
        self.stdout.write("\n".join([
            "",
            f"Batch ingestion through /api/v1/transactions/batch/ (Django's WSGI handler, token auth, one client, sequential):",
            f"  {total:,} events in {posted:.2f} s = {rate:,.0f} events/s; per batch of {batch_size}: "
            f"p50 {per_batch[len(per_batch) // 2] * 1000:.0f} ms, max {per_batch[-1] * 1000:.0f} ms",
            f"  recomputes of all {len(customer_ids):,} customers done {after:.1f} s after the last batch "
            f"({done:.1f} s from the first); {snapshots:,} snapshots, {decisions:,} decisions written",
            f"Target: >= 10,000 events/s ({'met' if rate >= 10_000 else 'NOT met'}); "
            f"recomputes within 60 s of the last batch ({'met' if after <= 60 else 'NOT met'})",
        ]))

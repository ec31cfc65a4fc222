"""Two identical requests at once (PostgreSQL: real concurrent transactions)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import CustomerChangeMark, Transaction
from api.models import IdempotencyRecord
from decisions.models import ScoreSnapshot
from tests.factories import CustomerFactory

from .factories import api_client_with

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

AT = (timezone.now() - timedelta(minutes=1)).isoformat()


def _race(n: int, call) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i):
        try:
            barrier.wait()
            results[i] = call(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_identical_requests_with_one_key_write_once():
    CustomerFactory(external_id="C-1")
    _, auth = api_client_with()
    items = [{"customer": "C-1", "external_id": f"cc-{n}", "kind": "purchase", "amount": "1.00", "currency": "CNY", "occurred_at": AT}
             for n in range(200)]

    def call(i):
        response = Client().post("/api/v1/transactions/batch/", data={"items": items}, content_type="application/json",
                                 HTTP_IDEMPOTENCY_KEY="same", **auth)
        return response.status_code, response.json(), response.get("Idempotent-Replayed")

    results = _race(4, call)
    assert all(status == 200 for status, _, _ in results), results
    assert {str(body) for _, body, _ in results} == {str({"created": 200, "existing": 0, "customers": 1})}
    assert sum(1 for _, _, replayed in results if replayed == "true") == 3
    assert Transaction.objects.filter(external_id__startswith="cc-").count() == 200
    # one commit wrote, so one recompute ran (eager Celery here: at that commit)
    assert ScoreSnapshot.objects.filter(customer__external_id="C-1", trigger="transaction").count() == 1
    assert CustomerChangeMark.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 1


def test_concurrent_batches_sharing_new_ids_store_each_once():
    CustomerFactory(external_id="C-1")
    _, auth = api_client_with()

    def call(i):
        # overlapping halves: ids 0..149 and 50..199, no Idempotency-Key
        items = [{"customer": "C-1", "external_id": f"ov-{n}", "kind": "purchase", "amount": "1.00", "currency": "CNY",
                  "occurred_at": AT} for n in range(i * 50, i * 50 + 150)]
        response = Client().post("/api/v1/transactions/batch/", data={"items": items}, content_type="application/json", **auth)
        return response.status_code, response.json()

    results = _race(2, call)
    assert [status for status, _ in results] == [200, 200], results
    assert sum(body["created"] for _, body in results) == 200
    assert sum(body["existing"] for _, body in results) == 100
    assert Transaction.objects.filter(external_id__startswith="ov-").count() == 200

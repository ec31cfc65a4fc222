"""Idempotency-Key: replay, conflict, per-client scope, expiry, errors not stored."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import CustomerChangeMark, Transaction
from api.idempotency import idempotency_purge
from api.models import IdempotencyRecord
from tests.factories import CustomerFactory

from .factories import api_client_with

pytestmark = pytest.mark.django_db

AT = (timezone.now() - timedelta(minutes=1)).isoformat()


def body(n=1, amount="5.00"):
    return {"customer": "C-1", "external_id": f"i-{n}", "kind": "purchase", "amount": amount, "currency": "CNY", "occurred_at": AT}


@pytest.fixture(autouse=True)
def customer():
    return CustomerFactory(external_id="C-1")


def key(k):
    return {"HTTP_IDEMPOTENCY_KEY": k}


def test_same_key_same_body_replays_and_writes_nothing(post):
    first = post("/api/v1/transactions/", body(), headers=key("k-1"))
    assert first.status_code == 201
    Transaction.objects.all().delete()  # were the write run again, the row would come back
    CustomerChangeMark.objects.all().delete()
    second = post("/api/v1/transactions/", body(), headers=key("k-1"))
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Transaction.objects.count() == 0 and CustomerChangeMark.objects.count() == 0


def test_same_key_other_body_is_409_naming_the_header(post):
    post("/api/v1/transactions/", body(), headers=key("k-1"))
    response = post("/api/v1/transactions/", body(n=2), headers=key("k-1"))
    assert response.status_code == 409
    assert response.json()["field"] == "Idempotency-Key"
    assert not Transaction.objects.filter(external_id="i-2").exists()


def test_same_key_other_endpoint_is_409(post):
    post("/api/v1/transactions/", body(), headers=key("k-1"))
    response = post("/api/v1/transactions/batch/", {"items": [body()]}, headers=key("k-1"))
    assert response.status_code == 409


def test_keys_are_per_client(post):
    post("/api/v1/transactions/", body(), headers=key("shared"))
    _, other_auth = api_client_with()
    response = Client().post("/api/v1/transactions/", data=body(n=3), content_type="application/json", **other_auth, **key("shared"))
    assert response.status_code == 201
    assert Transaction.objects.filter(external_id="i-3").exists()


def test_errors_are_not_stored_so_a_fixed_retry_runs(post):
    bad = post("/api/v1/transactions/", body(amount="-1"), headers=key("k-2"))
    assert bad.status_code == 400
    assert IdempotencyRecord.objects.count() == 0
    # a different body under the same key is accepted: nothing was recorded for the failure
    assert post("/api/v1/transactions/", body(), headers=key("k-2")).status_code == 201


def test_malformed_key_is_400(post):
    response = post("/api/v1/transactions/", body(), headers=key("has space"))
    assert response.status_code == 400 and response.json()["field"] == "Idempotency-Key"
    response = post("/api/v1/transactions/", body(), headers=key("x" * 256))
    assert response.status_code == 400


def test_expired_key_is_a_new_request_and_purge_deletes_old_ones(post, settings):
    post("/api/v1/transactions/", body(), headers=key("k-3"))
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = post("/api/v1/transactions/", body(n=4), headers=key("k-3"))
    assert again.status_code == 201 and Transaction.objects.filter(external_id="i-4").exists()
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_purge() == 1
    assert IdempotencyRecord.objects.count() == 0


def test_replay_of_a_batch(post):
    items = {"items": [body(n) for n in range(3)]}
    first = post("/api/v1/transactions/batch/", items, headers=key("b-1"))
    second = post("/api/v1/transactions/batch/", items, headers=key("b-1"))
    assert first.json() == second.json() == {"created": 3, "existing": 0, "customers": 1}


def test_body_hash_ignores_key_order_and_number_form(post):
    raw1 = '{"customer":"C-1","external_id":"i-9","kind":"purchase","amount":"5.00","currency":"CNY","occurred_at":"%s"}' % AT
    raw2 = '{"occurred_at":"%s","currency":"CNY","amount":"5.00","kind":"purchase","external_id":"i-9","customer":"C-1"}' % AT
    assert post("/api/v1/transactions/", None, raw=raw1, headers=key("o-1")).status_code == 201
    assert post("/api/v1/transactions/", None, raw=raw2, headers=key("o-1"))["Idempotent-Replayed"] == "true"

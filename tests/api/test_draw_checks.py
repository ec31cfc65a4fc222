"""POST /api/v1/draw-checks/: answers, errors as JSON naming the field, scopes."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from draws.models import DrawCheck
from tests.factories import CreditLineFactory, RepaymentInstallmentFactory

from .factories import ApiClientFactory, bearer, token_for

pytestmark = pytest.mark.django_db
URL = "/api/v1/draw-checks/"


@pytest.fixture
def token():
    return token_for(ApiClientFactory(scopes=["draws:check"]))


def post(client, token, payload, raw=None):
    return client.post(URL, data=raw if raw is not None else json.dumps(payload), content_type="application/json", **bearer(token))


def test_route_is_under_v1():
    assert reverse("api:draw-check") == URL


def test_allow_with_available_and_check_id(client, token):
    line = CreditLineFactory(limit_amount=Decimal("500.00"))
    RepaymentInstallmentFactory(draw__customer=line.customer, amount_due=Decimal("200.00"))
    response = post(client, token, {"customer": line.customer.external_id, "amount": "99.90", "currency": "CNY", "channel": "app",
                                    "merchant_category": "5411", "device_id": "dev-1"})
    assert response.status_code == 200, response.content
    body = response.json()
    check = DrawCheck.objects.get()
    assert body == {"decision": "allow", "reasons": [], "available": "300.00", "check_id": check.pk}
    assert check.client_ref.startswith("system-")


def test_deny_names_its_reasons(client, token):
    line = CreditLineFactory(closed=True)
    body = post(client, token, {"customer": line.customer.external_id, "amount": 10, "currency": "CNY", "channel": "web"}).json()
    assert body["decision"] == "deny"
    assert body["reasons"] == [{"code": "ACCESS_CLOSED", "text": "The credit line is closed."}]
    assert body["available"] == "0.00"


@pytest.mark.parametrize(
    "raw, field",
    [
        ('{"customer": "C", "amount": "-1", "currency": "CNY", "channel": "app"}', "amount"),
        ('{"customer": "C", "amount": "ten", "currency": "CNY", "channel": "app"}', "amount"),
        ('{"customer": "C", "amount": "NaN", "currency": "CNY", "channel": "app"}', "amount"),
        ('{"customer": "C", "amount": "Infinity", "currency": "CNY", "channel": "app"}', "amount"),
        ('{"customer": "C", "amount": 1e400, "currency": "CNY", "channel": "app"}', "amount"),
        ('{"customer": "C", "amount": 12.345, "currency": "CNY", "channel": "app"}', "amount"),
        ('{"customer": "C", "amount": true, "currency": "CNY", "channel": "app"}', "amount"),
        ('{"customer": "C", "currency": "CNY", "channel": "app"}', "amount"),
        ('{"customer": "C", "amount": "1", "currency": "EUR", "channel": "app"}', "currency"),
        ('{"customer": "C", "amount": "1", "currency": "CNY"}', "channel"),
        ('[1, 2]', "body"),
    ],
)
def test_bad_fields_are_400_naming_the_field(client, token, raw, field):
    line = CreditLineFactory(customer__external_id="C")
    response = post(client, token, None, raw=raw)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert not DrawCheck.objects.exists() and line.pk


def test_nan_literal_and_malformed_json_are_400_not_500(client, token):
    for raw in ('{"customer": "C", "amount": NaN, "currency": "CNY", "channel": "app"}', '{"customer": '):
        response = post(client, token, None, raw=raw)
        assert response.status_code == 400, response.content
        assert set(response.json()) & {"code", "detail"}
    assert not DrawCheck.objects.exists()


def test_unknown_customer_is_404_naming_the_field(client, token):
    response = post(client, token, {"customer": "nobody", "amount": "1.00", "currency": "CNY", "channel": "app"})
    assert response.status_code == 404 and response.json()["field"] == "customer"
    assert not DrawCheck.objects.exists()


def test_a_client_without_draws_check_gets_403(client):
    line = CreditLineFactory()
    other = token_for(ApiClientFactory(scopes=["events:write", "decisions:read"]))
    response = post(client, other, {"customer": line.customer.external_id, "amount": "1.00", "currency": "CNY", "channel": "app"})
    assert response.status_code == 403
    assert not DrawCheck.objects.exists()


def test_no_token_is_401_and_staff_sessions_cannot_check(client, analyst):
    line = CreditLineFactory()
    payload = json.dumps({"customer": line.customer.external_id, "amount": "1.00", "currency": "CNY", "channel": "app"})
    assert client.post(URL, data=payload, content_type="application/json").status_code == 401
    client.force_login(analyst)
    assert client.post(URL, data=payload, content_type="application/json").status_code == 403
    assert not DrawCheck.objects.exists()


def test_a_retry_with_the_same_idempotency_key_is_answered_once_and_recorded_once(client, token):
    line = CreditLineFactory(limit_amount=Decimal("500.00"))
    payload = {"customer": line.customer.external_id, "amount": "100.00", "currency": "CNY", "channel": "app"}
    first = client.post(URL, data=json.dumps(payload), content_type="application/json", HTTP_IDEMPOTENCY_KEY="chk-1", **bearer(token))
    again = client.post(URL, data=json.dumps(payload), content_type="application/json", HTTP_IDEMPOTENCY_KEY="chk-1", **bearer(token))
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert DrawCheck.objects.count() == 1  # not counted twice towards velocity
    other = dict(payload, amount="101.00")
    conflict = client.post(URL, data=json.dumps(other), content_type="application/json", HTTP_IDEMPOTENCY_KEY="chk-1", **bearer(token))
    assert conflict.status_code == 409 and conflict.json()["field"] == "Idempotency-Key"
    assert DrawCheck.objects.count() == 1

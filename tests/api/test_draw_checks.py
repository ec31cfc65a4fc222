"""POST /api/v1/draw-checks/: answers, errors as JSON naming the field, scopes."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from hypothesis import given, settings as hsettings, strategies as st

from draws.api_views import DrawCheckView, draw_check_payload
from draws.models import DrawCheck, DrawDecision
from draws.services import REASON_TEXTS
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
    assert body == {"decision": "allow", "reasons": [], "available": "300.00", "held": "0.00", "check_id": check.pk}
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
        ('{"customer": "C", "amount": "1", "currency": "cny", "channel": "app"}', "currency"),  # as ingestion: exact
        ('{"customer": "C", "amount": "1", "currency": "CNY", "channel": "app", "note": "x"}', "note"),  # unknown field
        ('{"customer": "C", "amount": "1", "currency": "CNY", "chanel": "app"}', "chanel"),  # misspelt: unknown first
        ('{"amount": "1", "currency": "CNY", "channel": "app"}', "customer"),
        ('{}', "body"),
        ('', "body"),
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


def test_successive_checks_hold_the_available_amount(client, token):
    # given 3,200 available
    line = CreditLineFactory(limit_amount=Decimal("3200.00"))
    payload = {"customer": line.customer.external_id, "amount": "3000.00", "currency": "CNY", "channel": "app"}
    # when four checks of 3,000 arrive before any draw is posted
    answers = [post(client, token, payload).json() for _ in range(4)]
    # then the first is allowed; the next see its hold and are denied as over the available amount
    assert [(a["decision"], a["available"], a["held"]) for a in answers] == (
        [("allow", "3200.00", "0.00")] + [("deny", "200.00", "3000.00")] * 3
    )
    assert answers[1]["reasons"] == [{
        "code": "OVER_AVAILABLE", "text": "The amount is more than the available limit (after holds for draws allowed but not yet posted).",
    }]


def test_an_unknown_field_error_says_what_is_wrong(client, token):
    line = CreditLineFactory()
    response = post(client, token, {"customer": line.customer.external_id, "amount": "1.00", "currency": "CNY", "channel": "app",
                                    "merchant": "5411"})
    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "message": "is not a field of this request", "field": "merchant"}


def test_schema_lists_the_errors_the_endpoint_returns(client, analyst):
    client.force_login(analyst)  # the schema is for staff and service clients
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"][URL]["post"]
    assert set(operation["responses"]) == {"200", "400", "401", "403", "404", "409", "413", "415", "429"}
    for code in ("400", "401", "403", "404", "409", "413", "415", "429"):
        ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/ApiError"  # the shape every endpoint's errors share
    out = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert {"decision", "reasons", "available", "held", "check_id"} <= set(schema["components"]["schemas"][out]["properties"])


@hsettings(max_examples=50, deadline=None)
@given(
    decision=st.sampled_from(DrawDecision.values),
    codes=st.lists(st.sampled_from(sorted(REASON_TEXTS)), unique=True, max_size=4),
    available=st.decimals(min_value="0", max_value="999999999999.99", places=2),
    held=st.decimals(min_value="0", max_value="999999999999.99", places=2),
    pk=st.integers(min_value=1, max_value=2**62),
)
def test_the_hand_built_answer_is_exactly_what_the_schemas_serializer_renders(decision, codes, available, held, pk):
    # The view builds its answer without the serializer (draws/api_views.py says why); the
    # schema describes it with the serializer: both must say the same, field for field.
    check = DrawCheck(pk=pk, decision=decision, reasons=[{"code": c, "text": REASON_TEXTS[c]} for c in codes],
                      available=available, held=held)
    assert draw_check_payload(check) == DrawCheckView.DrawCheckOutSerializer(check).data

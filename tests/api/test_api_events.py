"""Single-event ingestion through /api/v1/: each endpoint, each error, nothing written on error."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import BureauReport, CreditApplication, CustomerChangeMark, Transaction
from tests.factories import CustomerFactory, RepaymentInstallmentFactory, TransactionFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/transactions/"


def iso(dt):
    return dt.isoformat()


@pytest.fixture
def customer():
    return CustomerFactory(external_id="C-1")


AT = timezone.now() - timedelta(minutes=1)  # one fixed time: a resend must be identical


def txn(**over):
    body = {
        "customer": "C-1", "external_id": "t-1", "kind": "purchase", "amount": "12.50", "currency": "CNY",
        "occurred_at": iso(AT), "merchant_category": "groceries",
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not ...}


def test_transaction_is_stored_and_asks_for_a_recompute(post, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(URL, txn())
    assert response.status_code == 201, response.content
    body = response.json()
    row = Transaction.objects.get(external_id="t-1")
    assert body == {"id": row.pk, "external_id": "t-1", "customer": "C-1"}
    assert row.amount == Decimal("12.50") and row.customer == customer
    assert CustomerChangeMark.objects.filter(customer=customer, trigger="transaction").count() == 1
    assert len(callbacks) == 1  # the recompute, enqueued on commit


def test_json_number_amount_is_exact(post, customer):
    response = post(URL, None, raw='{"customer":"C-1","external_id":"t-2","kind":"purchase","amount":12.10,"currency":"CNY",'
                    f'"occurred_at":"{iso(timezone.now())}"}}')
    assert response.status_code == 201
    assert Transaction.objects.get(external_id="t-2").amount == Decimal("12.10")


def test_same_event_twice_is_stored_once(post, customer):
    assert post(URL, txn()).status_code == 201
    assert post(URL, txn()).status_code == 201
    assert Transaction.objects.filter(external_id="t-1").count() == 1
    assert CustomerChangeMark.objects.count() == 1


def test_same_external_id_other_content_is_409_naming_field(post, customer):
    post(URL, txn())
    response = post(URL, txn(amount="13.00"))
    assert response.status_code == 409
    assert response.json()["field"] == "amount"


ERRORS = [
    # (body change, status, field)
    ({"amount": "-1.00"}, 400, "amount"),
    ({"amount": "0"}, 400, "amount"),
    ({"amount": "12.345"}, 400, "amount"),
    ({"amount": "abc"}, 400, "amount"),
    ({"amount": "1e3"}, 400, "amount"),
    ({"amount": True}, 400, "amount"),
    ({"amount": ...}, 400, "amount"),
    ({"currency": "USD"}, 400, "currency"),
    ({"currency": ...}, 400, "currency"),
    ({"occurred_at": "yesterday"}, 400, "occurred_at"),
    ({"occurred_at": "2026-01-01T10:00:00"}, 400, "occurred_at"),  # no timezone
    ({"occurred_at": "2026-13-45T10:00:00Z"}, 400, "occurred_at"),
    ({"kind": "repayment"}, 400, "kind"),
    ({"kind": "gift"}, 400, "kind"),
    ({"external_id": ""}, 400, "external_id"),
    ({"external_id": "x" * 41}, 400, "external_id"),
    ({"merchant_category": "a\u0000b"}, 400, "merchant_category"),
    ({"surprise": 1}, 400, "surprise"),
    ({"customer": "nobody"}, 404, "customer"),
    ({"customer": 17}, 400, "customer"),
    ({"customer": "C-\u0000"}, 404, "customer"),
    ({"customer": "C" * 500}, 404, "customer"),
]


@pytest.mark.parametrize("change,status,field", ERRORS)
def test_bad_transaction_names_the_field_and_writes_nothing(post, customer, change, status, field):
    response = post(URL, txn(**change))
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["field"] == field
    assert Transaction.objects.count() == 0
    assert CustomerChangeMark.objects.count() == 0


def test_future_timestamp_beyond_tolerance_is_400(post, customer):
    assert post(URL, txn(occurred_at=iso(timezone.now() + timedelta(minutes=3)))).status_code == 201
    response = post(URL, txn(external_id="t-9", occurred_at=iso(timezone.now() + timedelta(minutes=10))))
    assert response.status_code == 400 and response.json()["field"] == "occurred_at"


@pytest.mark.parametrize("raw", ['{"amount": NaN}', '{"amount": Infinity}', '{"amount": -Infinity}', "{nope", "[1,", ""])
def test_malformed_json_and_nan_are_400(post, customer, raw):
    response = post(URL, None, raw=raw)
    assert response.status_code == 400
    assert response.json()["field"] in ("body", "customer")
    assert Transaction.objects.count() == 0


def test_nan_inside_a_valid_body_is_400_naming_body(post, customer):
    raw = json.dumps(txn()).replace('"12.50"', "NaN")
    response = post(URL, None, raw=raw)
    assert response.status_code == 400 and response.json()["field"] == "body"


def test_body_not_an_object_is_400(post, customer):
    response = post(URL, [1, 2])
    assert response.status_code == 400 and response.json()["field"] == "body"


def test_oversize_body_is_json_413(post, customer, settings):
    settings.API_MAX_BODY_BYTES = 1000
    response = post(URL, txn(merchant_category="x" * 2000))
    assert response.status_code == 413
    assert response.json()["field"] == "body"
    assert Transaction.objects.count() == 0


def test_wrong_content_type_is_415(service, customer):
    http, auth, _ = service
    response = http.post(URL, data="a=1", content_type="application/x-www-form-urlencoded", **auth)
    assert response.status_code == 415
    assert response.json()["field"] == "Content-Type"


def test_get_on_a_write_endpoint_is_405_json(get, customer):
    response = get(URL)
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


def test_repayment_applies_to_the_installment(post):
    draw = TransactionFactory(credit_draw=True, external_id="d-1", customer=CustomerFactory(external_id="C-2"),
                              occurred_at=timezone.now() - timedelta(days=10))
    RepaymentInstallmentFactory(draw=draw, sequence=1, amount_due=Decimal("100.00"))
    body = {"draw": "d-1", "sequence": 1, "external_id": "r-1", "amount": "40.00", "currency": "CNY",
            "paid_at": iso(timezone.now())}
    response = post("/api/v1/repayments/", body)
    assert response.status_code == 201, response.content
    assert response.json()["amount_paid"] == "40.00" and response.json()["customer"] == "C-2"
    over = post("/api/v1/repayments/", {**body, "external_id": "r-2", "amount": "70.00"})
    assert over.status_code == 400 and over.json()["field"] == "amount"
    for change, field in [({"draw": "d\u0000"}, "draw"), ({"sequence": "1"}, "sequence"), ({"sequence": 0}, "sequence")]:
        bad = post("/api/v1/repayments/", {**body, "external_id": "r-4", **change})
        assert bad.status_code == 400 and bad.json()["field"] == field, change
    missing = post("/api/v1/repayments/", {**body, "external_id": "r-3", "sequence": 2})
    assert missing.status_code == 404 and missing.json()["field"] == "draw"
    assert Transaction.objects.filter(kind="repayment").count() == 1


def test_credit_application(post, customer):
    body = {"customer": "C-1", "external_id": "a-1", "requested_amount": "300.00", "currency": "CNY",
            "applied_at": iso(timezone.now()), "channel": "web"}
    assert post("/api/v1/credit-applications/", body).status_code == 201
    assert CreditApplication.objects.get(external_id="a-1").channel == "web"
    bad = post("/api/v1/credit-applications/", {**body, "external_id": "a-2", "channel": "fax"})
    assert bad.status_code == 400 and bad.json()["field"] == "channel"


def _nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def test_bureau_report(post, customer):
    body = {"customer": "C-1", "external_id": "b-1", "score": 700, "external_lenders": 2, "external_debt": "0",
            "currency": "CNY", "reported_at": iso(timezone.now()), "raw": {"ref": "x"}}
    assert post("/api/v1/bureau-reports/", body).status_code == 201
    assert BureauReport.objects.get(external_id="b-1").raw == {"ref": "x"}
    for change, field in [({"score": 1000}, "score"), ({"score": "700"}, "score"), ({"external_debt": "-5"}, "external_debt"),
                          ({"raw": [1]}, "raw"), ({"raw": _nested(34)}, "raw"), ({"raw": _nested(900)}, "body"),
                          ({"reported_at": "0001-01-01T00:00:00+14:00"}, "reported_at")]:
        bad = post("/api/v1/bureau-reports/", {**body, "external_id": "b-2", **change})
        assert bad.status_code == 400 and bad.json()["field"] == field, (change, bad.content)
    assert BureauReport.objects.count() == 1

"""Single-event ingestion through /api/v1/: each endpoint, each error, nothing written on error."""

import json
from datetime import timedelta, timezone as dt_timezone
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import BureauReport, CreditApplication, CustomerChangeMark, RepaymentInstallment, Transaction
from draws.models import DrawCheck
from tests.factories import CreditLineFactory, CustomerFactory, RepaymentInstallmentFactory, TransactionFactory

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


# --- a credit draw carries its repayment schedule -------------------------------------------

DRAWN_ON = AT.astimezone(dt_timezone.utc).date()


def schedule(n=3, amount="110.00", first=30):
    return [{"due_on": (DRAWN_ON + timedelta(days=first + 30 * k)).isoformat(), "amount_due": amount} for k in range(n)]


def draw(**over):
    return txn(**{"external_id": "d-1", "kind": "credit_draw", "amount": "300.00", "merchant_category": ..., "installments": schedule(),
                  **over})


def with_item(index, drop=None, **fields):
    items = schedule()
    items[index] = {**items[index], **fields}
    if drop:
        del items[index][drop]
    return items


def test_credit_draw_with_its_schedule_is_201_with_the_installments(post, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(URL, draw())
    assert response.status_code == 201, response.content
    row = Transaction.objects.get(external_id="d-1")
    stored = list(RepaymentInstallment.objects.filter(draw=row).order_by("sequence"))
    assert response.json() == {
        "id": row.pk, "external_id": "d-1", "customer": "C-1",
        "installments": [
            {"id": i.pk, "sequence": n, "due_on": (DRAWN_ON + timedelta(days=30 * n)).isoformat(), "amount_due": "110.00"}
            for n, i in enumerate(stored, start=1)
        ],
    }
    assert all(i.customer == customer and i.amount_paid == 0 and i.paid_at is None for i in stored)
    assert CustomerChangeMark.objects.filter(customer=customer).count() == 1 and len(callbacks) == 1


def test_installment_amounts_as_json_numbers_are_exact(post, customer):
    one = schedule(1, amount="NUMBER")
    response = post(URL, None, raw=json.dumps(draw(installments=one)).replace('"NUMBER"', "300.10"))  # a JSON number, not a string
    assert response.status_code == 201, response.content
    assert response.json()["installments"][0]["amount_due"] == "300.10"
    assert RepaymentInstallment.objects.get().amount_due == Decimal("300.10")


def test_credit_draw_resend_is_idempotent_and_another_schedule_is_409(post, customer):
    first = post(URL, draw())
    again = post(URL, draw(installments=schedule(amount="110")))  # the same amounts, another scale
    assert again.status_code == 201 and again.json() == first.json()
    other = post(URL, draw(installments=schedule(amount="120.00")))
    assert other.status_code == 409, other.content
    assert other.json()["field"] == "installments"
    assert RepaymentInstallment.objects.count() == 3 and CustomerChangeMark.objects.count() == 1


DRAW_ERRORS = [
    # (body change, status, field)
    ({"installments": ...}, 400, "installments"),
    ({"installments": None}, 400, "installments"),
    ({"installments": []}, 400, "installments"),
    ({"installments": "monthly"}, 400, "installments"),
    ({"installments": {"due_on": "2030-01-01", "amount_due": "300.00"}}, 400, "installments"),
    ({"installments": schedule(61, "5.00")}, 400, "installments"),
    ({"installments": [5, *schedule()]}, 400, "installments[0]"),
    ({"installments": with_item(0, due_on="2031-02-30")}, 400, "installments[0].due_on"),
    ({"installments": with_item(1, due_on="next month")}, 400, "installments[1].due_on"),
    ({"installments": with_item(0, due_on=20300101)}, 400, "installments[0].due_on"),
    ({"installments": with_item(0, due_on=None)}, 400, "installments[0].due_on"),
    ({"installments": with_item(0, due_on="2030-01-01T00:00:00Z")}, 400, "installments[0].due_on"),
    ({"installments": with_item(0, due_on="2030-1-1")}, 400, "installments[0].due_on"),
    ({"installments": with_item(0, due_on=DRAWN_ON.isoformat())}, 400, "installments[0].due_on"),
    ({"installments": with_item(2, due_on=(DRAWN_ON + timedelta(days=60)).isoformat())}, 400, "installments[2].due_on"),
    ({"installments": with_item(0, drop="due_on")}, 400, "installments[0].due_on"),
    ({"installments": with_item(1, amount_due="1.999")}, 400, "installments[1].amount_due"),
    ({"installments": with_item(0, amount_due="-5")}, 400, "installments[0].amount_due"),
    ({"installments": with_item(0, amount_due=True)}, 400, "installments[0].amount_due"),
    ({"installments": with_item(0, amount_due="1e3")}, 400, "installments[0].amount_due"),
    ({"installments": with_item(2, drop="amount_due")}, 400, "installments[2].amount_due"),
    ({"installments": with_item(0, sequence=1)}, 400, "installments[0].sequence"),
    ({"installments": schedule(3, "99.99")}, 400, "installments"),  # 299.97 repays less than 300.00
    ({"amount": "330.01"}, 400, "installments"),
    ({"kind": "purchase"}, 400, "installments"),  # only a draw carries a schedule
    ({"kind": "purchase", "installments": None}, 400, "installments"),  # and null is not "none"
    ({"kind": "purchase", "installments": []}, 400, "installments"),
    ({"installments": ..., "amount": "abc"}, 400, "amount"),
]


@pytest.mark.parametrize("change,status,field", DRAW_ERRORS)
def test_bad_credit_draw_names_the_field_and_writes_nothing(post, customer, change, status, field):
    response = post(URL, draw(**change))
    assert response.status_code == status, response.content
    assert response.json()["field"] == field, response.json()
    assert Transaction.objects.count() == RepaymentInstallment.objects.count() == CustomerChangeMark.objects.count() == 0


def test_a_posted_draw_lowers_what_the_draw_check_allows_and_its_installments_take_repayments(post, get, customer):
    # given an open line of 500.00 with nothing drawn: a check for 200.00 is allowed
    CreditLineFactory(customer=customer, limit_amount=Decimal("500.00"))
    check = {"customer": "C-1", "amount": "200.00", "currency": "CNY", "channel": "app"}
    before = post("/api/v1/draw-checks/", check)
    assert before.status_code == 200, before.content
    assert (before.json()["decision"], before.json()["available"]) == ("allow", "500.00")

    # when the loan system posts the draw of 300.00 with its schedule of 3 × 110.00
    assert post(URL, draw()).status_code == 201

    # then the draw counts as drawn at its schedule's total: 500 − 330 = 170 left (the draw also
    # released the allowed check's hold), so the same check is now denied
    after = post("/api/v1/draw-checks/", check)
    assert after.status_code == 200, after.content
    assert after.json()["decision"] == "deny" and after.json()["available"] == "170.00" and after.json()["held"] == "0.00"
    assert [r["code"] for r in after.json()["reasons"]] == ["OVER_AVAILABLE"]
    assert DrawCheck.objects.count() == 2
    decision = get("/api/v1/customers/C-1/decision").json()
    assert (decision["drawn"], decision["available"]) == ("330.00", "170.00")

    # and installment 1 takes a repayment through the API, which gives back what it repays
    paid = post("/api/v1/repayments/", {"draw": "d-1", "sequence": 1, "external_id": "r-1", "amount": "110.00", "currency": "CNY",
                                         "paid_at": iso(timezone.now())})
    assert paid.status_code == 201, paid.content
    assert paid.json()["amount_paid"] == "110.00" and paid.json()["paid_at"] is not None
    assert get("/api/v1/customers/C-1/decision").json()["drawn"] == "220.00"

"""Batch ingestion: all or nothing, the first bad item named by index and field, idempotent by
external id, one change mark and one recompute per distinct customer."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from accounts.events_bulk import MAX_BATCH, transactions_record_bulk
from accounts.models import BureauReport, CreditApplication, CustomerChangeMark, RepaymentInstallment, Transaction
from decisions.models import ScoreSnapshot
from riskops.core.exceptions import Conflict, NotFound, ValidationFailed
from tests.factories import CustomerFactory, RepaymentInstallmentFactory, TransactionFactory

pytestmark = pytest.mark.django_db

AT = timezone.now() - timedelta(minutes=2)


def item(n, customer="C-1", **over):
    body = {"customer": customer, "external_id": f"bt-{n}", "kind": "purchase", "amount": "5.00", "currency": "CNY",
            "occurred_at": AT.isoformat()}
    body.update(over)
    return body


@pytest.fixture
def customers():
    return [CustomerFactory(external_id=f"C-{i}") for i in (1, 2, 3)]


def test_batch_stores_all_and_marks_each_customer_once(post, customers, django_capture_on_commit_callbacks):
    items = [item(n, customer=f"C-{1 + n % 3}") for n in range(30)]
    with django_capture_on_commit_callbacks() as callbacks:
        response = post("/api/v1/transactions/batch/", {"items": items})
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 30, "existing": 0, "customers": 3}
    assert Transaction.objects.count() == 30
    assert sorted(CustomerChangeMark.objects.values_list("customer__external_id", flat=True)) == ["C-1", "C-2", "C-3"]
    assert len(callbacks) == 1  # one message for the three customers (up to 250 per message)
    callbacks[0]()  # eager Celery: the recompute runs here
    assert CustomerChangeMark.objects.count() == 0  # each customer recomputed (the recompute clears its marks)
    assert ScoreSnapshot.objects.filter(trigger="transaction").values("customer").distinct().count() == 3


def test_recompute_messages_hold_at_most_250_customers(post, django_capture_on_commit_callbacks):
    for n in range(600):
        CustomerFactory(external_id=f"M-{n}")
    items = [item(n, customer=f"M-{n}") for n in range(600)]
    with django_capture_on_commit_callbacks() as callbacks:
        assert post("/api/v1/transactions/batch/", {"items": items}).json()["customers"] == 600
    assert len(callbacks) == 3


def test_recompute_skips_customers_already_recomputed(customers):
    from api.tasks import recompute_customers

    transactions_record_bulk(items=[{"customer": "C-1", "external_id": "s-1", "kind": "purchase", "amount": "1", "occurred_at": AT}],
                             enqueue=lambda ids, trigger: None)
    assert recompute_customers(customer_ids=[customers[0].pk, customers[1].pk], trigger="transaction") == 1  # C-2 has no mark
    assert recompute_customers(customer_ids=[customers[0].pk], trigger="transaction") == 0  # done already


def test_first_bad_item_is_named_and_nothing_is_written(post, customers):
    items = [item(n) for n in range(10)]
    items[4]["amount"] = "-3"
    items[7]["amount"] = "x"
    response = post("/api/v1/transactions/batch/", {"items": items})
    assert response.status_code == 400
    assert response.json()["field"] == "items[4].amount" and response.json()["index"] == 4
    assert Transaction.objects.count() == 0 and CustomerChangeMark.objects.count() == 0


@pytest.mark.parametrize(
    "change,status,field",
    [
        ({"customer": "nobody"}, 404, "items[2].customer"),
        ({"customer": "C-\u0000"}, 404, "items[2].customer"),
        ({"currency": "EUR"}, 400, "items[2].currency"),
        ({"occurred_at": "not a time"}, 400, "items[2].occurred_at"),
        ({"occurred_at": (timezone.now() + timedelta(hours=1)).isoformat()}, 400, "items[2].occurred_at"),
        ({"kind": "repayment"}, 400, "items[2].kind"),
        ({"kind": "credit_draw"}, 400, "items[2].kind"),
        ({"extra": 1}, 400, "items[2].extra"),
    ],
)
def test_each_item_error(post, customers, change, status, field):
    items = [item(n) for n in range(5)]
    items[2].update(change)
    response = post("/api/v1/transactions/batch/", {"items": items})
    assert response.status_code == status, response.content
    assert response.json()["field"] == field
    assert Transaction.objects.count() == 0


def test_item_not_an_object(post, customers):
    response = post("/api/v1/transactions/batch/", {"items": [item(0), 3]})
    assert response.status_code == 400 and response.json()["field"] == "items[1]"


def test_batch_over_limit_is_413(post, customers):
    response = post("/api/v1/transactions/batch/", {"items": [item(n) for n in range(MAX_BATCH + 1)]})
    assert response.status_code == 413
    assert response.json()["field"] == "items"
    assert Transaction.objects.count() == 0


def test_full_batch_of_1000_is_accepted(post, customers):
    response = post("/api/v1/transactions/batch/", {"items": [item(n, customer=f"C-{1 + n % 3}") for n in range(MAX_BATCH)]})
    assert response.status_code == 200 and response.json()["created"] == MAX_BATCH


def test_empty_or_missing_items(post, customers):
    assert post("/api/v1/transactions/batch/", {"items": []}).json()["field"] == "items"
    assert post("/api/v1/transactions/batch/", {}).json()["field"] == "items"
    assert post("/api/v1/transactions/batch/", {"items": {}}).status_code == 400


def test_resent_batch_is_idempotent_and_changed_item_conflicts(post, customers):
    items = [item(n) for n in range(5)]
    assert post("/api/v1/transactions/batch/", {"items": items}).json()["created"] == 5
    again = post("/api/v1/transactions/batch/", {"items": items + [item(9)]})
    assert again.json() == {"created": 1, "existing": 5, "customers": 1}
    items[3]["amount"] = "6.00"
    conflict = post("/api/v1/transactions/batch/", {"items": items + [item(10)]})
    assert conflict.status_code == 409 and conflict.json()["field"] == "items[3].amount"
    assert not Transaction.objects.filter(external_id="bt-10").exists()


def test_same_id_twice_in_one_batch(post, customers):
    same = post("/api/v1/transactions/batch/", {"items": [item(1), item(1)]})
    assert same.json() == {"created": 1, "existing": 1, "customers": 1}
    differs = post("/api/v1/transactions/batch/", {"items": [item(2), item(2, amount="9.00")]})
    assert differs.status_code == 409 and differs.json()["field"] == "items[1].amount"


def test_bulk_service_matches_single_service_checks(customers):
    """The bulk path refuses what transaction_record refuses, naming the same field."""
    with pytest.raises(ValidationFailed) as exc:
        transactions_record_bulk(items=[{"customer": "C-1", "external_id": "x", "kind": "purchase", "amount": Decimal("1.001"),
                                          "occurred_at": AT}])
    assert exc.value.field == "items[0].amount" and exc.value.context["index"] == 0
    with pytest.raises(NotFound):
        transactions_record_bulk(items=[{"customer": "zz", "external_id": "x", "kind": "purchase", "amount": "1", "occurred_at": AT}])
    old = customers[0].onboarded_at - timedelta(days=400)
    with pytest.raises(ValidationFailed) as exc:
        transactions_record_bulk(items=[{"customer": "C-1", "external_id": "x", "kind": "purchase", "amount": "1", "occurred_at": old}])
    assert exc.value.field == "items[0].occurred_at"


def test_single_then_bulk_share_idempotency(post, customers):
    assert post("/api/v1/transactions/", item(1)).status_code == 201
    again = post("/api/v1/transactions/batch/", {"items": [item(1)]})
    assert again.json()["existing"] == 1
    assert post("/api/v1/transactions/batch/", {"items": [item(1, kind="bill")]}).status_code == 409


def test_application_and_bureau_batches(post, customers):
    apps = [{"customer": "C-1", "external_id": f"a-{n}", "requested_amount": "100", "currency": "CNY",
             "applied_at": AT.isoformat()} for n in range(3)]
    assert post("/api/v1/credit-applications/batch/", {"items": apps}).json()["created"] == 3
    reports = [{"customer": "C-2", "external_id": f"b-{n}", "score": 650, "external_lenders": 1, "external_debt": "10.00",
                "currency": "CNY", "reported_at": AT.isoformat(), "raw": {"n": n}} for n in range(3)]
    assert post("/api/v1/bureau-reports/batch/", {"items": reports}).json()["created"] == 3
    assert CreditApplication.objects.count() == 3 and BureauReport.objects.get(external_id="b-2").raw == {"n": 2}
    reports[1]["score"] = 200
    bad = post("/api/v1/bureau-reports/batch/", {"items": [{**r, "external_id": r["external_id"] + "x"} for r in reports]})
    assert bad.status_code == 400 and bad.json()["field"] == "items[1].score"
    assert BureauReport.objects.count() == 3


def test_repayment_batch_applies_in_order_and_refuses_overpayment(post, customers):
    draw = TransactionFactory(credit_draw=True, external_id="d-1", customer=customers[0], occurred_at=timezone.now() - timedelta(days=5))
    inst = RepaymentInstallmentFactory(draw=draw, sequence=1, amount_due=Decimal("100.00"))
    pay = lambda n, amount: {"draw": "d-1", "sequence": 1, "external_id": f"r-{n}", "amount": amount, "currency": "CNY",  # noqa: E731
                             "paid_at": AT.isoformat()}
    ok = post("/api/v1/repayments/batch/", {"items": [pay(1, "60.00"), pay(2, "40.00")]})
    assert ok.status_code == 200 and ok.json()["created"] == 2
    inst.refresh_from_db()
    assert inst.amount_paid == Decimal("100.00") and inst.paid_at is not None
    resend = post("/api/v1/repayments/batch/", {"items": [pay(1, "60.00")]})
    assert resend.json() == {"created": 0, "existing": 1, "customers": 0}
    inst2 = RepaymentInstallmentFactory(draw=draw, sequence=2, amount_due=Decimal("50.00"))
    over = post("/api/v1/repayments/batch/", {"items": [{**pay(3, "30.00"), "sequence": 2}, {**pay(4, "30.00"), "sequence": 2}]})
    assert over.status_code == 400 and over.json()["field"] == "items[1].amount"
    inst2.refresh_from_db()
    assert inst2.amount_paid == 0
    assert not Transaction.objects.filter(external_id__in=["r-3", "r-4"]).exists()
    missing = post("/api/v1/repayments/batch/", {"items": [{**pay(5, "1.00"), "draw": "nope"}]})
    assert missing.status_code == 404 and missing.json()["field"] == "items[0].draw"


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad_at=st.integers(min_value=0, max_value=19), amounts=st.lists(st.sampled_from(["1.00", "2.50", "99.99"]), min_size=20, max_size=20))
def test_any_bad_item_rolls_back_the_whole_batch(customers, bad_at, amounts):
    """Invariant: whichever item is bad, nothing of the batch is stored and the error names it."""
    Transaction.objects.all().delete()
    items = [{"customer": "C-1", "external_id": f"h-{n}", "kind": "purchase", "amount": a, "occurred_at": AT} for n, a in enumerate(amounts)]
    items[bad_at]["amount"] = "-1"
    with pytest.raises(ValidationFailed) as exc:
        transactions_record_bulk(items=items)
    assert exc.value.context["index"] == bad_at
    assert Transaction.objects.count() == 0
    assert transactions_record_bulk(items=items[:bad_at] + items[bad_at + 1:]).created == 19


MISSING = object()  # the item has no `customer` key at all
BATCH_KINDS = {
    "transactions": lambda n: item(n),
    "credit-applications": lambda n: {"customer": "C-1", "external_id": f"a-{n}", "requested_amount": "100", "currency": "CNY",
                                      "applied_at": AT.isoformat()},
    "bureau-reports": lambda n: {"customer": "C-1", "external_id": f"b-{n}", "score": 650, "external_lenders": 1,
                                 "external_debt": "10.00", "currency": "CNY", "reported_at": AT.isoformat()},
}


@pytest.mark.parametrize("kind", sorted(BATCH_KINDS))
@pytest.mark.parametrize(
    "customer,status,message",
    [
        (MISSING, 400, "is required"),
        (None, 400, "must be a customer id (a string)"),
        (17, 400, "must be a customer id (a string)"),
        ("", 400, "must be a customer id (a string)"),
        (["C-1"], 400, "must be a customer id (a string)"),
        ({"id": "C-1"}, 400, "must be a customer id (a string)"),
        ("nobody", 404, "no customer 'nobody'"),
    ],
)
def test_batch_item_customer_is_judged_as_the_single_event_judges_it(post, customers, kind, customer, status, message):
    # given a batch whose third item has a missing, non-string or unknown customer
    make = BATCH_KINDS[kind]
    items = [make(n) for n in range(5)]
    if customer is MISSING:
        del items[2]["customer"]
    else:
        items[2]["customer"] = customer
    single = {k: v for k, v in items[2].items()}
    # when it is sent, as a batch and as the single event
    batch = post(f"/api/v1/{kind}/batch/", {"items": items})
    one = post(f"/api/v1/{kind}/", single)
    # then both answer alike, the batch naming the item, and nothing is written
    assert batch.status_code == one.status_code == status, batch.content
    assert batch.json() == {"code": one.json()["code"], "message": message, "field": "items[2].customer", "index": 2}
    assert one.json()["field"] == "customer" and one.json()["message"] == message
    assert Transaction.objects.count() == CreditApplication.objects.count() == BureauReport.objects.count() == 0
    assert CustomerChangeMark.objects.count() == 0


def test_bulk_service_refuses_an_item_without_a_customer_string(customers):
    base = {"external_id": "x", "kind": "purchase", "amount": "1", "occurred_at": AT}
    with pytest.raises(ValidationFailed) as exc:
        transactions_record_bulk(items=[{**base, "customer": "C-1", "external_id": "ok"}, base])
    assert exc.value.field == "items[1].customer" and exc.value.context["index"] == 1
    with pytest.raises(ValidationFailed) as exc:
        transactions_record_bulk(items=[{**base, "customer": None}])
    assert exc.value.field == "items[0].customer" and not isinstance(exc.value, NotFound)
    assert Transaction.objects.count() == 0


@pytest.mark.parametrize("with_schedule", [False, True], ids=["bare", "with-installments"])
def test_a_credit_draw_in_a_batch_is_refused_pointing_to_the_single_endpoint(post, customers, with_schedule):
    # given a batch whose fourth item is a credit draw (with or without a schedule along)
    items = [item(n) for n in range(5)]
    items[3].update(kind="credit_draw", amount="300.00")
    if with_schedule:
        due = (AT + timedelta(days=30)).date().isoformat()
        items[3]["installments"] = [{"due_on": due, "amount_due": "330.00"}]
    # when it is sent / then 400 on the item's kind, saying where draws go, and nothing is written
    response = post("/api/v1/transactions/batch/", {"items": items})
    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["field"], body["index"]) == ("items[3].kind", 3)
    assert "POST /api/v1/transactions/" in body["message"] and "installments" in body["message"]
    assert Transaction.objects.count() == RepaymentInstallment.objects.count() == CustomerChangeMark.objects.count() == 0


def test_the_bulk_service_refuses_a_credit_draw_and_a_resend_of_one(customers):
    # even the identical resend of a draw posted singly: batches carry no draws at all
    from accounts.events import transaction_record

    transaction_record(customer=customers[0], external_id="d-1", kind="credit_draw", amount=Decimal("300.00"), occurred_at=AT,
                       installments=[{"due_on": (AT + timedelta(days=30)).date(), "amount_due": Decimal("300.00")}])
    with pytest.raises(ValidationFailed) as exc:
        transactions_record_bulk(items=[
            {"customer": "C-1", "external_id": "p-1", "kind": "purchase", "amount": "1", "occurred_at": AT},
            {"customer": "C-1", "external_id": "d-1", "kind": "credit_draw", "amount": "300.00", "occurred_at": AT},
        ])
    assert exc.value.field == "items[1].kind" and exc.value.context["index"] == 1
    assert list(Transaction.objects.values_list("external_id", flat=True)) == ["d-1"]

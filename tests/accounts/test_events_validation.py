"""Bad input to the ingestion services is a clear error naming the field, and writes nothing.

One table holds every case issue 11 measured (and their neighbours): each row is one service
call that starts from a valid call and changes one argument. For every row the test checks the
error class and `.field`, then that no row was added to any `accounts` table, no audit event was
appended and no recompute was enqueued. Property-based tests (hypothesis) then throw arbitrary
values at the same arguments: whatever comes in, the only exceptions are domain errors.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal
from typing import Any, Callable

import pytest
from django.apps import apps
from django.utils import timezone
from hypothesis import HealthCheck, given, settings, strategies as st

from accounts import validation
from accounts.events import (
    application_record,
    bureau_report_record,
    consent_grant,
    consent_withdraw,
    repayment_record,
    transaction_record,
)
from accounts.models import Consent, Customer, Disclosure, RepaymentInstallment, Transaction
from riskops.core.exceptions import Conflict, DomainError, NotFound, ValidationFailed
from riskops.core.models import AuditEvent
from tests.factories import ConsentFactory, CustomerFactory, DisclosureFactory, RepaymentInstallmentFactory, TransactionFactory

pytestmark = pytest.mark.django_db

SERVICES: dict[str, Callable[..., Any]] = {
    "transaction": transaction_record,
    "draw": transaction_record,  # a credit_draw, with its repayment schedule
    "repayment": repayment_record,
    "application": application_record,
    "bureau": bureau_report_record,
    "consent_grant": consent_grant,
    "consent_withdraw": consent_withdraw,
}


@dataclass
class Book:
    """A customer with one of each event already stored, for the idempotency cases."""

    now: datetime
    customer: Customer
    installment: RepaymentInstallment
    text: Disclosure
    consent: Consent
    purchase: Transaction
    draw: Transaction  # dr-1, posted with `plan(book)`


@pytest.fixture
def book(django_capture_on_commit_callbacks) -> Book:
    now = timezone.now()
    customer = CustomerFactory(onboarded_at=now - timedelta(days=400))
    draw = TransactionFactory(customer=customer, credit_draw=True, occurred_at=now - timedelta(days=40))
    installment = RepaymentInstallmentFactory(draw=draw, amount_due=Decimal("100.00"))
    text = DisclosureFactory(kind="consent_text")
    consent = ConsentFactory(customer=customer, purpose="credit_scoring", disclosure=text, granted_at=now - timedelta(days=300))
    at = now - timedelta(hours=1)
    with django_capture_on_commit_callbacks():  # the recomputes of the setup are not under test
        purchase = transaction_record(
            customer=customer, external_id="tx-1", kind="purchase", amount=Decimal("12.50"), occurred_at=at, merchant_category="groceries"
        )
        repayment_record(installment=installment, external_id="rp-1", amount=Decimal("40.00"), paid_at=at)
        application_record(customer=customer, external_id="ap-1", requested_amount=Decimal("500.00"), applied_at=at)
        bureau_report_record(
            customer=customer, external_id="b-1", score=700, external_lenders=1, external_debt=Decimal("0.00"),
            reported_at=at, raw={"ref": "B-1", "lines": [1, 2]},
        )
        draw = transaction_record(
            customer=customer, external_id="dr-1", kind="credit_draw", amount=Decimal("300.00"), occurred_at=at,
            installments=plan(now),
        )
    installment.refresh_from_db()
    return Book(now, customer, installment, text, consent, purchase, draw)


def plan(now: datetime, n: int = 3, amount: Any = Decimal("110.00")) -> list[dict[str, Any]]:
    """The schedule of the book's draws (occurred an hour before `now`): `n` installments of
    `amount`, due 30, 60, 90… days after the draw's UTC date."""
    drawn_on = (now - timedelta(hours=1)).astimezone(dt_timezone.utc).date()
    return [{"due_on": drawn_on + timedelta(days=30 * (k + 1)), "amount_due": amount} for k in range(n)]


def plan_with(index: int, *, drop: str | None = None, **fields: Any) -> Callable[[Book], list[dict[str, Any]]]:
    """`plan` with item `index` changed: a field's value, or a function of (the plan, its due
    dates) for a date relative to the schedule; `drop` removes a field."""

    def make(book: Book) -> list[dict[str, Any]]:
        items = plan(book.now)
        dues = [i["due_on"] for i in items]
        item = dict(items[index])
        for name, value in fields.items():
            item[name] = value(dues) if callable(value) else value
        if drop is not None:
            del item[drop]
        items[index] = item
        return items

    return make


def valid_call(service: str, book: Book) -> dict[str, Any]:
    """A call that succeeds and writes, so each case's failure is due to its one change."""
    at = book.now - timedelta(hours=1)
    return {
        "transaction": dict(
            customer=book.customer, external_id="tx-new", kind="purchase", amount=Decimal("10.00"), occurred_at=at, merchant_category="fuel"
        ),
        "draw": dict(
            customer=book.customer, external_id="dr-new", kind="credit_draw", amount=Decimal("300.00"), occurred_at=at, installments=plan(book.now)
        ),
        "repayment": dict(installment=book.installment, external_id="rp-new", amount=Decimal("10.00"), paid_at=at),
        "application": dict(customer=book.customer, external_id="ap-new", requested_amount=Decimal("300.00"), applied_at=at, channel="web"),
        "bureau": dict(
            customer=book.customer, external_id="b-new", score=650, external_lenders=2, external_debt=Decimal("100.00"),
            reported_at=at, delinquencies_12m=0, bureau="national", raw={"ref": "B-2"},
        ),
        "consent_grant": dict(
            customer=book.customer, purpose="marketing", disclosure=book.text, channel="app", evidence={"device": "ios"},
            expires_at=book.now + timedelta(days=365),
        ),
        "consent_withdraw": dict(consent=book.consent, channel="app", evidence={"device": "ios"}),
    }[service]


def unsaved_customer(book: Book) -> Customer:
    return CustomerFactory.build(onboarded_at=book.now - timedelta(days=10))


def deleted_customer(book: Book) -> Customer:
    customer = CustomerFactory(onboarded_at=book.now - timedelta(days=10))
    pk = customer.pk
    customer.delete()
    customer.pk = pk  # a stale instance whose row is gone
    return customer


def at(days: float = 0, **delta: float) -> Callable[[Book], datetime]:
    return lambda book: book.now - timedelta(days=days, **delta)


AWARE_1900 = datetime(1900, 1, 1, tzinfo=dt_timezone.utc)
TEN_MB = {"blob": "x" * (10 * 1024 * 1024)}
LONG = "x" * 41

# (case id, service, changed arguments — a value, or a function of the book —, error, field)
CASES: list[tuple[str, str, dict[str, Any], type[DomainError], str]] = [
    # --- idempotency compares the whole content and the kind ------------------------------
    ("repayment re-sent with another amount", "repayment", {"external_id": "rp-1", "amount": Decimal("41.00"), "paid_at": at(hours=1)}, Conflict, "amount"),
    ("repayment re-sent with another time", "repayment", {"external_id": "rp-1", "amount": Decimal("40.00"), "paid_at": at(hours=2)}, Conflict, "paid_at"),
    ("repayment reusing a purchase's id", "repayment", {"external_id": "tx-1", "amount": Decimal("12.50"), "paid_at": at(hours=1)}, Conflict, "kind"),
    ("purchase reusing a repayment's id", "transaction", {"external_id": "rp-1", "amount": Decimal("40.00"), "occurred_at": at(hours=1)}, Conflict, "kind"),
    ("duplicate id, another kind", "transaction", {"external_id": "tx-1", "kind": "bill", "amount": Decimal("12.50"), "occurred_at": at(hours=1), "merchant_category": "groceries"}, Conflict, "kind"),
    ("duplicate id, another timestamp", "transaction", {"external_id": "tx-1", "amount": Decimal("12.50"), "occurred_at": at(hours=3), "merchant_category": "groceries"}, Conflict, "occurred_at"),
    ("duplicate id, another merchant", "transaction", {"external_id": "tx-1", "amount": Decimal("12.50"), "occurred_at": at(hours=1), "merchant_category": "travel"}, Conflict, "merchant_category"),
    ("duplicate id, another amount", "transaction", {"external_id": "tx-1", "amount": Decimal("12.51"), "occurred_at": at(hours=1), "merchant_category": "groceries"}, Conflict, "amount"),
    ("duplicate id, another customer", "transaction", {"external_id": "tx-1", "customer": lambda b: CustomerFactory(onboarded_at=b.now - timedelta(days=5)), "amount": Decimal("12.50"), "occurred_at": at(hours=1), "merchant_category": "groceries"}, Conflict, "customer"),
    ("application duplicate, another amount", "application", {"external_id": "ap-1", "requested_amount": Decimal("501.00"), "applied_at": at(hours=1), "channel": "app"}, Conflict, "requested_amount"),
    ("application duplicate, another channel", "application", {"external_id": "ap-1", "requested_amount": Decimal("500.00"), "applied_at": at(hours=1), "channel": "web"}, Conflict, "channel"),
    ("bureau duplicate, another score", "bureau", {"external_id": "b-1", "score": 701, "external_lenders": 1, "external_debt": Decimal("0.00"), "reported_at": at(hours=1), "raw": {"ref": "B-1", "lines": [1, 2]}}, Conflict, "score"),
    ("bureau duplicate, another payload", "bureau", {"external_id": "b-1", "score": 700, "external_lenders": 1, "external_debt": Decimal("0.00"), "reported_at": at(hours=1), "raw": {"ref": "B-1", "lines": [2, 1]}}, Conflict, "raw"),
    # a draw's schedule is part of the event; the transaction's own fields are compared first
    ("draw resent, an installment's amount differs", "draw", {"external_id": "dr-1", "installments": plan_with(2, amount_due=Decimal("110.01"))}, Conflict, "installments"),
    ("draw resent, an installment's due date differs", "draw", {"external_id": "dr-1", "installments": plan_with(1, due_on=lambda d: d[1] + timedelta(days=1))}, Conflict, "installments"),
    ("draw resent with one installment fewer", "draw", {"external_id": "dr-1", "installments": lambda b: plan(b.now, n=2, amount=Decimal("150.00"))}, Conflict, "installments"),
    ("draw resent with one installment more", "draw", {"external_id": "dr-1", "installments": lambda b: plan(b.now, n=4)}, Conflict, "installments"),
    ("draw resent with another amount", "draw", {"external_id": "dr-1", "amount": Decimal("301.00")}, Conflict, "amount"),
    ("draw reusing a purchase's id", "draw", {"external_id": "tx-1"}, Conflict, "kind"),
    ("purchase reusing a draw's id", "transaction", {"external_id": "dr-1", "amount": Decimal("300.00"), "merchant_category": ""}, Conflict, "kind"),
    # --- amounts: exact, finite, positive, scale ≤ 2, within the column -------------------------
    ("1.999 is refused, not rounded", "transaction", {"amount": Decimal("1.999")}, ValidationFailed, "amount"),
    ("0.001 is refused", "transaction", {"amount": Decimal("0.001")}, ValidationFailed, "amount"),
    ("NaN", "transaction", {"amount": Decimal("NaN")}, ValidationFailed, "amount"),
    ("signalling NaN", "transaction", {"amount": Decimal("sNaN")}, ValidationFailed, "amount"),
    ("Infinity", "transaction", {"amount": Decimal("Infinity")}, ValidationFailed, "amount"),
    ("-Infinity", "transaction", {"amount": Decimal("-Infinity")}, ValidationFailed, "amount"),
    ("1e20 overflows the column", "transaction", {"amount": Decimal("1e20")}, ValidationFailed, "amount"),
    ("one cent over the column", "transaction", {"amount": Decimal("1000000000000.00")}, ValidationFailed, "amount"),
    ("zero", "transaction", {"amount": Decimal("0")}, ValidationFailed, "amount"),
    ("negative", "transaction", {"amount": Decimal("-5.00")}, ValidationFailed, "amount"),
    ("float", "transaction", {"amount": 12.5}, ValidationFailed, "amount"),
    ("bool", "transaction", {"amount": True}, ValidationFailed, "amount"),
    ("None amount", "transaction", {"amount": None}, ValidationFailed, "amount"),
    ("string in exponent form", "transaction", {"amount": "1e3"}, ValidationFailed, "amount"),
    ("string with spaces", "transaction", {"amount": " 12.50"}, ValidationFailed, "amount"),
    ("string NaN", "transaction", {"amount": "NaN"}, ValidationFailed, "amount"),
    ("repayment NaN", "repayment", {"amount": Decimal("NaN")}, ValidationFailed, "amount"),
    ("repayment 1.999", "repayment", {"amount": Decimal("1.999")}, ValidationFailed, "amount"),
    ("repayment over what is due", "repayment", {"amount": Decimal("60.01")}, ValidationFailed, "amount"),
    ("application Infinity", "application", {"requested_amount": Decimal("Infinity")}, ValidationFailed, "requested_amount"),
    ("application 1e20", "application", {"requested_amount": Decimal("1e20")}, ValidationFailed, "requested_amount"),
    ("bureau debt NaN", "bureau", {"external_debt": Decimal("NaN")}, ValidationFailed, "external_debt"),
    ("bureau debt negative", "bureau", {"external_debt": Decimal("-1")}, ValidationFailed, "external_debt"),
    ("bureau debt 1e20", "bureau", {"external_debt": Decimal("1e20")}, ValidationFailed, "external_debt"),
    ("bureau debt 0.005", "bureau", {"external_debt": Decimal("0.005")}, ValidationFailed, "external_debt"),
    # --- strings and ids ---------------------------------------------------------------------
    ("external_id too long", "transaction", {"external_id": LONG}, ValidationFailed, "external_id"),
    ("external_id None", "transaction", {"external_id": None}, ValidationFailed, "external_id"),
    ("external_id blank", "transaction", {"external_id": "  "}, ValidationFailed, "external_id"),
    ("external_id not a string", "transaction", {"external_id": 12345}, ValidationFailed, "external_id"),
    ("external_id with NUL", "transaction", {"external_id": "tx\x00"}, ValidationFailed, "external_id"),
    ("merchant too long", "transaction", {"merchant_category": "m" * 33}, ValidationFailed, "merchant_category"),
    ("merchant None", "transaction", {"merchant_category": None}, ValidationFailed, "merchant_category"),
    ("unknown kind", "transaction", {"kind": "lottery"}, ValidationFailed, "kind"),
    ("kind repayment through transaction_record", "transaction", {"kind": "repayment"}, ValidationFailed, "kind"),
    ("kind None", "transaction", {"kind": None}, ValidationFailed, "kind"),
    ("repayment id None", "repayment", {"external_id": None}, ValidationFailed, "external_id"),
    ("repayment id too long", "repayment", {"external_id": LONG}, ValidationFailed, "external_id"),
    ("application id None", "application", {"external_id": None}, ValidationFailed, "external_id"),
    ("application id too long", "application", {"external_id": LONG}, ValidationFailed, "external_id"),
    ("application unknown channel", "application", {"channel": "fax"}, ValidationFailed, "channel"),
    ("bureau id None", "bureau", {"external_id": None}, ValidationFailed, "external_id"),
    ("bureau id too long", "bureau", {"external_id": LONG}, ValidationFailed, "external_id"),
    ("bureau name too long", "bureau", {"bureau": "b" * 33}, ValidationFailed, "bureau"),
    ("bureau name blank", "bureau", {"bureau": ""}, ValidationFailed, "bureau"),
    # --- the customer exists and is saved -------------------------------------------------------
    ("unsaved customer", "transaction", {"customer": unsaved_customer}, ValidationFailed, "customer"),
    ("deleted customer", "transaction", {"customer": deleted_customer}, NotFound, "customer"),
    ("customer None", "transaction", {"customer": None}, ValidationFailed, "customer"),
    ("customer is an id", "transaction", {"customer": lambda b: b.customer.pk}, ValidationFailed, "customer"),
    ("application unsaved customer", "application", {"customer": unsaved_customer}, ValidationFailed, "customer"),
    ("application deleted customer", "application", {"customer": deleted_customer}, NotFound, "customer"),
    ("bureau unsaved customer", "bureau", {"customer": unsaved_customer}, ValidationFailed, "customer"),
    ("bureau deleted customer", "bureau", {"customer": deleted_customer}, NotFound, "customer"),
    ("consent unsaved customer", "consent_grant", {"customer": unsaved_customer}, ValidationFailed, "customer"),
    ("consent deleted customer", "consent_grant", {"customer": deleted_customer}, NotFound, "customer"),
    ("unsaved installment", "repayment", {"installment": lambda b: RepaymentInstallment(customer=b.customer, amount_due=Decimal("1.00"))}, ValidationFailed, "installment"),
    ("installment None", "repayment", {"installment": None}, ValidationFailed, "installment"),
    ("unsaved disclosure", "consent_grant", {"disclosure": lambda b: DisclosureFactory.build()}, ValidationFailed, "disclosure"),
    ("disclosure not a consent text", "consent_grant", {"disclosure": lambda b: DisclosureFactory(kind="privacy_notice")}, ValidationFailed, "disclosure"),
    ("unsaved consent", "consent_withdraw", {"consent": lambda b: ConsentFactory.build(customer=b.customer, disclosure=b.text)}, ValidationFailed, "consent"),
    # --- timestamps: aware, not in the future, not before onboarding less 30 days ----------------
    ("transaction dated 1900-01-01", "transaction", {"occurred_at": AWARE_1900}, ValidationFailed, "occurred_at"),
    ("a year before onboarding", "transaction", {"occurred_at": at(days=400 + 365)}, ValidationFailed, "occurred_at"),
    ("31 days before onboarding", "transaction", {"occurred_at": at(days=400 + 31)}, ValidationFailed, "occurred_at"),
    ("naive timestamp", "transaction", {"occurred_at": lambda b: b.now.replace(tzinfo=None)}, ValidationFailed, "occurred_at"),
    ("tomorrow", "transaction", {"occurred_at": at(days=-1)}, ValidationFailed, "occurred_at"),
    ("timestamp as a string", "transaction", {"occurred_at": "2026-01-01T00:00:00Z"}, ValidationFailed, "occurred_at"),
    ("timestamp None", "transaction", {"occurred_at": None}, ValidationFailed, "occurred_at"),
    ("repayment dated 1900", "repayment", {"paid_at": AWARE_1900}, ValidationFailed, "paid_at"),
    ("repayment in the future", "repayment", {"paid_at": at(days=-2)}, ValidationFailed, "paid_at"),
    ("application dated 1900", "application", {"applied_at": AWARE_1900}, ValidationFailed, "applied_at"),
    ("bureau dated 1900", "bureau", {"reported_at": AWARE_1900}, ValidationFailed, "reported_at"),
    ("bureau naive", "bureau", {"reported_at": lambda b: b.now.replace(tzinfo=None)}, ValidationFailed, "reported_at"),
    # --- bureau numbers are integers in range ----------------------------------------------------
    ("bureau score as a string", "bureau", {"score": "700"}, ValidationFailed, "score"),
    ("bureau score as a float", "bureau", {"score": 700.0}, ValidationFailed, "score"),
    ("bureau score as a bool", "bureau", {"score": True}, ValidationFailed, "score"),
    ("bureau score None", "bureau", {"score": None}, ValidationFailed, "score"),
    ("bureau score below 300", "bureau", {"score": 120}, ValidationFailed, "score"),
    ("bureau score above 900", "bureau", {"score": 901}, ValidationFailed, "score"),
    ("external_lenders negative", "bureau", {"external_lenders": -1}, ValidationFailed, "external_lenders"),
    ("external_lenders beyond the column", "bureau", {"external_lenders": 40000}, ValidationFailed, "external_lenders"),
    ("external_lenders as a string", "bureau", {"external_lenders": "1"}, ValidationFailed, "external_lenders"),
    ("delinquencies negative", "bureau", {"delinquencies_12m": -1}, ValidationFailed, "delinquencies_12m"),
    ("delinquencies beyond the column", "bureau", {"delinquencies_12m": 10**6}, ValidationFailed, "delinquencies_12m"),
    # --- JSON payloads: bounded, serialisable, stored as given -----------------------------------
    ("10 MB bureau payload", "bureau", {"raw": TEN_MB}, ValidationFailed, "raw"),
    ("bureau payload with a datetime", "bureau", {"raw": lambda b: {"at": b.now}}, ValidationFailed, "raw"),
    ("bureau payload with a Decimal", "bureau", {"raw": {"debt": Decimal("1.00")}}, ValidationFailed, "raw"),
    ("bureau payload with NaN", "bureau", {"raw": {"x": float("nan")}}, ValidationFailed, "raw"),
    ("bureau payload not an object", "bureau", {"raw": ["a", "b"]}, ValidationFailed, "raw"),
    ("bureau payload with an int key", "bureau", {"raw": {1: "a"}}, ValidationFailed, "raw"),
    ("bureau payload with a NUL", "bureau", {"raw": {"x": "a\x00b"}}, ValidationFailed, "raw"),
    ("datetime in consent evidence", "consent_grant", {"evidence": lambda b: {"signed_at": b.now}}, ValidationFailed, "evidence"),
    ("set in consent evidence", "consent_grant", {"evidence": {"tags": {"a"}}}, ValidationFailed, "evidence"),
    ("consent evidence too large", "consent_grant", {"evidence": {"blob": "x" * (64 * 1024)}}, ValidationFailed, "evidence"),
    ("consent evidence None", "consent_grant", {"evidence": None}, ValidationFailed, "evidence"),
    ("datetime in withdrawal evidence", "consent_withdraw", {"evidence": lambda b: {"at": b.now}}, ValidationFailed, "evidence"),
    # --- consents -----------------------------------------------------------------------------
    ("past consent expiry", "consent_grant", {"expires_at": at(days=1)}, ValidationFailed, "expires_at"),
    ("consent expiring right now", "consent_grant", {"expires_at": lambda b: b.now}, ValidationFailed, "expires_at"),
    ("naive consent expiry", "consent_grant", {"expires_at": lambda b: (b.now + timedelta(days=30)).replace(tzinfo=None)}, ValidationFailed, "expires_at"),
    ("consent expiry as a string", "consent_grant", {"expires_at": "2030-01-01"}, ValidationFailed, "expires_at"),
    ("unknown purpose", "consent_grant", {"purpose": "resale"}, ValidationFailed, "purpose"),
    ("unknown consent channel", "consent_grant", {"channel": "pigeon"}, ValidationFailed, "channel"),
    ("unknown withdrawal channel", "consent_withdraw", {"channel": "pigeon"}, ValidationFailed, "channel"),
    # --- a credit draw's repayment schedule ---------------------------------------------------
    ("draw without a schedule", "draw", {"installments": None}, ValidationFailed, "installments"),
    ("draw with an empty schedule", "draw", {"installments": []}, ValidationFailed, "installments"),
    ("draw with 61 installments", "draw", {"installments": lambda b: plan(b.now, n=61, amount=Decimal("5.00"))}, ValidationFailed, "installments"),
    ("schedule not a list", "draw", {"installments": {"due_on": "2030-01-01", "amount_due": "300.00"}}, ValidationFailed, "installments"),
    ("schedule a string", "draw", {"installments": "monthly"}, ValidationFailed, "installments"),
    ("installment not an object", "draw", {"installments": lambda b: [*plan(b.now)[:1], ["2030-01-01", "110.00"], *plan(b.now)[2:]]}, ValidationFailed, "installments[1]"),
    ("installment without due_on", "draw", {"installments": plan_with(0, drop="due_on")}, ValidationFailed, "installments[0].due_on"),
    ("installment without amount_due", "draw", {"installments": plan_with(2, drop="amount_due")}, ValidationFailed, "installments[2].amount_due"),
    ("installment with an unknown field", "draw", {"installments": plan_with(1, sequence=2)}, ValidationFailed, "installments[1].sequence"),
    ("due_on a string", "draw", {"installments": plan_with(0, due_on=lambda d: d[0].isoformat())}, ValidationFailed, "installments[0].due_on"),
    ("due_on a datetime", "draw", {"installments": plan_with(0, due_on=lambda d: datetime.combine(d[0], datetime.min.time(), dt_timezone.utc))}, ValidationFailed, "installments[0].due_on"),
    ("due_on None", "draw", {"installments": plan_with(1, due_on=None)}, ValidationFailed, "installments[1].due_on"),
    ("due on the draw's own date", "draw", {"installments": plan_with(0, due_on=lambda d: d[0] - timedelta(days=30))}, ValidationFailed, "installments[0].due_on"),
    ("due before the draw", "draw", {"installments": plan_with(0, due_on=lambda d: d[0] - timedelta(days=400))}, ValidationFailed, "installments[0].due_on"),
    ("due the same day as the previous", "draw", {"installments": plan_with(1, due_on=lambda d: d[0])}, ValidationFailed, "installments[1].due_on"),
    ("due before the previous", "draw", {"installments": plan_with(2, due_on=lambda d: d[1] - timedelta(days=1))}, ValidationFailed, "installments[2].due_on"),
    ("amount_due 1.999", "draw", {"installments": plan_with(1, amount_due=Decimal("1.999"))}, ValidationFailed, "installments[1].amount_due"),
    ("amount_due zero", "draw", {"installments": plan_with(2, amount_due=Decimal("0"))}, ValidationFailed, "installments[2].amount_due"),
    ("amount_due negative", "draw", {"installments": plan_with(0, amount_due=Decimal("-110.00"))}, ValidationFailed, "installments[0].amount_due"),
    ("amount_due a float", "draw", {"installments": plan_with(0, amount_due=110.0)}, ValidationFailed, "installments[0].amount_due"),
    ("amount_due NaN", "draw", {"installments": plan_with(0, amount_due=Decimal("NaN"))}, ValidationFailed, "installments[0].amount_due"),
    ("amount_due beyond the column", "draw", {"installments": plan_with(0, amount_due=Decimal("1e20"))}, ValidationFailed, "installments[0].amount_due"),
    ("amount_due None", "draw", {"installments": plan_with(0, amount_due=None)}, ValidationFailed, "installments[0].amount_due"),
    ("schedule short of the draw by a cent", "draw", {"installments": plan_with(2, amount_due=Decimal("79.99"))}, ValidationFailed, "installments"),
    ("schedule short of the principal", "draw", {"amount": Decimal("500.00")}, ValidationFailed, "installments"),
    ("the first bad item is named", "draw", {"installments": plan_with(1, amount_due="x")}, ValidationFailed, "installments[1].amount_due"),
    ("a draw's amount is checked before its schedule", "draw", {"amount": Decimal("NaN"), "installments": None}, ValidationFailed, "amount"),
    ("purchase with a schedule", "transaction", {"installments": lambda b: plan(b.now)}, ValidationFailed, "installments"),
    ("purchase with an empty schedule", "transaction", {"installments": []}, ValidationFailed, "installments"),
    ("income with a schedule", "transaction", {"kind": "income", "installments": lambda b: plan(b.now)}, ValidationFailed, "installments"),
]


def written(book: Book | None = None) -> dict[str, int]:
    """Row counts of every accounts table (the outbox too, once it exists) and the audit trail."""
    counts = {model._meta.label: model.objects.count() for model in apps.get_app_config("accounts").get_models()}
    counts["core.AuditEvent"] = AuditEvent.objects.count()
    if book is not None:
        installment = RepaymentInstallment.objects.get(pk=book.installment.pk)
        counts["installment paid"] = installment.amount_paid
    return counts


def call(service: str, book: Book, changes: dict[str, Any]) -> Any:
    kwargs = valid_call(service, book)
    for name, value in changes.items():
        kwargs[name] = value(book) if callable(value) else value
    return SERVICES[service](**kwargs)


@pytest.mark.parametrize("service, changes, error, field", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(book, django_capture_on_commit_callbacks, service, changes, error, field):
    # given a book with one of each event stored, and the arguments of the case resolved
    changes = {k: (v(book) if callable(v) else v) for k, v in changes.items()}
    before = written(book)

    # when the service is called with the one bad argument
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(error) as exc:
            call(service, book, changes)

    # then the error names the field, nothing was stored or audited, no recompute was enqueued
    assert type(exc.value) is error
    assert exc.value.field == field, exc.value.message
    assert exc.value.message
    assert written(book) == before
    assert callbacks == []


@pytest.mark.parametrize("service", SERVICES)
def test_the_valid_call_each_case_starts_from_succeeds_and_writes(book, django_capture_on_commit_callbacks, service):
    # given the valid call the table's cases mutate / when made / then it writes and enqueues a recompute
    before = written(book)
    with django_capture_on_commit_callbacks() as callbacks:
        call(service, book, {})
    assert written(book) != before
    assert len(callbacks) >= 1


IDENTICAL_RESENDS = [
    ("transaction", {"external_id": "tx-1", "amount": Decimal("12.50"), "occurred_at": at(hours=1), "merchant_category": "groceries"}),
    # the same amount written with another scale is the same amount
    ("transaction", {"external_id": "tx-1", "amount": "12.5", "occurred_at": at(hours=1), "merchant_category": "groceries"}),
    ("repayment", {"external_id": "rp-1", "amount": Decimal("40.00"), "paid_at": at(hours=1)}),
    ("draw", {"external_id": "dr-1"}),
    # the same schedule, its amounts written as strings of another scale, in a tuple
    ("draw", {"external_id": "dr-1", "amount": "300", "installments": lambda b: tuple({**i, "amount_due": "110.0"} for i in plan(b.now))}),
    ("application", {"external_id": "ap-1", "requested_amount": 500, "applied_at": at(hours=1), "channel": "app"}),
    ("bureau", {"external_id": "b-1", "score": 700, "external_lenders": 1, "external_debt": Decimal("0"), "reported_at": at(hours=1), "raw": {"ref": "B-1", "lines": [1, 2]}}),
]


@pytest.mark.parametrize("service, changes", IDENTICAL_RESENDS, ids=[f"{s}-{i}" for i, (s, _) in enumerate(IDENTICAL_RESENDS)])
def test_the_identical_resend_returns_the_stored_row_and_writes_nothing(book, django_capture_on_commit_callbacks, service, changes):
    # given an event already stored (the book's `at(hours=1)` is the same instant the fixture used)
    before = written(book)

    # when it is sent again, identical
    with django_capture_on_commit_callbacks() as callbacks:
        result = call(service, book, changes)

    # then the stored row comes back, nothing is written, no second recompute
    assert written(book) == before and callbacks == []
    if service == "transaction":
        assert result.pk == book.purchase.pk
    if service == "draw":
        assert result.pk == book.draw.pk
    if service == "repayment":
        assert result.pk == book.installment.pk and result.amount_paid == Decimal("40.00")


def test_a_resend_of_the_settling_repayment_is_not_an_overpayment(book, django_capture_on_commit_callbacks):
    # given the installment settled by rp-2
    paid_at = book.now - timedelta(minutes=30)
    with django_capture_on_commit_callbacks():
        repayment_record(installment=book.installment, external_id="rp-2", amount=Decimal("60.00"), paid_at=paid_at)
    before = written(book)

    # when rp-2 is sent again / then it returns the settled installment and writes nothing
    installment = repayment_record(installment=book.installment, external_id="rp-2", amount=Decimal("60.00"), paid_at=paid_at)
    assert installment.paid_at == paid_at and written(book) == before
    # and the same id with another amount is a conflict, not an over-payment
    with pytest.raises(Conflict) as exc:
        repayment_record(installment=book.installment, external_id="rp-2", amount=Decimal("50.00"), paid_at=paid_at)
    assert exc.value.field == "amount"


def test_amounts_are_stored_at_the_column_scale_and_integers_and_strings_convert_exactly(book, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        a = transaction_record(customer=book.customer, external_id="tx-int", kind="bill", amount=7, occurred_at=book.now)
        b = transaction_record(customer=book.customer, external_id="tx-str", kind="bill", amount="7.5", occurred_at=book.now)
        c = transaction_record(customer=book.customer, external_id="tx-max", kind="income", amount=Decimal("999999999999.99"), occurred_at=book.now)
        d = transaction_record(customer=book.customer, external_id="tx-zeros", kind="bill", amount=Decimal("1.000"), occurred_at=book.now)
    for row, expected in ((a, "7.00"), (b, "7.50"), (c, "999999999999.99"), (d, "1.00")):
        row.refresh_from_db()
        assert str(row.amount) == expected


def test_the_onboarding_margin_is_thirty_days(book, django_capture_on_commit_callbacks):
    # given a customer onboarded 400 days ago: 29 days before onboarding is accepted, 31 refused
    with django_capture_on_commit_callbacks():
        transaction_record(customer=book.customer, external_id="tx-early", kind="income", amount=Decimal("1.00"), occurred_at=book.now - timedelta(days=429))
    with pytest.raises(ValidationFailed) as exc:
        transaction_record(customer=book.customer, external_id="tx-too-early", kind="income", amount=Decimal("1.00"), occurred_at=book.now - timedelta(days=431))
    assert exc.value.field == "occurred_at" and "30 days" in exc.value.message
    assert validation.BEFORE_ONBOARDING == timedelta(days=30)


def test_a_consent_expiring_in_the_future_is_stored(book, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        consent = call("consent_grant", book, {})
    assert consent.expires_at == book.now + timedelta(days=365) and consent.evidence == {"device": "ios"}


# --- properties ------------------------------------------------------------------------------

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
COLUMN = validation.column(Transaction, "amount")


def places(amount: Decimal) -> int:
    """Decimal places that carry value, from the digits themselves (no rounding context):
    trailing zeros do not count (1.000 has none)."""
    _, digits, exponent = amount.as_tuple()
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(-(exponent + trailing_zeros), 0)


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal("0.001"), max_value=Decimal("1e11"), places=None))
@settings(max_examples=300)
def test_money_accepts_exactly_the_amounts_with_two_places_or_fewer(amount):
    if places(amount) > 2:
        with pytest.raises(ValidationFailed):
            validation.money(amount, field="amount", column=COLUMN)
    else:
        assert validation.money(amount, field="amount", column=COLUMN) == amount


@PROPERTY
@given(
    st.one_of(
        # any scale above 2, or any non-finite value
        st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal("0.001"), max_value=Decimal("1e11"), places=3).filter(
            lambda d: places(d) > 2
        ),
        st.decimals(allow_nan=False, allow_infinity=False, places=5).filter(lambda d: places(d) > 2),
        st.sampled_from([Decimal("NaN"), Decimal("sNaN"), Decimal("-NaN"), Decimal("Infinity"), Decimal("-Infinity")]),
    )
)
def test_any_amount_with_scale_above_two_or_not_finite_is_refused_and_writes_nothing(book, django_capture_on_commit_callbacks, amount):
    before = written()
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(ValidationFailed) as exc:
            call("transaction", book, {"external_id": "tx-prop", "amount": amount})
    assert exc.value.field == "amount"
    assert written() == before and callbacks == []


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.text(max_size=60),
    st.binary(max_size=20),
    st.datetimes(),
    st.datetimes(timezones=st.just(dt_timezone.utc)),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=5), st.datetimes()), max_size=3),
)

FUZZED = [
    ("transaction", name) for name in ("customer", "external_id", "kind", "amount", "occurred_at", "merchant_category", "installments")
] + [("draw", name) for name in ("amount", "occurred_at", "installments")] + [("repayment", name) for name in ("installment", "external_id", "amount", "paid_at")] + [
    ("application", name) for name in ("customer", "external_id", "requested_amount", "applied_at", "channel")
] + [
    ("bureau", name)
    for name in ("customer", "external_id", "score", "external_lenders", "external_debt", "reported_at", "delinquencies_12m", "bureau", "raw")
] + [("consent_grant", name) for name in ("customer", "purpose", "disclosure", "channel", "evidence", "expires_at")] + [
    ("consent_withdraw", name) for name in ("consent", "channel", "evidence")
]


@pytest.mark.parametrize("service, argument", FUZZED, ids=[f"{s}.{a}" for s, a in FUZZED])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=JUNK)
def test_whatever_an_argument_holds_only_domain_errors_escape(book, django_capture_on_commit_callbacks, service, argument, value):
    # given any value for one argument / when the service is called / then it succeeds or raises a
    # DomainError naming that argument (or, for a duplicate id, the field that differs)
    with django_capture_on_commit_callbacks():
        try:
            call(service, book, {argument: copy.copy(value)})
        except DomainError as exc:
            assert exc.field, exc


@pytest.mark.parametrize("name", ["due_on", "amount_due"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(JUNK, st.dates()))
def test_whatever_an_installment_holds_only_domain_errors_about_the_schedule_escape(book, django_capture_on_commit_callbacks, name, value):
    # given any value for one field of a draw's second installment / when the draw is recorded /
    # then it is stored, or refused with a DomainError naming the schedule or one of its items
    with django_capture_on_commit_callbacks():
        try:
            call("draw", book, {"external_id": "dr-fuzz", "installments": plan_with(1, **{name: copy.copy(value)})})
        except DomainError as exc:
            assert exc.field and exc.field.startswith("installments"), exc

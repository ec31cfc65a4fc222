"""The database itself refuses rows that break the accounts invariants.

Rows are written with `objects.create()` / factories, which never call `full_clean()`, so a
passing test proves the constraint lives in the schema: a bulk load, an `update()` or a raw
script hits it too. Each bad write runs in its own savepoint (`transaction.atomic()`) so the
test transaction stays usable after the IntegrityError, on SQLite and PostgreSQL alike.

CHECK violations are matched by constraint name (both backends put it in the message); unique
violations by the word "unique", since SQLite names the columns rather than the index.
"""

import hashlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.models import Consent, Customer, Disclosure, DisclosureAcknowledgement, RepaymentInstallment, Transaction
from tests.factories import (
    BureauReportFactory,
    ConsentEventFactory,
    ConsentFactory,
    CreditApplicationFactory,
    CustomerFactory,
    DisclosureAcknowledgementFactory,
    DisclosureFactory,
    RepaymentInstallmentFactory,
    TransactionFactory,
)

pytestmark = pytest.mark.django_db

UNIQUE = r"(?i)unique"


# --- factories --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "factory, traits",
    [
        (CustomerFactory, {}),
        (TransactionFactory, {}),
        (TransactionFactory, {"income": True}),
        (TransactionFactory, {"purchase": True}),
        (TransactionFactory, {"bill": True}),
        (TransactionFactory, {"cash_out": True}),
        (TransactionFactory, {"credit_draw": True}),
        (TransactionFactory, {"repayment": True}),
        (RepaymentInstallmentFactory, {}),
        (RepaymentInstallmentFactory, {"paid": True}),
        (RepaymentInstallmentFactory, {"partially_paid": True}),
        (RepaymentInstallmentFactory, {"overdue": True}),
        (RepaymentInstallmentFactory, {"overdue": True, "paid": True}),
        (CreditApplicationFactory, {}),
        (BureauReportFactory, {}),
        (DisclosureFactory, {}),
        (DisclosureAcknowledgementFactory, {}),
        (ConsentFactory, {}),
        (ConsentFactory, {"withdrawn": True}),
        (ConsentFactory, {"expired": True}),
        (ConsentEventFactory, {}),
        (ConsentEventFactory, {"withdrawn": True}),
    ],
)
def test_factory_default_rows_are_accepted(factory, traits):
    obj = factory(**traits)

    obj.refresh_from_db()
    assert obj.pk is not None


def test_factories_keep_related_rows_consistent():
    # given a credit draw with three installments
    draw = TransactionFactory(credit_draw=True)
    installments = RepaymentInstallmentFactory.create_batch(3, draw=draw)

    # then they belong to the drawing customer, numbered 1..3, money as Decimal
    assert [i.sequence for i in installments] == [1, 2, 3]
    assert {i.customer_id for i in installments} == {draw.customer_id}
    assert isinstance(installments[0].amount_due, Decimal)
    assert draw.occurred_at.tzinfo is not None


def test_disclosure_factory_hashes_the_body():
    disclosure = DisclosureFactory(body="You may lose money.")

    assert disclosure.content_hash == hashlib.sha256(b"You may lose money.").hexdigest()


# --- Customer ---------------------------------------------------------------------------------


def test_customer_external_id_is_unique():
    # given
    existing = CustomerFactory()

    # when / then
    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        CustomerFactory(external_id=existing.external_id)
    CustomerFactory(external_id=existing.external_id + "-other")


def test_customer_national_id_is_unique():
    existing = CustomerFactory()

    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        CustomerFactory(national_id=existing.national_id)
    assert Customer.objects.filter(national_id=existing.national_id).count() == 1


def test_customer_external_id_cannot_be_blank():
    with pytest.raises(IntegrityError, match="customer_external_id_not_blank"), transaction.atomic():
        CustomerFactory(external_id="")
    CustomerFactory(external_id="x")


# --- Transaction ------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("0.00"), Decimal("-0.01"), Decimal("-25.00")])
def test_transaction_amount_must_be_positive(amount):
    customer = CustomerFactory()

    with pytest.raises(IntegrityError, match="transaction_amount_positive"), transaction.atomic():
        Transaction.objects.create(
            external_id="txn-bad", customer=customer, kind="purchase", amount=amount, occurred_at=customer.onboarded_at
        )
    TransactionFactory(customer=customer, amount=Decimal("0.01"))


def test_transaction_kind_must_be_a_known_kind():
    with pytest.raises(IntegrityError, match="transaction_kind_valid"), transaction.atomic():
        TransactionFactory(kind="refund")
    TransactionFactory(kind=Transaction.Kind.TRANSFER_OUT)


def test_transaction_external_id_is_unique():
    existing = TransactionFactory()

    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        TransactionFactory(external_id=existing.external_id)


# --- RepaymentInstallment ---------------------------------------------------------------------


def test_installment_cannot_be_overpaid():
    # given an installment of 100.00, when 100.01 is recorded as paid, then the database refuses.
    # (Over-payment also breaks paid_at_iff_fully_paid, so either name may be reported.)
    overpaid = "installment_amount_paid_in_range|installment_paid_at_iff_fully_paid"
    with pytest.raises(IntegrityError, match=overpaid), transaction.atomic():
        RepaymentInstallmentFactory(amount_due=Decimal("100.00"), amount_paid=Decimal("100.01"))
    with pytest.raises(IntegrityError, match=overpaid), transaction.atomic():
        RepaymentInstallmentFactory(amount_due=Decimal("100.00"), amount_paid=Decimal("100.01"), paid_at=timezone.now())

    # and a bulk update() that skips Python entirely is refused just the same
    installment = RepaymentInstallmentFactory(amount_due=Decimal("100.00"))
    with pytest.raises(IntegrityError, match=overpaid), transaction.atomic():
        RepaymentInstallment.objects.filter(pk=installment.pk).update(amount_paid=Decimal("100.01"))

    # a negative payment breaks only the range check
    with pytest.raises(IntegrityError, match="installment_amount_paid_in_range"), transaction.atomic():
        RepaymentInstallmentFactory(amount_paid=Decimal("-0.01"))

    # and paying exactly the amount due, with paid_at, is fine
    RepaymentInstallment.objects.filter(pk=installment.pk).update(amount_paid=Decimal("100.00"), paid_at=timezone.now())


def test_installment_paid_at_requires_full_payment():
    # given a partial payment, when paid_at is set anyway, then the database refuses
    with pytest.raises(IntegrityError, match="installment_paid_at_iff_fully_paid"), transaction.atomic():
        RepaymentInstallmentFactory(partially_paid=True, paid_at=timezone.now())
    # a partial payment with no paid_at is a valid open installment
    RepaymentInstallmentFactory(partially_paid=True)


def test_installment_fully_paid_requires_paid_at():
    with pytest.raises(IntegrityError, match="installment_paid_at_iff_fully_paid"), transaction.atomic():
        RepaymentInstallmentFactory(amount_due=Decimal("50.00"), amount_paid=Decimal("50.00"), paid_at=None)
    RepaymentInstallmentFactory(paid=True, amount_due=Decimal("50.00"))


def test_installment_sequence_is_unique_per_draw():
    # given a draw with installment 1
    first = RepaymentInstallmentFactory(sequence=1)

    # when a second installment 1 is added to the same draw, then refused
    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        RepaymentInstallmentFactory(draw=first.draw, sequence=1)

    # and the same sequence on another draw is fine
    RepaymentInstallmentFactory(sequence=1)
    RepaymentInstallmentFactory(draw=first.draw, sequence=2)


def test_installment_sequence_and_amount_due_positive():
    with pytest.raises(IntegrityError, match="installment_sequence_positive"), transaction.atomic():
        RepaymentInstallmentFactory(sequence=0)
    # 0 due, 0 paid counts as fully paid, so paid_at is set to break only the positive check
    with pytest.raises(IntegrityError, match="installment_amount_due_positive"), transaction.atomic():
        RepaymentInstallmentFactory(amount_due=Decimal("0.00"), amount_paid=Decimal("0.00"), paid_at=timezone.now())


# --- CreditApplication / BureauReport ---------------------------------------------------------


def test_application_amount_positive_and_channel_known():
    with pytest.raises(IntegrityError, match="application_amount_positive"), transaction.atomic():
        CreditApplicationFactory(requested_amount=Decimal("0.00"))
    with pytest.raises(IntegrityError, match="application_channel_valid"), transaction.atomic():
        CreditApplicationFactory(channel="fax")
    CreditApplicationFactory(channel="partner")


@pytest.mark.parametrize("score", [0, 299, 901, 999])
def test_bureau_score_outside_300_900_is_refused(score):
    with pytest.raises(IntegrityError, match="bureau_score_range"), transaction.atomic():
        BureauReportFactory(score=score)


@pytest.mark.parametrize("score", [300, 900])
def test_bureau_score_bounds_are_accepted(score):
    assert BureauReportFactory(score=score).pk


def test_bureau_debt_cannot_be_negative():
    with pytest.raises(IntegrityError, match="bureau_debt_non_negative"), transaction.atomic():
        BureauReportFactory(external_debt=Decimal("-1.00"))
    BureauReportFactory(external_debt=Decimal("0.00"))


# --- Disclosure / DisclosureAcknowledgement ---------------------------------------------------


def test_disclosure_version_is_unique_per_kind():
    # given risk disclosure v1
    DisclosureFactory(kind=Disclosure.Kind.RISK_DISCLOSURE, version=1)

    # when another risk disclosure v1 is published, then refused: a change is a new version
    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        DisclosureFactory(kind=Disclosure.Kind.RISK_DISCLOSURE, version=1)

    # and v1 of another kind, or v2 of the same kind, is fine
    DisclosureFactory(kind=Disclosure.Kind.PRODUCT_TERMS, version=1)
    DisclosureFactory(kind=Disclosure.Kind.RISK_DISCLOSURE, version=2)


def test_disclosure_version_positive_and_kind_known():
    with pytest.raises(IntegrityError, match="disclosure_version_positive"), transaction.atomic():
        DisclosureFactory(version=0)
    with pytest.raises(IntegrityError, match="disclosure_kind_valid"), transaction.atomic():
        DisclosureFactory(kind="newsletter")


def test_acknowledgement_cannot_precede_showing():
    # given a customer shown a disclosure
    customer, disclosure = CustomerFactory(), DisclosureFactory()
    shown_at = customer.onboarded_at

    # when the acknowledgement is dated a second before it was shown, then refused
    with pytest.raises(IntegrityError, match="acknowledged_after_shown"), transaction.atomic():
        DisclosureAcknowledgement.objects.create(
            customer=customer, disclosure=disclosure, shown_at=shown_at, acknowledged_at=shown_at - timedelta(seconds=1)
        )

    # and acknowledging at the very moment it is shown is fine
    DisclosureAcknowledgement.objects.create(
        customer=customer, disclosure=disclosure, shown_at=shown_at, acknowledged_at=shown_at
    )


def test_acknowledgement_is_once_per_disclosure_version():
    # given a customer who acknowledged risk disclosure v1
    first = DisclosureAcknowledgementFactory()

    # when the same version is acknowledged again, then refused
    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        DisclosureAcknowledgementFactory(customer=first.customer, disclosure=first.disclosure)

    # and acknowledging the next version is fine
    next_version = DisclosureFactory(kind=first.disclosure.kind, version=first.disclosure.version + 1)
    DisclosureAcknowledgementFactory(customer=first.customer, disclosure=next_version)


# --- Consent / ConsentEvent -------------------------------------------------------------------


def test_only_one_active_consent_per_customer_and_purpose():
    # given an active credit-scoring consent
    active = ConsentFactory(purpose=Consent.Purpose.CREDIT_SCORING)

    # when a second active one is granted for the same purpose, then refused
    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        ConsentFactory(customer=active.customer, purpose=Consent.Purpose.CREDIT_SCORING)

    # and an active consent for another purpose is fine
    ConsentFactory(customer=active.customer, purpose=Consent.Purpose.BUREAU_QUERY)


def test_regrant_after_withdrawal_is_a_new_active_row():
    # given a withdrawn consent (and an expired one) for a purpose
    withdrawn = ConsentFactory(withdrawn=True, purpose=Consent.Purpose.BUREAU_QUERY)
    ConsentFactory(expired=True, customer=withdrawn.customer, purpose=Consent.Purpose.BUREAU_QUERY)

    # when the customer grants it again, then a new active row sits beside them
    regrant = ConsentFactory(customer=withdrawn.customer, purpose=Consent.Purpose.BUREAU_QUERY)

    assert regrant.state == Consent.State.ACTIVE
    assert Consent.objects.filter(customer=withdrawn.customer, purpose=Consent.Purpose.BUREAU_QUERY).count() == 3


def test_withdrawn_consent_requires_withdrawn_at():
    with pytest.raises(IntegrityError, match="consent_withdrawn_at_iff_withdrawn"), transaction.atomic():
        ConsentFactory(state=Consent.State.WITHDRAWN, withdrawn_at=None)
    ConsentFactory(withdrawn=True)


def test_active_consent_cannot_carry_withdrawn_at():
    with pytest.raises(IntegrityError, match="consent_withdrawn_at_iff_withdrawn"), transaction.atomic():
        ConsentFactory(withdrawn_at=timezone.now())


def test_consent_expiry_must_follow_grant():
    granted_at = timezone.now()

    with pytest.raises(IntegrityError, match="consent_expires_after_granted"), transaction.atomic():
        ConsentFactory(granted_at=granted_at, expires_at=granted_at)
    ConsentFactory(granted_at=granted_at, expires_at=granted_at + timedelta(days=365))


@pytest.mark.parametrize("field, value, constraint", [
    ("purpose", "profiling", "consent_purpose_valid"),
    ("state", "paused", "consent_state_valid"),
    ("channel", "email", "consent_channel_valid"),
])
def test_consent_choices_are_enforced(field, value, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        ConsentFactory(**{field: value})


def test_consent_event_kind_is_enforced():
    with pytest.raises(IntegrityError, match="consent_event_kind_valid"), transaction.atomic():
        ConsentEventFactory(kind="renewed")


# --- on_delete=PROTECT ------------------------------------------------------------------------


def test_customer_with_a_consent_cannot_be_deleted():
    # given a customer who gave a consent
    consent = ConsentFactory()

    # when the customer is deleted, then the consent evidence protects it
    with pytest.raises(ProtectedError), transaction.atomic():
        consent.customer.delete()

    assert Customer.objects.filter(pk=consent.customer_id).exists()
    assert Consent.objects.filter(pk=consent.pk).exists()


def test_customer_with_no_evidence_can_be_deleted():
    customer = CustomerFactory()

    customer.delete()

    assert not Customer.objects.filter(external_id=customer.external_id).exists()


def test_disclosure_with_a_consent_cannot_be_deleted():
    consent = ConsentFactory()

    with pytest.raises(ProtectedError), transaction.atomic():
        consent.disclosure.delete()


def test_consent_cannot_be_withdrawn_before_it_was_granted():
    granted_at = timezone.now()
    with pytest.raises(IntegrityError, match="consent_withdrawn_after_granted"), transaction.atomic():
        ConsentFactory(granted_at=granted_at, state=Consent.State.WITHDRAWN, withdrawn_at=granted_at - timedelta(days=1))
    ConsentFactory(granted_at=granted_at, state=Consent.State.WITHDRAWN, withdrawn_at=granted_at)


def test_acknowledgement_channel_must_be_known():
    with pytest.raises(IntegrityError, match="acknowledgement_channel_valid"), transaction.atomic():
        DisclosureAcknowledgementFactory(channel="carrier_pigeon")
    DisclosureAcknowledgementFactory(channel="web")

"""Events are stored once and enqueue a recompute of their customer after commit."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.events import (
    application_record,
    bureau_report_record,
    consent_grant,
    consent_withdraw,
    repayment_record,
    transaction_record,
)
from accounts.models import Consent, ConsentEvent, CustomerChangeMark, Transaction
from decisions.models import CreditLine, ScoreSnapshot
from riskops.core.exceptions import Conflict, ValidationFailed
from riskops.core.models import AuditEvent
from tests.decisions.scenarios import make_customer
from tests.factories import DisclosureFactory, RepaymentInstallmentFactory

pytestmark = pytest.mark.django_db


def snapshots(customer, trigger):
    return ScoreSnapshot.objects.filter(customer=customer, trigger=trigger).count()


def test_a_new_transaction_triggers_a_recompute_after_commit(django_capture_on_commit_callbacks):
    customer = make_customer()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        transaction_record(customer=customer, external_id="tx-1", kind="purchase", amount=Decimal("12.50"), occurred_at=timezone.now())

    assert len(callbacks) == 1
    assert snapshots(customer, "transaction") == 1
    assert CreditLine.objects.get(customer=customer).access == "open"


def test_the_same_event_twice_is_stored_once_and_recomputes_once(django_capture_on_commit_callbacks):
    customer = make_customer()
    when = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        first = transaction_record(customer=customer, external_id="tx-1", kind="purchase", amount=Decimal("12.50"), occurred_at=when)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = transaction_record(customer=customer, external_id="tx-1", kind="purchase", amount=Decimal("12.50"), occurred_at=when)

    assert first.pk == again.pk and callbacks == []
    assert snapshots(customer, "transaction") == 1
    with pytest.raises(Conflict) as exc:
        transaction_record(customer=customer, external_id="tx-1", kind="purchase", amount=Decimal("99.00"), occurred_at=when)
    assert exc.value.field == "amount"  # the field that differs, so the sender knows what to fix


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"amount": Decimal("0")}, "amount"),
        ({"amount": Decimal("-5")}, "amount"),
        ({"amount": 12.5}, "amount"),  # a float is refused: money is Decimal
        ({"kind": "lottery"}, "kind"),
        ({"occurred_at": timezone.now().replace(tzinfo=None)}, "occurred_at"),
        ({"occurred_at": timezone.now() + timedelta(days=1)}, "occurred_at"),
    ],
)
def test_bad_transactions_are_refused_naming_the_field_and_change_nothing(kwargs, field):
    customer = make_customer(income=None)
    values = {"customer": customer, "external_id": "tx-bad", "kind": "purchase", "amount": Decimal("1.00"), "occurred_at": timezone.now()}
    with pytest.raises(ValidationFailed) as exc:
        transaction_record(**{**values, **kwargs})
    assert exc.value.field == field
    assert not Transaction.objects.filter(external_id="tx-bad").exists()


def test_a_repayment_pays_the_installment_and_recomputes(django_capture_on_commit_callbacks):
    customer = make_customer(overdue_days=35)
    installment = customer.installments.get()
    paid_at = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        repayment_record(installment=installment, external_id="rp-1", amount=Decimal("40.00"), paid_at=paid_at)
    installment.refresh_from_db()
    assert installment.amount_paid == Decimal("40.00") and installment.paid_at is None  # partial

    with django_capture_on_commit_callbacks(execute=True):
        repayment_record(installment=installment, external_id="rp-2", amount=Decimal("60.00"), paid_at=paid_at)
    installment.refresh_from_db()
    assert installment.paid_at == paid_at
    assert snapshots(customer, "repayment") == 2
    assert customer.transactions.filter(kind="repayment").count() == 2

    with pytest.raises(ValidationFailed) as exc:
        repayment_record(installment=RepaymentInstallmentFactory(), external_id="rp-3", amount=Decimal("100.01"), paid_at=paid_at)
    assert exc.value.field == "amount"


def test_a_burst_of_applications_suspends_in_near_real_time(django_capture_on_commit_callbacks):
    customer = make_customer()
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(5):
            application_record(customer=customer, external_id=f"ap-{n}", requested_amount=Decimal("500.00"), applied_at=timezone.now())

    assert CreditLine.objects.get(customer=customer).access == "suspended"
    assert snapshots(customer, "application") == 5


def test_a_bureau_report_is_validated_and_triggers_a_recompute(django_capture_on_commit_callbacks):
    customer = make_customer(bureau=None)
    with pytest.raises(ValidationFailed) as exc:
        bureau_report_record(customer=customer, external_id="b-1", score=120, external_lenders=1, external_debt=Decimal("0"), reported_at=timezone.now())
    assert exc.value.field == "score"
    with pytest.raises(ValidationFailed) as exc:
        bureau_report_record(customer=customer, external_id="b-1", score=700, external_lenders=1, external_debt=Decimal("0"), reported_at=timezone.now(), delinquencies_12m=-1)
    assert exc.value.field == "delinquencies_12m"
    with django_capture_on_commit_callbacks(execute=True):
        bureau_report_record(customer=customer, external_id="b-1", score=800, external_lenders=1, external_debt=Decimal("0"), reported_at=timezone.now())
    assert ScoreSnapshot.objects.get(customer=customer, trigger="bureau").features["bureau_score"] == 800


def test_consents_are_granted_and_withdrawn_with_ledger_audit_and_recompute(django_capture_on_commit_callbacks):
    customer = make_customer(consents=())
    text = DisclosureFactory(kind="consent_text")
    with django_capture_on_commit_callbacks(execute=True):
        consent = consent_grant(customer=customer, purpose="credit_scoring", disclosure=text, channel="app", evidence={"device": "ios"})
        consent_grant(customer=customer, purpose="transaction_analysis", disclosure=text, channel="app", evidence={})
    assert CreditLine.objects.get(customer=customer).access == "open"
    assert consent_grant(customer=customer, purpose="credit_scoring", disclosure=text, channel="app", evidence={}).pk == consent.pk

    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(consent=consent)

    consent.refresh_from_db()
    assert consent.state == "withdrawn" and consent.withdrawn_at is not None
    assert list(consent.events.values_list("kind", flat=True)) == ["granted", "withdrawn"]
    assert CreditLine.objects.get(customer=customer).access == "not_offered"
    assert AuditEvent.objects.filter(action__in=["consent.grant", "consent.withdraw"]).count() == 3
    with pytest.raises(ValidationFailed):
        consent_grant(customer=customer, purpose="credit_scoring", disclosure=DisclosureFactory(kind="privacy_notice"), channel="app", evidence={})
    assert Consent.objects.filter(customer=customer).count() == 2 and ConsentEvent.objects.count() == 3


def _lapse(consent, *, ago=timedelta(hours=2)):
    """Move a consent's expiry into the past (its grant further back, as the constraint wants)."""
    granted = timezone.now() - timedelta(days=60)
    Consent.objects.filter(pk=consent.pk).update(granted_at=granted, expires_at=timezone.now() - ago)
    ConsentEvent.objects.filter(consent=consent, kind="granted").update(occurred_at=granted)
    consent.refresh_from_db()
    return consent


def test_the_hourly_sweep_expires_lapsed_consents_in_the_ledger_and_recomputes_their_customer(django_capture_on_commit_callbacks):
    from accounts.events import consents_expire_lapsed
    from decisions.tasks import expire_overrides_and_suspensions

    # given a scored customer whose credit_scoring consent lapsed two hours ago, and one still running
    customer = make_customer()
    with django_capture_on_commit_callbacks(execute=True):
        transaction_record(customer=customer, external_id="t-exp", kind="purchase", amount="5.00", occurred_at=timezone.now() - timedelta(minutes=1))
    lapsed = _lapse(Consent.objects.get(customer=customer, purpose="credit_scoring"))
    running = Consent.objects.get(customer=customer, purpose="bureau_query")
    Consent.objects.filter(pk=running.pk).update(expires_at=timezone.now() + timedelta(days=5))

    # when the hourly task runs (eagerly: the recompute follows on commit)
    with django_capture_on_commit_callbacks(execute=True):
        expire_overrides_and_suspensions()

    # then the lapsed one is expired, with a ledger event dated at its expiry and an audit event
    lapsed_now, running_now = Consent.objects.get(pk=lapsed.pk), Consent.objects.get(pk=running.pk)
    assert (lapsed_now.state, running_now.state) == ("expired", "active")
    event = lapsed_now.events.get(kind="expired")
    assert event.occurred_at == lapsed.expires_at
    assert AuditEvent.objects.filter(action="consent.expire", target_id=str(lapsed.pk), actor=None).count() == 1
    # and the customer was recomputed without a score, as without any scoring consent
    assert CreditLine.objects.get(customer=customer).access == "not_offered"
    assert snapshots(customer, "consent") == 1
    # a second sweep finds nothing to do and writes nothing
    before = AuditEvent.objects.count()
    assert consents_expire_lapsed() == 0 and AuditEvent.objects.count() == before


def test_a_new_grant_replaces_a_consent_that_lapsed_before_the_sweep():
    customer = make_customer(consents=())
    text = DisclosureFactory(kind="consent_text")
    old = _lapse(consent_grant(customer=customer, purpose="bureau_query", disclosure=text, channel="app", evidence={}))

    marks = CustomerChangeMark.objects.filter(customer=customer).count()
    new = consent_grant(customer=customer, purpose="bureau_query", disclosure=text, channel="web", evidence={"ip": "203.0.113.1"})
    assert CustomerChangeMark.objects.filter(customer=customer).count() == marks + 1  # one recompute asked for, not two

    assert new.pk != old.pk and new.state == "active"
    old.refresh_from_db()
    assert old.state == "expired" and list(old.events.values_list("kind", flat=True)) == ["granted", "expired"]

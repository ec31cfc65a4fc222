"""Ingesting events about a customer. Each new event enqueues a recompute of that customer after
commit, so access and limit follow the customer in near real time.

Ingestion is idempotent on the event's external id: the same event sent twice is stored once and
triggers one recompute; the same id with different content is a conflict.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from riskops.core.audit import audit_record
from riskops.core.exceptions import Conflict, ValidationFailed

from .changes import customer_data_changed
from .models import BureauReport, Consent, ConsentEvent, CreditApplication, Customer, Disclosure, RepaymentInstallment, Transaction


def _positive(amount: Decimal, field: str) -> Decimal:
    if not isinstance(amount, Decimal):
        raise ValidationFailed("amounts must be exact decimals", field=field)
    if amount <= 0:
        raise ValidationFailed("must be greater than zero", field=field)
    return amount


def _aware(value: datetime, field: str) -> datetime:
    if timezone.is_naive(value):
        raise ValidationFailed("must include a timezone", field=field)
    if value > timezone.now() + timedelta(minutes=5):
        raise ValidationFailed("must not be in the future", field=field)
    return value


def _create_once(model, *, external_id: str, same: dict, **values):
    """Create a row keyed by external_id, or return the identical one already stored.

    Insert first and look only on a conflict: new events are the common case, and this is on
    the event-to-decision path."""
    try:
        with transaction.atomic():
            return model.objects.create(external_id=external_id, **values), True
    except IntegrityError:
        existing = model.objects.filter(external_id=external_id).first()
        if existing is None:
            raise  # some other constraint: not a duplicate event
    if any(getattr(existing, k) != v for k, v in same.items()):
        raise Conflict(f"{external_id} was already received with different content", field="external_id")
    return existing, False


def transaction_record(
    *, customer: Customer, external_id: str, kind: str, amount: Decimal, occurred_at: datetime, merchant_category: str = ""
) -> Transaction:
    if kind not in Transaction.Kind.values or kind in (Transaction.Kind.REPAYMENT,):
        raise ValidationFailed(f"unknown or not directly recordable kind {kind!r}", field="kind")
    values = dict(customer=customer, kind=kind, amount=_positive(amount, "amount"), occurred_at=_aware(occurred_at, "occurred_at"), merchant_category=merchant_category)
    with transaction.atomic():
        row, created = _create_once(Transaction, external_id=external_id, same={"customer_id": customer.pk, "kind": kind, "amount": amount}, **values)
        if created:
            customer_data_changed(customer_id=customer.pk, trigger="transaction")
    return row


def repayment_record(*, installment: RepaymentInstallment, external_id: str, amount: Decimal, paid_at: datetime) -> RepaymentInstallment:
    """Apply a repayment to an installment; fully paid sets paid_at. Over-payment is refused."""
    _positive(amount, "amount")
    _aware(paid_at, "paid_at")
    with transaction.atomic():
        installment = RepaymentInstallment.objects.select_for_update().get(pk=installment.pk)
        if Transaction.objects.filter(external_id=external_id).exists():
            return installment  # this repayment was already applied
        remaining = installment.amount_due - installment.amount_paid
        if amount > remaining:
            raise ValidationFailed(f"exceeds the {remaining} still due on this installment", field="amount")
        Transaction.objects.create(
            external_id=external_id, customer_id=installment.customer_id, kind=Transaction.Kind.REPAYMENT, amount=amount, occurred_at=paid_at
        )
        installment.amount_paid += amount
        if installment.amount_paid == installment.amount_due:
            installment.paid_at = paid_at
        installment.save(update_fields=["amount_paid", "paid_at"])
        customer_data_changed(customer_id=installment.customer_id, trigger="repayment")
    return installment


def application_record(
    *, customer: Customer, external_id: str, requested_amount: Decimal, applied_at: datetime, channel: str = "app"
) -> CreditApplication:
    if channel not in CreditApplication.Channel.values:
        raise ValidationFailed(f"unknown channel {channel!r}", field="channel")
    values = dict(customer=customer, requested_amount=_positive(requested_amount, "requested_amount"), applied_at=_aware(applied_at, "applied_at"), channel=channel)
    with transaction.atomic():
        row, created = _create_once(CreditApplication, external_id=external_id, same={"customer_id": customer.pk, "requested_amount": requested_amount}, **values)
        if created:
            customer_data_changed(customer_id=customer.pk, trigger="application")
    return row


def bureau_report_record(
    *, customer: Customer, external_id: str, score: int, external_lenders: int, external_debt: Decimal,
    reported_at: datetime, delinquencies_12m: int = 0, bureau: str = "national", raw: dict | None = None,
) -> BureauReport:
    if not 300 <= score <= 900:
        raise ValidationFailed("must be between 300 and 900", field="score")
    if external_lenders < 0:
        raise ValidationFailed("must not be negative", field="external_lenders")
    if delinquencies_12m < 0:
        raise ValidationFailed("must not be negative", field="delinquencies_12m")
    if external_debt < 0:
        raise ValidationFailed("must not be negative", field="external_debt")
    values = dict(
        customer=customer, score=score, external_lenders=external_lenders, external_debt=external_debt,
        reported_at=_aware(reported_at, "reported_at"), delinquencies_12m=delinquencies_12m, bureau=bureau, raw=raw or {},
    )
    with transaction.atomic():
        row, created = _create_once(BureauReport, external_id=external_id, same={"customer_id": customer.pk, "score": score}, **values)
        if created:
            customer_data_changed(customer_id=customer.pk, trigger="bureau")
    return row


def consent_grant(
    *, customer: Customer, purpose: str, disclosure: Disclosure, channel: str, evidence: dict[str, Any], actor=None,
    expires_at: datetime | None = None,
) -> Consent:
    """Record a purpose-specific consent tied to the consent text the customer saw. Granting a
    purpose that is already active returns the active consent unchanged."""
    if purpose not in Consent.Purpose.values:
        raise ValidationFailed(f"unknown purpose {purpose!r}", field="purpose")
    if disclosure.kind != Disclosure.Kind.CONSENT_TEXT:
        raise ValidationFailed("a consent must point at a consent_text disclosure", field="disclosure")
    if channel not in Consent.Channel.values:
        raise ValidationFailed(f"unknown channel {channel!r}", field="channel")
    now = timezone.now()
    with transaction.atomic():
        Customer.objects.select_for_update().get(pk=customer.pk)  # serialise consent changes per customer
        active = Consent.objects.filter(customer=customer, purpose=purpose, state=Consent.State.ACTIVE).first()
        if active is not None:
            return active
        consent = Consent.objects.create(
            customer=customer, purpose=purpose, disclosure=disclosure, channel=channel, evidence=evidence,
            granted_at=now, expires_at=expires_at,
        )
        ConsentEvent.objects.create(consent=consent, kind=ConsentEvent.Kind.GRANTED, occurred_at=now, channel=channel, evidence=evidence)
        audit_record(actor=actor, action="consent.grant", target=consent, after={"customer": customer.external_id, "purpose": purpose, "disclosure": disclosure.pk})
        customer_data_changed(customer_id=customer.pk, trigger="consent")
    return consent


def consent_withdraw(*, consent: Consent, channel: str = "app", evidence: dict[str, Any] | None = None, actor=None) -> Consent:
    """Withdraw a consent: one call, effective for every later recompute (one is enqueued now)."""
    now = timezone.now()
    with transaction.atomic():
        consent = Consent.objects.select_for_update().get(pk=consent.pk)
        if consent.state != Consent.State.ACTIVE:
            return consent
        consent.state, consent.withdrawn_at = Consent.State.WITHDRAWN, now
        consent.save(update_fields=["state", "withdrawn_at"])
        ConsentEvent.objects.create(consent=consent, kind=ConsentEvent.Kind.WITHDRAWN, occurred_at=now, channel=channel, evidence=evidence or {})
        audit_record(actor=actor, action="consent.withdraw", target=consent, before={"state": "active"}, after={"state": "withdrawn"})
        customer_data_changed(customer_id=consent.customer_id, trigger="consent")
    return consent

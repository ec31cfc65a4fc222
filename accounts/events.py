"""Ingesting events about a customer. Each new event enqueues a recompute of that customer after
commit, so access and limit follow the customer in near real time.

Every service checks its whole input before it writes (`accounts/validation.py`): a bad argument
is a `ValidationFailed` or `NotFound` naming it, and nothing is stored, audited or enqueued.

Ingestion is idempotent on the event's external id: the same event sent twice is stored once and
triggers one recompute; the same id with any field different (including the kind: a repayment's
id is not a purchase's) is a `Conflict` naming the first field that differs.

A credit draw carries its repayment schedule: the installments are what the drawn balance is
made of (draw checks, the API's decision read and the engine's utilisation all sum what is still
owed on them), so a draw stored without them would never count as drawn.
"""

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone as dt_timezone
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from riskops.core.audit import audit_record
from riskops.core.exceptions import Conflict, NotFound, ValidationFailed

from .changes import customer_data_changed
from .models import (
    BureauReport, Consent, ConsentEvent, CreditApplication, Customer, Disclosure, DisclosureAcknowledgement, RepaymentInstallment, Transaction,
)
from .validation import (
    choice, column, first_difference, future_moment, integer, json_object, moment, money, not_before_onboarding, saved, text,
)

SMALLINT_MAX = 32767  # PositiveSmallIntegerField's range on every backend we run on
# A credit draw's schedule: 1 to MAX_INSTALLMENTS installments (five years of monthly ones).
MAX_INSTALLMENTS = 60
_INSTALLMENT_FIELDS = ("due_on", "amount_due")


def _onboarded_at(customer: Any, *, field: str = "customer") -> datetime:
    """The customer's onboarding time, read from the database: an unsaved or deleted customer is
    refused here rather than as a foreign-key error at commit."""
    saved(customer, Customer, field=field)
    onboarded_at = Customer.objects.filter(pk=customer.pk).values_list("onboarded_at", flat=True).first()
    if onboarded_at is None:
        raise NotFound(f"no customer with id {customer.pk}", field=field)
    return onboarded_at


def _same_or_conflict(existing: models.Model, *, external_id: str, expected: list[tuple[str, str, Any]]) -> None:
    """The whole content of a resent event must match what was stored under its id."""
    differs = first_difference(existing, expected)
    if differs is not None:
        raise Conflict(
            f"{external_id!r} was already received with a different {differs}", field=differs, external_id=external_id
        )


def _create_once(model: type[models.Model], *, external_id: str, expected: list[tuple[str, str, Any]], **values: Any):
    """Create a row keyed by external_id, or return the identical one already stored.

    Insert first and look only on a conflict: new events are the common case, and this is on
    the event-to-decision path. Every other constraint was checked before, so a unique-key clash
    is the only IntegrityError expected here."""
    try:
        with transaction.atomic():
            return model.objects.create(external_id=external_id, **values), True
    except IntegrityError:
        existing = model.objects.filter(external_id=external_id).first()
        if existing is None:
            raise  # not a duplicate event: a bug in the checks above, not bad input
    _same_or_conflict(existing, external_id=external_id, expected=expected)
    return existing, False


def _schedule(installments: Any, *, amount: Decimal, occurred_at: datetime) -> list[tuple[date, Decimal]]:
    """A credit draw's schedule, checked in order: (due_on, amount_due) per installment, the
    sequence being the position (1..n). Each error names the item, e.g. `installments[2].due_on`.

    Due dates are `date`s strictly after the draw's UTC date (the day the money left) and strictly
    increasing; amounts are exact money. The schedule repays at least the draw's amount (the
    principal, plus any fees or interest): a schedule short of it would understate the drawn
    balance."""
    if installments is None:
        raise ValidationFailed("is required for a credit_draw: its repayment schedule", field="installments")
    if isinstance(installments, (str, bytes)) or not isinstance(installments, Sequence):
        raise ValidationFailed(f"must be a list of installments, not {type(installments).__name__}", field="installments")
    if not 1 <= len(installments) <= MAX_INSTALLMENTS:
        raise ValidationFailed(f"must hold 1 to {MAX_INSTALLMENTS} installments (got {len(installments)})", field="installments")
    drawn_on = occurred_at.astimezone(dt_timezone.utc).date()
    amount_due_column = column(RepaymentInstallment, "amount_due")
    schedule: list[tuple[date, Decimal]] = []
    for index, item in enumerate(installments):
        at = f"installments[{index}]"
        if not isinstance(item, Mapping):
            raise ValidationFailed(f"must be an object with due_on and amount_due, not {type(item).__name__}", field=at)
        unknown = sorted(str(key)[:40] for key in item if key not in _INSTALLMENT_FIELDS)
        if unknown:
            raise ValidationFailed("is not a field of an installment (due_on, amount_due)", field=f"{at}.{unknown[0]}")
        for name in _INSTALLMENT_FIELDS:
            if name not in item:
                raise ValidationFailed("is required", field=f"{at}.{name}")
        due_on = item["due_on"]
        # A datetime is a date too, but a due date has no time of day (nor a timezone to read it in).
        if isinstance(due_on, datetime) or not isinstance(due_on, date):
            raise ValidationFailed(f"must be a date, not {type(due_on).__name__}", field=f"{at}.due_on")
        if due_on <= drawn_on:
            raise ValidationFailed(f"must be after the draw's date, {drawn_on.isoformat()} (UTC)", field=f"{at}.due_on")
        if schedule and due_on <= schedule[-1][0]:
            raise ValidationFailed(
                f"must be after installments[{index - 1}].due_on, {schedule[-1][0].isoformat()}: due dates strictly increase",
                field=f"{at}.due_on",
            )
        amount_due = money(item["amount_due"], field=f"{at}.amount_due", column=amount_due_column)
        schedule.append((due_on, amount_due))
    total = sum((amount_due for _, amount_due in schedule), Decimal("0.00"))
    if total < amount:
        raise ValidationFailed(
            f"the installments add up to {total}, less than the draw's amount {amount}: a schedule repays at least the principal",
            field="installments",
        )
    return schedule


def transaction_record(
    *, customer: Customer, external_id: str, kind: str, amount: Decimal | int | str, occurred_at: datetime, merchant_category: str = "",
    installments: Sequence[Mapping[str, Any]] | None = None,
) -> Transaction:
    """Store one wallet movement (not a repayment: `repayment_record` applies those to an
    installment). A `credit_draw` must carry its repayment schedule, `installments` (1 to 60
    `{"due_on": date, "amount_due": money}`, see `_schedule`), stored with it in one transaction
    as installments 1..n; any other kind must not carry one. Idempotent on external_id: the
    identical event again (for a draw, the same schedule) returns the stored row and writes
    nothing; the same id with any field different is a Conflict naming that field, `installments`
    for another schedule."""
    now = timezone.now()
    external_id = text(external_id, field="external_id", column=column(Transaction, "external_id"))
    if kind == Transaction.Kind.REPAYMENT:
        raise ValidationFailed("repayments are recorded with repayment_record, against an installment", field="kind")
    kind = choice(kind, field="kind", choices=Transaction.Kind.values)
    amount = money(amount, field="amount", column=column(Transaction, "amount"))
    occurred_at = moment(occurred_at, field="occurred_at", now=now)
    merchant_category = text(merchant_category, field="merchant_category", column=column(Transaction, "merchant_category"), required=False)
    if kind == Transaction.Kind.CREDIT_DRAW:
        schedule = _schedule(installments, amount=amount, occurred_at=occurred_at)
    elif installments is not None:
        raise ValidationFailed("only a credit_draw carries a repayment schedule", field="installments")
    with transaction.atomic():
        not_before_onboarding(occurred_at, field="occurred_at", onboarded_at=_onboarded_at(customer))
        expected = [
            ("kind", "kind", kind), ("customer", "customer_id", customer.pk), ("amount", "amount", amount),
            ("occurred_at", "occurred_at", occurred_at), ("merchant_category", "merchant_category", merchant_category),
        ]
        row, created = _create_once(
            Transaction, external_id=external_id, expected=expected,
            customer_id=customer.pk, kind=kind, amount=amount, occurred_at=occurred_at, merchant_category=merchant_category,
        )
        if kind == Transaction.Kind.CREDIT_DRAW and created:
            RepaymentInstallment.objects.bulk_create(
                RepaymentInstallment(draw_id=row.pk, customer_id=customer.pk, sequence=n, due_on=due_on, amount_due=amount_due)
                for n, (due_on, amount_due) in enumerate(schedule, start=1)
            )
        elif kind == Transaction.Kind.CREDIT_DRAW:
            # The schedule is part of the event; what was paid since is not (a resend after a
            # repayment is still the same draw).
            stored = list(RepaymentInstallment.objects.filter(draw_id=row.pk).order_by("sequence").values_list("due_on", "amount_due"))
            if stored != schedule:
                raise Conflict(
                    f"{external_id!r} was already received with a different repayment schedule", field="installments", external_id=external_id
                )
        if created:
            customer_data_changed(customer_id=customer.pk, trigger="transaction")
    return row


def repayment_record(
    *, installment: RepaymentInstallment, external_id: str, amount: Decimal | int | str, paid_at: datetime
) -> RepaymentInstallment:
    """Apply a repayment to an installment; fully paid sets paid_at. Over-payment is refused.

    The repayment is stored as a `repayment` transaction under its external_id. The identical
    repayment again returns the installment and writes nothing; the same id with another amount,
    time or customer — or an id already used by a purchase — is a Conflict naming the field."""
    now = timezone.now()
    external_id = text(external_id, field="external_id", column=column(Transaction, "external_id"))
    amount = money(amount, field="amount", column=column(Transaction, "amount"))
    paid_at = moment(paid_at, field="paid_at", now=now)
    saved(installment, RepaymentInstallment, field="installment")
    with transaction.atomic():
        installment = RepaymentInstallment.objects.select_for_update().filter(pk=installment.pk).first()
        if installment is None:
            raise NotFound("no such installment", field="installment")
        onboarded_at = Customer.objects.values_list("onboarded_at", flat=True).get(pk=installment.customer_id)
        not_before_onboarding(paid_at, field="paid_at", onboarded_at=onboarded_at)
        expected = [
            ("kind", "kind", Transaction.Kind.REPAYMENT), ("customer", "customer_id", installment.customer_id),
            ("amount", "amount", amount), ("paid_at", "occurred_at", paid_at),
        ]
        # Looked up before the balance check: a resend of the repayment that settled the
        # installment must return it, not fail as an over-payment.
        existing = Transaction.objects.filter(external_id=external_id).first()
        if existing is not None:
            _same_or_conflict(existing, external_id=external_id, expected=expected)
            return installment  # this repayment was already applied
        remaining = installment.amount_due - installment.amount_paid
        if amount > remaining:
            raise ValidationFailed(f"exceeds the {remaining} still due on this installment", field="amount")
        _, created = _create_once(
            Transaction, external_id=external_id, expected=expected,
            customer_id=installment.customer_id, kind=Transaction.Kind.REPAYMENT, amount=amount, occurred_at=paid_at,
        )
        if not created:
            return installment  # the same repayment, stored a moment ago by a concurrent call
        installment.amount_paid += amount
        if installment.amount_paid == installment.amount_due:
            installment.paid_at = paid_at
        installment.save(update_fields=["amount_paid", "paid_at"])
        customer_data_changed(customer_id=installment.customer_id, trigger="repayment")
    return installment


def application_record(
    *, customer: Customer, external_id: str, requested_amount: Decimal | int | str, applied_at: datetime, channel: str = "app"
) -> CreditApplication:
    """Store a credit application. Idempotent on external_id like `transaction_record`."""
    now = timezone.now()
    external_id = text(external_id, field="external_id", column=column(CreditApplication, "external_id"))
    channel = choice(channel, field="channel", choices=CreditApplication.Channel.values)
    requested_amount = money(requested_amount, field="requested_amount", column=column(CreditApplication, "requested_amount"))
    applied_at = moment(applied_at, field="applied_at", now=now)
    with transaction.atomic():
        not_before_onboarding(applied_at, field="applied_at", onboarded_at=_onboarded_at(customer))
        expected = [
            ("customer", "customer_id", customer.pk), ("requested_amount", "requested_amount", requested_amount),
            ("applied_at", "applied_at", applied_at), ("channel", "channel", channel),
        ]
        row, created = _create_once(
            CreditApplication, external_id=external_id, expected=expected,
            customer_id=customer.pk, requested_amount=requested_amount, applied_at=applied_at, channel=channel,
        )
        if created:
            customer_data_changed(customer_id=customer.pk, trigger="application")
    return row


def bureau_report_record(
    *, customer: Customer, external_id: str, score: int, external_lenders: int, external_debt: Decimal | int | str,
    reported_at: datetime, delinquencies_12m: int = 0, bureau: str = "national", raw: dict | None = None,
) -> BureauReport:
    """Store a credit-bureau answer. Idempotent on external_id like `transaction_record`; `raw` is
    the bureau's payload, kept as evidence (a JSON object of at most 64 KiB)."""
    now = timezone.now()
    external_id = text(external_id, field="external_id", column=column(BureauReport, "external_id"))
    score = integer(score, field="score", minimum=300, maximum=900)
    external_lenders = integer(external_lenders, field="external_lenders", minimum=0, maximum=SMALLINT_MAX)
    delinquencies_12m = integer(delinquencies_12m, field="delinquencies_12m", minimum=0, maximum=SMALLINT_MAX)
    external_debt = money(external_debt, field="external_debt", column=column(BureauReport, "external_debt"), allow_zero=True)
    reported_at = moment(reported_at, field="reported_at", now=now)
    bureau = text(bureau, field="bureau", column=column(BureauReport, "bureau"))
    raw = json_object({} if raw is None else raw, field="raw")
    with transaction.atomic():
        not_before_onboarding(reported_at, field="reported_at", onboarded_at=_onboarded_at(customer))
        expected = [
            ("customer", "customer_id", customer.pk), ("score", "score", score), ("external_lenders", "external_lenders", external_lenders),
            ("external_debt", "external_debt", external_debt), ("delinquencies_12m", "delinquencies_12m", delinquencies_12m),
            ("reported_at", "reported_at", reported_at), ("bureau", "bureau", bureau), ("raw", "raw", raw),
        ]
        row, created = _create_once(
            BureauReport, external_id=external_id, expected=expected,
            customer_id=customer.pk, score=score, external_lenders=external_lenders, external_debt=external_debt,
            reported_at=reported_at, delinquencies_12m=delinquencies_12m, bureau=bureau, raw=raw,
        )
        if created:
            customer_data_changed(customer_id=customer.pk, trigger="bureau")
    return row


def consent_grant(
    *, customer: Customer, purpose: str, disclosure: Disclosure, channel: str, evidence: dict[str, Any], actor=None,
    expires_at: datetime | None = None, now: datetime | None = None,
) -> Consent:
    """Record a purpose-specific consent tied to the consent text the customer saw. Granting a
    purpose that is already active returns the active consent unchanged. `evidence` is a JSON
    object (datetimes inside are refused: send ISO 8601 strings); `expires_at`, when given, is in
    the future. `now` is the clock (a replayed day's time; never from the API)."""
    now = now or timezone.now()
    purpose = choice(purpose, field="purpose", choices=Consent.Purpose.values)
    channel = choice(channel, field="channel", choices=Consent.Channel.values)
    evidence = json_object(evidence, field="evidence")
    if expires_at is not None:
        expires_at = future_moment(expires_at, field="expires_at", now=now)
    saved(disclosure, Disclosure, field="disclosure")
    saved(customer, Customer, field="customer")
    with transaction.atomic():
        kind = Disclosure.objects.filter(pk=disclosure.pk).values_list("kind", flat=True).first()
        if kind is None:
            raise NotFound("no such disclosure", field="disclosure")
        if kind != Disclosure.Kind.CONSENT_TEXT:
            raise ValidationFailed("a consent must point at a consent_text disclosure", field="disclosure")
        # Serialise consent changes per customer; a missing customer is refused here.
        if Customer.objects.select_for_update().filter(pk=customer.pk).first() is None:
            raise NotFound(f"no customer with id {customer.pk}", field="customer")
        active = Consent.objects.filter(customer=customer, purpose=purpose, state=Consent.State.ACTIVE).first()
        if active is not None and active.expires_at is not None and active.expires_at <= now:
            _consent_expire(active, announce=False)  # lapsed, not yet swept: the new grant replaces it (and announces once)
            active = None
        if active is not None:
            return active
        consent = Consent.objects.create(
            customer=customer, purpose=purpose, disclosure_id=disclosure.pk, channel=channel, evidence=evidence,
            granted_at=now, expires_at=expires_at,
        )
        ConsentEvent.objects.create(consent=consent, kind=ConsentEvent.Kind.GRANTED, occurred_at=now, channel=channel, evidence=evidence)
        audit_record(actor=actor, action="consent.grant", target=consent, after={"customer": customer.external_id, "purpose": purpose, "disclosure": disclosure.pk})
        customer_data_changed(customer_id=customer.pk, trigger="consent")
    return consent


# Purposes whose consent gates what the engine reads: their expiry changes a decision.
_SCORING_PURPOSES = {Consent.Purpose.CREDIT_SCORING, Consent.Purpose.BUREAU_QUERY, Consent.Purpose.TRANSACTION_ANALYSIS}
EXPIRY_BATCH = 500


def _consent_expire(consent: Consent, *, announce: bool = True) -> None:
    """An active consent whose `expires_at` has passed becomes `expired`, inside the caller's
    transaction with the consent (or its customer) locked. The ledger event is dated at the
    expiry itself, not when the sweep noticed it. Audited as a system event."""
    consent.state = Consent.State.EXPIRED
    consent.save(update_fields=["state"])
    ConsentEvent.objects.create(consent=consent, kind=ConsentEvent.Kind.EXPIRED, occurred_at=consent.expires_at, channel="", evidence={})
    audit_record(
        actor=None, action="consent.expire", target=consent,
        before={"state": "active"}, after={"state": "expired", "expires_at": consent.expires_at},
    )
    if announce and consent.purpose in _SCORING_PURPOSES:
        customer_data_changed(customer_id=consent.customer_id, trigger="consent")


def consents_expire_lapsed(*, now: datetime | None = None) -> int:
    """Hourly: every active consent past its `expires_at` is expired (state, an `expired` ledger
    event, an audit event) and, for a scoring purpose, its customer is marked for a recompute.

    The engine already ignores a lapsed consent (it reads `expires_at`), so this changes no
    decision by itself; it makes the ledger and the consent's state say what happened, frees the
    purpose for a new grant, and makes sure the customer is recomputed after the expiry even if
    no other event comes. Batches of EXPIRY_BATCH rows, each in its own transaction with its rows
    locked (SKIP LOCKED where the database has it: a grant or withdrawal in flight keeps its row
    and is seen by the next sweep). Safe to run twice: an expired consent is not active."""
    now = now or timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
            rows = Consent.objects.filter(state=Consent.State.ACTIVE, expires_at__lte=now).order_by("pk")
            if connection.features.has_select_for_update_skip_locked:
                rows = rows.select_for_update(skip_locked=True)
            batch = list(rows[:EXPIRY_BATCH])
            for consent in batch:
                _consent_expire(consent)
        expired += len(batch)
        if len(batch) < EXPIRY_BATCH:
            return expired


def consent_withdraw(
    *, consent: Consent, channel: str = "app", evidence: dict[str, Any] | None = None, actor=None, now: datetime | None = None
) -> Consent:
    """Withdraw a consent: one call, effective for every later recompute (one is enqueued now).
    `now` is the clock (a replayed day's time; never from the API)."""
    now = now or timezone.now()
    channel = choice(channel, field="channel", choices=Consent.Channel.values)
    evidence = json_object({} if evidence is None else evidence, field="evidence")
    saved(consent, Consent, field="consent")
    with transaction.atomic():
        consent = Consent.objects.select_for_update().filter(pk=consent.pk).first()
        if consent is None:
            raise NotFound("no such consent", field="consent")
        if consent.state != Consent.State.ACTIVE:
            return consent
        consent.state, consent.withdrawn_at = Consent.State.WITHDRAWN, now
        consent.save(update_fields=["state", "withdrawn_at"])
        ConsentEvent.objects.create(consent=consent, kind=ConsentEvent.Kind.WITHDRAWN, occurred_at=now, channel=channel, evidence=evidence)
        audit_record(actor=actor, action="consent.withdraw", target=consent, before={"state": "active"}, after={"state": "withdrawn"})
        customer_data_changed(customer_id=consent.customer_id, trigger="consent")
    return consent


def disclosure_acknowledge(
    *, customer: Customer, disclosure: Disclosure, shown_at: datetime, acknowledged_at: datetime, channel: str = "app", actor=None,
) -> DisclosureAcknowledgement:
    """Record that the customer acknowledged a published disclosure version (the engine's
    DISCLOSURE_MISSING rule reads these, so a recompute is asked for on commit).

    Both times are aware, not in the future, not before onboarding, and acknowledged_at >=
    shown_at. Idempotent: one acknowledgement per customer and version; the identical one again
    returns the stored row and writes nothing, the same version with another time or channel is a
    Conflict naming that field."""
    now = timezone.now()
    channel = choice(channel, field="channel", choices=DisclosureAcknowledgement.Channel.values)
    shown_at = moment(shown_at, field="shown_at", now=now)
    acknowledged_at = moment(acknowledged_at, field="acknowledged_at", now=now)
    if acknowledged_at < shown_at:
        raise ValidationFailed("must not be before shown_at", field="acknowledged_at")
    saved(disclosure, Disclosure, field="disclosure")
    with transaction.atomic():
        onboarded_at = _onboarded_at(customer)
        not_before_onboarding(shown_at, field="shown_at", onboarded_at=onboarded_at)
        if not Disclosure.objects.filter(pk=disclosure.pk).exists():
            raise NotFound("no such disclosure", field="disclosure")
        # Serialise acknowledgements per customer, like consents: the unique (customer,
        # disclosure) constraint then never surfaces as an IntegrityError.
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        existing = DisclosureAcknowledgement.objects.filter(customer_id=customer.pk, disclosure_id=disclosure.pk).first()
        if existing is not None:
            differs = first_difference(
                existing, [("shown_at", "shown_at", shown_at), ("acknowledged_at", "acknowledged_at", acknowledged_at), ("channel", "channel", channel)]
            )
            if differs is not None:
                raise Conflict(f"this disclosure was already acknowledged with a different {differs}", field=differs)
            return existing
        ack = DisclosureAcknowledgement.objects.create(
            customer_id=customer.pk, disclosure_id=disclosure.pk, channel=channel, shown_at=shown_at, acknowledged_at=acknowledged_at
        )
        audit_record(
            actor=actor, action="disclosure.acknowledge", target=ack,
            after={"customer": customer.external_id, "disclosure": disclosure.pk, "kind": disclosure.kind, "version": disclosure.version, "channel": channel},
        )
        # Trigger "consent": the standing the customer gave us changed (no trigger of its own).
        customer_data_changed(customer_id=customer.pk, trigger="consent")
    return ack

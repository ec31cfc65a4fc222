"""Reads for the API: a customer's effective decision, its history, open alerts."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from accounts.models import Customer, RepaymentInstallment, Transaction
from decisions.models import ACCESS_WITH_LIMIT, Access, CreditDecision, CreditLine, CustomerNotice, Override, RiskAlert
from decisions.presentation.texts import reason_text
from riskops.core.exceptions import NotFound
from riskops.core.prepared import prepared_cursor
from riskops.core.rows import instance_from_row

from .models import ApiClient, ApiToken

ZERO = Decimal("0.00")


def customer_by_external_id(external_id: Any, *, field: str = "customer", lock: bool = False) -> Customer:
    if not isinstance(external_id, str) or not external_id:
        from riskops.core.exceptions import ValidationFailed

        raise ValidationFailed("must be a customer id (a string)", field=field)
    if "\x00" in external_id or len(external_id) > Customer._meta.get_field("external_id").max_length:
        raise NotFound(f"no customer {external_id[:40]!r}", field=field)  # PostgreSQL cannot even compare a NUL
    customer = Customer.objects.filter(external_id=external_id).first()
    if customer is None:
        raise NotFound(f"no customer {external_id[:40]!r}", field=field)
    return customer


def reasons_with_text(stored: list | None) -> list[dict[str, str]]:
    out = []
    for r in stored or []:
        r = {"code": r} if isinstance(r, str) else r
        out.append({"code": str(r.get("code", "")), "text": reason_text(r)})
    return out


def drawn_balance(*, customer_id: int) -> Decimal:
    """What the customer still owes on unpaid installments (as decisions/engine/features.py measures
    outstanding): one aggregate on the installment index."""
    owed = RepaymentInstallment.objects.filter(customer_id=customer_id, paid_at__isnull=True).aggregate(
        owed=Sum(F("amount_due") - F("amount_paid"))
    )["owed"]
    return Decimal(owed or 0).quantize(ZERO)


@dataclass(frozen=True)
class EffectiveDecision:
    customer: str
    access: str
    limit: Decimal
    drawn: Decimal
    available: Decimal
    band: str | None
    score: int | None
    suspended_until: datetime | None
    decided_at: datetime | None
    reasons: list[dict[str, str]]
    score_reasons: list[dict[str, str]]
    model: dict[str, Any]
    override: dict[str, Any] | None
    notice: CustomerNotice | None


def effective_decision(*, external_id: str, now: datetime | None = None) -> EffectiveDecision:
    """The customer's decision in force: the credit line (the head of the decision ledger), what
    is drawn and still available, the override in force and the latest customer notice."""
    now = now or timezone.now()
    customer = customer_by_external_id(external_id)
    line = (
        CreditLine.objects.select_related("last_decision", "last_snapshot").filter(customer=customer).first()
    )
    drawn = drawn_balance(customer_id=customer.pk)
    if line is None:  # never computed: no line is offered yet
        return EffectiveDecision(
            customer=customer.external_id, access=Access.NOT_OFFERED.value, limit=ZERO, drawn=drawn, available=ZERO, band=None,
            score=None, suspended_until=None, decided_at=None, reasons=[], score_reasons=[],
            model={"access": Access.NOT_OFFERED.value, "limit": ZERO}, override=None, notice=None,
        )
    override = (
        Override.objects.filter(customer=customer, state=Override.State.APPROVED, expires_at__gt=now)
        .order_by("-decided_at", "-id").first()
    )
    # The notice of the decision in force (an adverse one has one; an open line's has none), not
    # merely the newest: a notice about an older decision would not explain this one.
    notice = CustomerNotice.objects.select_related("disclosure").filter(decision_id=line.last_decision_id).first() if line.last_decision_id else None
    limit = line.limit_amount
    available = max(limit - drawn, ZERO) if line.access in ACCESS_WITH_LIMIT else ZERO
    decision = line.last_decision
    return EffectiveDecision(
        customer=customer.external_id, access=line.access, limit=limit, drawn=drawn, available=available.quantize(ZERO),
        band=line.band or None, score=line.score, suspended_until=line.suspended_until,
        decided_at=decision.decided_at if decision else None,
        reasons=reasons_with_text(decision.reasons if decision else []),
        score_reasons=reasons_with_text(line.last_snapshot.reason_codes if line.last_snapshot else []),
        model={"access": line.model_access, "limit": line.model_limit},
        override=(
            {"id": override.pk, "access": override.access or None, "limit": override.limit_amount, "until": override.expires_at}
            if override else None
        ),
        notice=notice,
    )


def draw_installment(*, draw_external_id: str, sequence: int) -> RepaymentInstallment:
    """Installment `sequence` of the credit draw with this external id (NotFound naming `draw`)."""
    installment = (
        RepaymentInstallment.objects.select_related("draw", "customer")
        .filter(draw__external_id=draw_external_id, draw__kind=Transaction.Kind.CREDIT_DRAW, sequence=sequence).first()
    )
    if installment is None:
        raise NotFound(f"no installment {sequence} of draw {draw_external_id[:40]!r}", field="draw")
    return installment


def draw_schedule(*, draw_id: int) -> list[dict[str, Any]]:
    """A credit draw's installments in order, as the API answers them."""
    return list(RepaymentInstallment.objects.filter(draw_id=draw_id).order_by("sequence").values("id", "sequence", "due_on", "amount_due"))


def decision_history(*, external_id: str) -> QuerySet[CreditDecision]:
    customer = customer_by_external_id(external_id)
    # Each decision's notice (if it had one) and its disclosure come in the same query.
    return CreditDecision.objects.filter(customer=customer).select_related("customer", "notice", "notice__disclosure")


def open_alerts(*, customer_external_id: str | None = None) -> QuerySet[RiskAlert]:
    alerts = RiskAlert.objects.filter(status__in=RiskAlert.OPEN_STATUSES).select_related("customer")
    if customer_external_id is not None:
        alerts = alerts.filter(customer=customer_by_external_id(customer_external_id))
    return alerts


# The token lookup of every API request, written by hand (riskops/core/rows.py says why): the
# token by its public prefix, joined to its client, in one indexed SELECT.
_TOKEN_COLUMNS = ("id", "client_id", "prefix", "secret_hash", "revoked_at", "last_used_at")
_CLIENT_COLUMNS = ("id", "name", "scopes", "active", "throttle_rate")
_TOKEN_SQL = (
    "SELECT " + ", ".join(f"t.{c}" for c in _TOKEN_COLUMNS) + ", " + ", ".join(f"c.{c}" for c in _CLIENT_COLUMNS)
    + " FROM api_apitoken t JOIN api_apiclient c ON c.id = t.client_id WHERE t.prefix = %s"
)


def token_with_client(prefix: str) -> ApiToken | None:
    """The token with this prefix and its client (`token.client`, no second query), or None."""
    with prepared_cursor() as cursor:
        cursor.execute(_TOKEN_SQL, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(_TOKEN_COLUMNS)
    token = instance_from_row(ApiToken, dict(zip(_TOKEN_COLUMNS, row[:split])))
    token.client = instance_from_row(ApiClient, dict(zip(_CLIENT_COLUMNS, row[split:])))
    return token

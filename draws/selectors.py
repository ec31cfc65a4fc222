"""Reads about draw checks for staff pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from .models import DrawCheck, DrawDecision

# The reason texts staff read, by code (the stored English text is the record).
REASON_LABELS = {
    "ACCESS_CLOSED": _("The credit line is closed."),
    "ACCESS_SUSPENDED": _("The credit line is suspended."),
    "ACCESS_NOT_OFFERED": _("No credit line is offered to this customer."),
    "ACCESS_LIMITED": _("The credit line is limited: a person reviews draws first."),
    "OVER_AVAILABLE": _("The amount is more than the available limit."),
    "VELOCITY_HOUR_COUNT": _("Too many draws in the last hour."),
    "VELOCITY_HOUR_AMOUNT": _("Too much drawn in the last hour."),
    "VELOCITY_DAY_COUNT": _("Too many draws in the last day."),
    "VELOCITY_DAY_AMOUNT": _("Too much drawn in the last day."),
    "NEW_DEVICE": _("A device not seen for this customer recently."),
    "NEW_CHANNEL": _("A channel not seen for this customer recently."),
}
DENIALS_SHOWN = 20


@dataclass(frozen=True)
class DrawDenialRow:
    checked_at: datetime
    amount: Decimal
    currency: str
    channel: str
    merchant_category: str
    available: Decimal
    reasons: list[dict[str, str]]


def draw_denials_for_customer(*, external_id: str, limit: int = DENIALS_SHOWN) -> list[DrawDenialRow]:
    """The customer's newest denied draw checks (one query, `drawcheck_customer_time_idx`)."""
    rows = (
        DrawCheck.objects.filter(customer__external_id=external_id, decision=DrawDecision.DENY.value)
        .order_by("-checked_at", "-id")
        .values("checked_at", "amount", "currency", "channel", "merchant_category", "available", "reasons")[:limit]
    )
    return [
        DrawDenialRow(
            **{k: r[k] for k in ("checked_at", "amount", "currency", "channel", "merchant_category", "available")},
            reasons=[{"code": x.get("code", ""), "text": str(REASON_LABELS.get(x.get("code"), x.get("text", "")))} for x in r["reasons"]],
        )
        for r in rows
    ]

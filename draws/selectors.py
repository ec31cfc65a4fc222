"""Reads about draw checks for staff pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext_lazy as _

from decisions.presentation.formats import money

from .models import DrawCheck, DrawDecision

# The reason texts staff read, by code (the stored English text is the record).
REASON_LABELS = {
    "ACCESS_CLOSED": _("The credit line is closed."),
    "ACCESS_SUSPENDED": _("The credit line is suspended."),
    "ACCESS_NOT_OFFERED": _("No credit line is offered to this customer."),
    "ACCESS_LIMITED": _("The credit line is limited: a person reviews draws first."),
    "OVER_AVAILABLE": _("The amount is more than the available limit (after holds for draws allowed but not yet posted)."),
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
    amount: str  # ¥1,234.00, as every staff page shows money
    channel: str
    merchant_category: str
    available: str
    reasons: list[dict[str, str]]


def draw_denials_for_customer(*, customer_id: int, limit: int = DENIALS_SHOWN) -> list[DrawDenialRow]:
    """The customer's newest denied draw checks (one query, `drawcheck_customer_time_idx`)."""
    rows = (
        DrawCheck.objects.filter(customer_id=customer_id, decision=DrawDecision.DENY.value)
        .order_by("-checked_at", "-id")
        .values("checked_at", "amount", "channel", "merchant_category", "available", "reasons")[:limit]
    )
    return [
        DrawDenialRow(
            checked_at=r["checked_at"], amount=money(r["amount"]), channel=r["channel"],
            merchant_category=r["merchant_category"], available=money(r["available"]),
            reasons=[{"code": x.get("code", ""), "text": str(REASON_LABELS.get(x.get("code"), x.get("text", "")))} for x in r["reasons"]],
        )
        for r in rows
    ]

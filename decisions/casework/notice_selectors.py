"""Customer notices on the risk profile: what the customer was told about adverse decisions."""

from __future__ import annotations

from django.db.models import QuerySet

from decisions.models import CustomerNotice
from decisions.presentation.formats import money

PROFILE_NOTICES = 10


def customer_notices(*, external_id: str, limit: int = PROFILE_NOTICES) -> list[CustomerNotice]:
    """The customer's latest notices with their decision and disclosure (one query); each has
    `limit_text`, the decision's limit as the profile shows money (¥4,500.00)."""
    qs: QuerySet[CustomerNotice] = (
        CustomerNotice.objects.filter(customer__external_id=external_id)
        .select_related("decision", "disclosure")
        .order_by("-created_at", "-id")
    )
    notices = list(qs[:limit])
    for notice in notices:
        notice.limit_text = money(notice.decision.limit_amount)
    return notices

"""Customer notices on the risk profile: what the customer was told about adverse decisions."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import CustomerNotice

PROFILE_NOTICES = 10


def customer_notices(*, external_id: str, limit: int = PROFILE_NOTICES) -> list[CustomerNotice]:
    """The customer's latest notices with their decision and disclosure (one query)."""
    qs: QuerySet[CustomerNotice] = (
        CustomerNotice.objects.filter(customer__external_id=external_id)
        .select_related("decision", "disclosure")
        .order_by("-created_at", "-id")
    )
    return list(qs[:limit])

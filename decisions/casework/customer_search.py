"""The header's customer search (`/search/`): any customer of the book, flagged or not, found by
a full or partial external id or by the last phone digits the pages show.

Three queries whatever the book: the number of matches, the first `RESULT_CAP` of them with
their line joined, and which of those have open alerts."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from accounts.models import Customer
from riskops.core.masking import mask_phone

from decisions.models import RiskAlert

RESULT_CAP = 50
MIN_PHONE_DIGITS = 3  # the masked phone shows its last three digits, so they are what a user has
MAX_QUERY_LENGTH = 40


@dataclass(frozen=True)
class CustomerHit:
    external_id: str
    phone_masked: str
    access: str
    band: str
    flagged: bool


@dataclass(frozen=True)
class CustomerSearch:
    q: str
    total: int
    hits: list[CustomerHit]

    @property
    def capped(self) -> bool:
        return self.total > len(self.hits)


def normalise_query(raw: str) -> str:
    return (raw or "").strip()[:MAX_QUERY_LENGTH]


def _match(q: str) -> Q:
    match = Q(external_id__icontains=q)
    if q.isdigit() and len(q) >= MIN_PHONE_DIGITS:
        match |= Q(phone__endswith=q)
    return match


def customer_search(raw: str) -> CustomerSearch:
    """Customers whose external id contains the query (any case), or whose phone ends with it
    when it is 3+ digits. Exact id matches come first, then by external id."""
    q = normalise_query(raw)
    if not q:
        return CustomerSearch(q="", total=0, hits=[])
    matching = Customer.objects.filter(_match(q))
    total = matching.count()
    rows = list(
        matching.order_by("external_id")
        .values("pk", "external_id", "phone", "credit_line__access", "credit_line__band")[:RESULT_CAP]
    )
    rows.sort(key=lambda r: r["external_id"].lower() != q.lower())  # stable: the exact id first
    flagged = set(
        RiskAlert.objects.filter(customer_id__in=[r["pk"] for r in rows], status__in=RiskAlert.OPEN_STATUSES)
        .values_list("customer_id", flat=True)
        .distinct()
    )
    hits = [
        CustomerHit(
            external_id=r["external_id"],
            phone_masked=mask_phone(r["phone"] or ""),
            access=r["credit_line__access"] or "",
            band=r["credit_line__band"] or "",
            flagged=r["pk"] in flagged,
        )
        for r in rows
    ]
    return CustomerSearch(q=q, total=total, hits=hits)

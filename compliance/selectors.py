"""Reads for the consents, disclosures and notices pages of the compliance workspace.

Lists are paged without counting: a page reads `size + 1` rows to know whether a next page
exists, so a filter over 400,000 consents costs one indexed range read, never a COUNT of the
whole table. Book-wide figures (coverage, weekly grants and withdrawals, acknowledgement counts)
are aggregates over big tables: they are computed once and cached for `FIGURES_TTL` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, Mapping, TypeVar

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.http import Http404
from django.utils import timezone
from django.utils.http import urlencode

from accounts.models import (
    Consent,
    ConsentEvent,
    ConsentPurpose,
    Customer,
    Disclosure,
    DisclosureAcknowledgement,
    DisclosureKind,
)
from decisions.models import ACCESS_WITH_LIMIT, CreditDecision, CreditLine, ScoreSnapshot

T = TypeVar("T")
PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
FIGURES_TTL = 300  # seconds: book figures move with events, not with every page view
WEEKS = 26
# Purposes whose withdrawal takes effect on scoring (the engine's consent gate).
SCORING_PURPOSES = ("credit_scoring", "bureau_query", "transaction_analysis")


# --- paging ---------------------------------------------------------------------------------------


@dataclass
class Page(Generic[T]):
    rows: list[T]
    number: int
    size: int
    has_next: bool
    params: dict[str, str] = field(default_factory=dict)  # the other GET parameters, kept on links

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.size + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.size + len(self.rows)

    def _url(self, number: int) -> str:
        return "?" + urlencode({**self.params, "page": number})

    @property
    def filter_query(self) -> str:
        """The list's filters as a query string (no paging): what an export link carries."""
        return urlencode({k: v for k, v in self.params.items() if k != "page_size"})

    @property
    def next_url(self) -> str:
        return self._url(self.number + 1) if self.has_next else ""

    @property
    def previous_url(self) -> str:
        return self._url(self.number - 1) if self.has_previous else ""


def page_params(params: Mapping[str, Any]) -> tuple[int, int]:
    """(page number, page size) from GET parameters; anything odd falls back to the first page."""
    number = params.get("page", "")
    size = params.get("page_size", "")
    number = int(number) if str(number).isdigit() and 0 < int(number) <= 100_000 else 1
    size = int(size) if str(size).isdigit() and int(size) in PAGE_SIZES else DEFAULT_PAGE_SIZE
    return number, size


def page_of(qs: QuerySet[T], params: Mapping[str, Any]) -> Page[T]:
    """One page of an ordered queryset: one query, `size + 1` rows, no COUNT."""
    number, size = page_params(params)
    offset = (number - 1) * size
    rows = list(qs[offset : offset + size + 1])
    kept = {k: v for k, v in params.items() if k != "page" and v not in ("", None)}
    return Page(rows[:size], number, size, len(rows) > size, kept)


# --- book figures ---------------------------------------------------------------------------------


@dataclass
class PurposeCoverage:
    purpose: str
    label: str
    customers: int
    share: float  # of all customers, 0..1


@dataclass
class BookFigures:
    customers: int
    lines_held: int  # open or limited
    coverage: list[PurposeCoverage]
    weeks: list[str]  # ISO dates of week starts
    grants: list[int]
    withdrawals: list[int]
    computed_at: datetime


def _book_figures(now: datetime) -> BookFigures:
    customers = Customer.objects.count()  # 1
    lines_held = CreditLine.objects.filter(access__in=ACCESS_WITH_LIMIT).count()  # 2
    live = Q(state=Consent.State.ACTIVE) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    # At most one active consent per customer and purpose (a partial unique constraint): rows = customers.
    by_purpose = dict(Consent.objects.filter(live).values("purpose").annotate(n=Count("id")).values_list("purpose", "n"))  # 3
    coverage = [
        PurposeCoverage(p.value, str(p.label), by_purpose.get(p.value, 0), by_purpose.get(p.value, 0) / customers if customers else 0.0)
        for p in ConsentPurpose
    ]
    since = (now - timedelta(weeks=WEEKS)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (  # 4
        ConsentEvent.objects.filter(occurred_at__gte=since, kind__in=["granted", "withdrawn"])
        .annotate(week=TruncWeek("occurred_at"))
        .values("week", "kind")
        .annotate(n=Count("id"))
        .values_list("week", "kind", "n")
    )
    counts: dict[tuple[str, str], int] = {}
    for week, kind, n in rows:
        counts[(week.date().isoformat() if isinstance(week, datetime) else str(week)[:10], kind)] = n
    start = since.date() - timedelta(days=since.weekday())
    weeks = [(start + timedelta(weeks=i)).isoformat() for i in range(WEEKS + 1)]
    return BookFigures(
        customers, lines_held, coverage, weeks,
        [counts.get((w, "granted"), 0) for w in weeks], [counts.get((w, "withdrawn"), 0) for w in weeks], now,
    )


def book_figures(*, fresh: bool = False) -> BookFigures:
    """Consent coverage per purpose and grants/withdrawals per week, cached for FIGURES_TTL."""
    key = "compliance:book-figures:v1"
    figures = None if fresh else cache.get(key)
    if figures is None:
        figures = _book_figures(timezone.now())
        cache.set(key, figures, FIGURES_TTL)
    return figures


# --- one customer's ledger ------------------------------------------------------------------------


def customer_or_404(external_id: str) -> Customer:
    customer = Customer.objects.filter(external_id=external_id).only("id", "external_id", "full_name", "phone", "national_id", "language", "onboarded_at").first()
    if customer is None:
        raise Http404("No such customer.")
    return customer


def customer_consent_ledger(*, customer: Customer) -> list[Consent]:
    """Every consent the customer ever gave, with its consent text and its events (2 queries)."""
    return list(
        Consent.objects.filter(customer=customer)
        .select_related("disclosure")
        .prefetch_related(Prefetch("events", queryset=ConsentEvent.objects.order_by("occurred_at", "id")))
        .order_by("purpose", "-granted_at", "-id")
    )


# --- one consent's provenance ---------------------------------------------------------------------


def consent_or_404(pk: int) -> Consent:
    consent = Consent.objects.select_related("customer", "disclosure").filter(pk=pk).first()
    if consent is None:
        raise Http404("No such consent.")
    return consent


def consent_events(*, consent: Consent) -> list[ConsentEvent]:
    return list(consent.events.order_by("occurred_at", "id"))


def snapshots_using_consent(*, consent: Consent) -> QuerySet[ScoreSnapshot]:
    """Score snapshots that read data under this consent, newest first, with the decisions they
    led to (prefetched: two queries per page)."""
    return (
        ScoreSnapshot.objects.filter(consents_used=consent)
        .select_related("policy_version")
        .only("id", "customer_id", "computed_at", "trigger", "score", "band", "data_sources", "run_id", "policy_version__version")
        .prefetch_related(
            Prefetch("decisions", queryset=CreditDecision.objects.only("id", "snapshot_id", "access", "limit_amount", "previous_access", "previous_limit", "decided_at").order_by("decided_at", "id"))
        )
        .order_by("-computed_at", "-id")
    )


@dataclass
class WithdrawalProof:
    withdrawn_at: datetime
    snapshots_after: int  # must be 0
    decisions_after: int  # must be 0
    # Snapshots of the customer after the withdrawal that read what the consent covered (a score
    # for credit_scoring, the bureau or the transactions) under no consent of that purpose: must
    # be 0. Checked on what was read, not only on the links, so a snapshot that read the source
    # without naming the consent cannot pass.
    reads_without_consent: int = 0

    @property
    def holds(self) -> bool:
        return self.snapshots_after == 0 and self.decisions_after == 0 and self.reads_without_consent == 0


# What each purpose's consent lets the engine read, as a snapshot records it in `data_sources`
# (decisions/engine/features.py: SOURCE_CONSENT); credit_scoring covers the score itself.
PURPOSE_SOURCE = {ConsentPurpose.BUREAU_QUERY.value: "bureau", ConsentPurpose.TRANSACTION_ANALYSIS.value: "transactions"}


def _reads_without_consent(consent: Consent) -> int:
    later = ScoreSnapshot.objects.filter(customer_id=consent.customer_id, computed_at__gt=consent.withdrawn_at).exclude(
        consents_used__purpose=consent.purpose  # a consent granted again since covers them
    )
    if consent.purpose == ConsentPurpose.CREDIT_SCORING.value:
        return later.filter(score__isnull=False).count()
    source = PURPOSE_SOURCE.get(consent.purpose)
    if source is None:
        return 0  # marketing: never a scoring source
    # data_sources is a JSON list (no portable "contains" lookup on SQLite); one customer's later
    # snapshots, streamed.
    return sum(1 for sources in later.values_list("data_sources", flat=True).iterator(chunk_size=2000) if source in (sources or []))


def withdrawal_proof(*, consent: Consent) -> WithdrawalProof | None:
    """For a withdrawn consent: how many snapshots computed after the withdrawal (and decisions
    resting on them) used it, and how many read its source under no consent of its purpose.
    Zero everywhere is the proof that nothing after the withdrawal read under it."""
    if consent.withdrawn_at is None:
        return None
    after = ScoreSnapshot.objects.filter(consents_used=consent, computed_at__gt=consent.withdrawn_at)
    return WithdrawalProof(
        consent.withdrawn_at,
        after.count(),
        CreditDecision.objects.filter(snapshot__in=after.values("pk")).count(),
        _reads_without_consent(consent),
    )


# --- disclosures ----------------------------------------------------------------------------------


@dataclass
class DisclosureVersion:
    disclosure: Disclosure
    effective_until: datetime | None  # the next version's publication; None: in force (or future)
    in_force: bool
    acknowledgements: int | None  # None for consent text (evidenced by the consents themselves)


@dataclass
class DisclosureKindSummary:
    kind: str
    label: str
    versions: list[DisclosureVersion]
    current: Disclosure | None
    lines_held: int = 0
    acknowledged: int = 0

    @property
    def coverage(self) -> float | None:
        return self.acknowledged / self.lines_held if self.lines_held else None

    @property
    def missing(self) -> int:
        return self.lines_held - self.acknowledged


def _ack_counts() -> dict[int, int]:
    key = "compliance:ack-counts:v1"
    counts = cache.get(key)
    if counts is None:
        counts = dict(DisclosureAcknowledgement.objects.values("disclosure_id").annotate(n=Count("id")).values_list("disclosure_id", "n"))
        cache.set(key, counts, FIGURES_TTL)
    return counts


def _coverage(disclosure_id: int) -> tuple[int, int]:
    """(customers with an open or limited line, of whom acknowledged this version): one query."""
    key = f"compliance:coverage:v1:{disclosure_id}"
    found = cache.get(key)
    if found is None:
        acked = DisclosureAcknowledgement.objects.filter(customer_id=OuterRef("customer_id"), disclosure_id=disclosure_id)
        # The EXISTS goes straight into the FILTER clause: an annotation referenced there is lost
        # when Django wraps the aggregate in a subquery (it compared the string "acked").
        result = CreditLine.objects.filter(access__in=ACCESS_WITH_LIMIT).aggregate(
            total=Count("id"), acked=Count("id", filter=Exists(acked))
        )
        found = (result["total"], result["acked"])
        cache.set(key, found, FIGURES_TTL)
    return found


def disclosure_in_force(kind: str, *, now: datetime | None = None) -> Disclosure | None:
    """The version of `kind` published last, up to now (None before the first)."""
    return Disclosure.objects.filter(kind=kind, published_at__lte=now or timezone.now()).order_by("-version").first()


def missing_acknowledgements(disclosure: Disclosure) -> QuerySet:
    """Customers holding an open or limited line who have not acknowledged `disclosure`: the
    "N missing" of the coverage figure, one by one (served by the acknowledgement index)."""
    acked = DisclosureAcknowledgement.objects.filter(customer_id=OuterRef("customer_id"), disclosure_id=disclosure.pk)
    return (
        CreditLine.objects.filter(access__in=ACCESS_WITH_LIMIT)
        .filter(~Exists(acked))
        .select_related("customer")
        .order_by("customer__external_id")
    )


def disclosure_summaries(*, now: datetime | None = None) -> list[DisclosureKindSummary]:
    """Each document kind's versions with effective dates, acknowledgement counts, and coverage of
    the version in force among customers holding an open or limited line."""
    now = now or timezone.now()
    versions = list(Disclosure.objects.order_by("kind", "version"))  # 1 (bodies are a few kB: shown on the page)
    counts = _ack_counts()  # 2 (cached)
    summaries = []
    for kind in DisclosureKind:
        rows = [d for d in versions if d.kind == kind.value]
        published = [d for d in rows if d.published_at <= now]
        current = published[-1] if published else None
        items = []
        for i, d in enumerate(rows):
            until = rows[i + 1].published_at if i + 1 < len(rows) else None
            items.append(DisclosureVersion(d, until, d is current, None if kind == DisclosureKind.CONSENT_TEXT else counts.get(d.pk, 0)))
        summary = DisclosureKindSummary(kind.value, str(kind.label), list(reversed(items)), current)
        if current is not None and kind != DisclosureKind.CONSENT_TEXT:
            summary.lines_held, summary.acknowledged = _coverage(current.pk)  # one per kind (cached)
        summaries.append(summary)
    return summaries

"""Reads for the flagged-account queue (`/queue/`): one row per flagged account, its filters,
their counts and its pages — read from the case table (`AccountCase`, one open case per account,
kept in the same transaction as its alerts by `decisions.engine.services.cases`), never by grouping
the open alerts per request.

A page costs a fixed number of queries whatever the size of the book or of the page:
  1. the active policy version (SLA hours per severity, shown with the page),
  2. the counts per filter value (one aggregate over the open cases, line facets included: the
     case carries its line's access and band),
  3. the number of matching accounts (counted once, never again by a paginator),
  4. the page's cases, with their customers and credit lines joined,
  5. the open alerts of the page's customers (rules firing, assignees).
Nothing reads the book's customers or credit lines beyond the page's rows: the cost follows the
number of flagged accounts, not the size of the book. The default order is the partial index
`case_queue_idx` (open cases by severity, deadline, age); the external id is found by its unique
index, the phone-suffix search only among the open cases' customers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _, ngettext

from riskops.core.masking import mask_phone

from decisions.models import ACCESS_VALUES, BAND_VALUES, CASE_RULE_BITS, AccountCase, AlertRule, CreditLine, RiskAlert
from decisions.presentation.formats import money
from .overview_selectors import alert_sla_hours
from decisions.presentation.texts import access_name, rule_name
from .filters import (  # noqa: F401  (the queue's filter values, read here and by the pages)
    ASSIGNEE_CHOICES, DEFAULT_PAGE_SIZE, DEFAULT_SORT, OPEN_STATUSES, PAGE_SIZES, SEVERITIES, SORTS, QueueFilters,
)


def sla_hours() -> dict[int, int]:
    """Hours to triage an alert, per severity, from the active policy (`alerts.sla_hours`): the
    same reading as the overview's SLA figures, so both pages agree on what is overdue."""
    return alert_sla_hours()


def _search(q: str) -> Q | None:
    if not q:
        return None
    match = Q(customer__external_id=q) | Q(customer__external_id=q.upper())
    digits = "".join(ch for ch in q if ch.isdigit())
    if digits and digits == q and len(digits) >= 4:
        match |= Q(customer__phone__endswith=digits)
    return match


# The queue's default order (`sort=-severity`) is the order of work: the highest severity, then
# the nearest SLA deadline, then the oldest alert, then the customer id (stable). Other sorts break
# their ties the same way; "next case" takes the first unassigned account in this order. It is
# the column order of the partial index `case_queue_idx`.
PRIORITY_TIES = ("due_at", "oldest_raised_at", "customer_id")
PRIORITY_ORDER = ("-max_severity", *PRIORITY_TIES)


def open_cases() -> QuerySet[AccountCase]:
    return AccountCase.objects.filter(closed_at__isnull=True)


def _with_rule(qs: QuerySet[AccountCase], rule: str) -> QuerySet[AccountCase]:
    """Cases with an open alert of `rule` (its bit set in `rule_mask`)."""
    return qs.annotate(rule_hit=F("rule_mask").bitand(CASE_RULE_BITS[rule])).filter(rule_hit__gt=0)


def queue_cases(*, filters: QueueFilters, user: Any) -> QuerySet[AccountCase]:
    """The open cases matching the filters: an account with an open alert of the rule, of the
    highest severity asked, held (in review) or not (open), by the user or nobody, of the line's
    access or band, found by the search, past its SLA. Also what "next case" picks from."""
    qs = open_cases()
    if filters.rule:
        qs = _with_rule(qs, filters.rule)
    if filters.severity:
        qs = qs.filter(max_severity=filters.severity)
    if filters.status == RiskAlert.Status.OPEN:
        qs = qs.filter(assigned_to__isnull=True)
    elif filters.status == RiskAlert.Status.IN_REVIEW:
        qs = qs.filter(assigned_to__isnull=False)
    if filters.assignee == "me":
        qs = qs.filter(assigned_to=user)
    elif filters.assignee == "unassigned":
        qs = qs.filter(assigned_to__isnull=True)
    if filters.access:
        qs = qs.filter(access=filters.access)
    if filters.band:
        qs = qs.filter(band=filters.band)
    search = _search(filters.q)
    if search is not None:
        qs = qs.filter(search)
    return qs


def next_case_accounts(*, filters: QueueFilters, user: Any, now: datetime | None = None) -> QuerySet:
    """Unassigned accounts matching `filters`, most urgent first (`PRIORITY_ORDER`): the accounts
    "next case" tries in turn, as `customer_id` values. An account someone holds is never one of
    them, even when an alert raised since their claim is still unassigned (its case is theirs)."""
    qs = queue_cases(filters=filters, user=user).filter(assigned_to__isnull=True)
    if filters.sla_breached:
        qs = qs.filter(due_at__lt=now or timezone.now())
    return qs.order_by(*PRIORITY_ORDER).values_list("customer_id", flat=True)


def has_open_siblings(alert: RiskAlert) -> bool:
    """Whether the alert's account has other open alerts (an action on the account changes them too)."""
    return RiskAlert.objects.filter(customer_id=alert.customer_id, status__in=OPEN_STATUSES).exclude(pk=alert.pk).exists()


@dataclass
class QueueRow:
    customer_id: int
    external_id: str
    phone_masked: str
    access: str | None
    band: str | None
    limit_amount: Any
    max_severity: int
    alert_count: int
    oldest_raised_at: datetime
    due_at: datetime
    overdue: timedelta | None  # how far past the SLA, None when within it
    remaining: timedelta | None
    alerts: list[RiskAlert] = field(default_factory=list)
    age: timedelta = timedelta()  # since the oldest open alert was raised

    @property
    def rules(self) -> list[tuple[str, str]]:
        """(code, name in the viewer's language), most severe first, each rule once."""
        seen: dict[str, str] = {}
        for a in self.alerts:
            seen.setdefault(a.rule, rule_name(a.rule))
        return list(seen.items())

    @property
    def limit_display(self) -> str:
        return money(self.limit_amount) if self.limit_amount is not None else "—"

    @property
    def access_label(self) -> str:
        return access_name(self.access) if self.access else ""

    @property
    def assignees(self) -> list[Any]:
        seen: dict[int, Any] = {}
        for a in self.alerts:
            if a.assigned_to_id and a.assigned_to_id not in seen:
                seen[a.assigned_to_id] = a.assigned_to
        return list(seen.values())

    @property
    def claimable(self) -> RiskAlert | None:
        """The alert `c` claims on this row (and with it the account): the most severe open one,
        while nobody holds the account."""
        if self.assignees:
            return None
        return next((a for a in self.alerts if a.status == RiskAlert.Status.OPEN), None)

    @property
    def age_words(self) -> str:
        return duration_words(self.age)

    @property
    def sla_words(self) -> str:
        if self.overdue is not None:
            return _("%(duration)s over") % {"duration": duration_words(self.overdue)}
        return _("%(duration)s left") % {"duration": duration_words(self.remaining or timedelta())}


def duration_words(delta: timedelta) -> str:
    """'2 h', '3 d', '15 min': a duration read at a glance."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return ngettext("%(n)d min", "%(n)d min", minutes) % {"n": minutes}
    hours = minutes // 60
    if hours < 48:
        return ngettext("%(n)d h", "%(n)d h", hours) % {"n": hours}
    return ngettext("%(n)d day", "%(n)d days", hours // 24) % {"n": hours // 24}


@dataclass
class QueuePage:
    filters: QueueFilters
    rows: list[QueueRow]
    total: int  # matching accounts
    queue_total: int  # flagged accounts in the whole queue, unfiltered
    counts: dict[str, dict[str, int]]
    sla_hours: dict[int, int]
    number: int
    num_pages: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.filters.page_size + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.rows) - 1 if self.rows else 0


def queue_counts(*, user: Any) -> dict[str, dict[str, int]]:
    """Flagged accounts per filter value, over the whole open queue: one aggregate over the open
    cases (the line's facets from the case's copy of its access and band)."""
    base = open_cases()
    aggregates: dict[str, Any] = {"all": Count("pk")}
    annotations = {}
    for rule in AlertRule.values:
        annotations[f"hit_{rule}"] = F("rule_mask").bitand(CASE_RULE_BITS[rule])
        aggregates[f"rule__{rule}"] = Count("pk", filter=Q(**{f"hit_{rule}__gt": 0}))
    for sev in SEVERITIES:
        aggregates[f"severity__{sev}"] = Count("pk", filter=Q(max_severity=sev))
    aggregates[f"status__{RiskAlert.Status.OPEN}"] = Count("pk", filter=Q(assigned_to__isnull=True))
    aggregates[f"status__{RiskAlert.Status.IN_REVIEW}"] = Count("pk", filter=Q(assigned_to__isnull=False))
    aggregates["assignee__me"] = Count("pk", filter=Q(assigned_to=user))
    aggregates["assignee__unassigned"] = Count("pk", filter=Q(assigned_to__isnull=True))
    for access in ACCESS_VALUES:
        aggregates[f"access__{access}"] = Count("pk", filter=Q(access=access))
    for band in BAND_VALUES:
        aggregates[f"band__{band}"] = Count("pk", filter=Q(band=band))
    result = base.annotate(**annotations).aggregate(**aggregates)
    counts: dict[str, dict[str, int]] = {"all": {"": result.pop("all")}}
    for key, value in result.items():
        group, _sep, name = key.partition("__")
        counts.setdefault(group, {})[name] = value
    return counts


def _line(customer: Any) -> CreditLine | None:
    try:
        return customer.credit_line
    except CreditLine.DoesNotExist:
        return None


def flagged_accounts(*, filters: QueueFilters, user: Any, now: datetime | None = None) -> QueuePage:
    """One page of the queue: one row per flagged account (its open case), sorted and filtered."""
    now = now or timezone.now()
    hours = sla_hours()
    counts = queue_counts(user=user)
    cases = queue_cases(filters=filters, user=user)
    if filters.sla_breached:
        cases = cases.filter(due_at__lt=now)
    # Counted once; the page below is a slice, so no paginator counts again.
    total = cases.count()
    num_pages = max((total + filters.page_size - 1) // filters.page_size, 1)
    number = min(filters.page, num_pages)
    direction = "-" if filters.sort.startswith("-") else ""
    order = [f"{direction}{SORTS[filters.sort.lstrip('-')]}", *PRIORITY_TIES]
    start = (number - 1) * filters.page_size
    page: list[AccountCase] = []
    if total:
        page = list(
            cases.select_related("customer", "customer__credit_line").order_by(*order)[start : start + filters.page_size]
        )
    alerts_by_customer: dict[int, list[RiskAlert]] = {}
    if page:
        for alert in (
            RiskAlert.objects.filter(customer_id__in=[c.customer_id for c in page], status__in=OPEN_STATUSES)
            .select_related("assigned_to")
            .order_by("-severity", "raised_at", "pk")
        ):
            alerts_by_customer.setdefault(alert.customer_id, []).append(alert)
    rows = []
    for case in page:
        due, line = case.due_at, _line(case.customer)  # the limit, and access/band as the line has them
        rows.append(
            QueueRow(
                customer_id=case.customer_id,
                external_id=case.customer.external_id,
                phone_masked=mask_phone(case.customer.phone or ""),
                access=line.access if line else None,
                band=line.band if line else None,
                limit_amount=line.limit_amount if line else None,
                max_severity=case.max_severity,
                alert_count=case.alert_count,
                oldest_raised_at=case.oldest_raised_at,
                due_at=due,
                overdue=now - due if due < now else None,
                remaining=due - now if due >= now else None,
                alerts=alerts_by_customer.get(case.customer_id, []),
                age=max(now - case.oldest_raised_at, timedelta()),
            )
        )
    return QueuePage(
        filters=replace(filters, page=number),
        rows=rows,
        total=total,
        queue_total=counts["all"][""],
        counts=counts,
        sla_hours=hours,
        number=number,
        num_pages=num_pages,
    )


def queue_links(*, filters: QueueFilters, page: "QueuePage") -> dict[str, Any]:
    """What the queue page shows around its rows: each filter's values with their counts
    (`facets`), the sortable column headers, the active filters each with the link that drops it,
    and the links to clear, resize and turn the page. No query: the counts come with the page."""
    counts = page.counts
    facets = {
        "rule": [(r.value, rule_name(r.value), counts["rule"].get(r.value, 0)) for r in AlertRule],
        "severity": [(str(s), str(s), counts["severity"].get(str(s), 0)) for s in (5, 4, 3, 2, 1)],
        "status": [
            ("open", _("Open"), counts["status"].get("open", 0)),
            ("in_review", _("In review"), counts["status"].get("in_review", 0)),
        ],
        "assignee": [
            ("me", _("Me"), counts["assignee"].get("me", 0)),
            ("unassigned", _("Unassigned"), counts["assignee"].get("unassigned", 0)),
        ],
        "access": [(a, access_name(a), counts["access"].get(a, 0)) for a in ACCESS_VALUES],
        "band": [(b, b, counts["band"].get(b, 0)) for b in BAND_VALUES],
    }
    sort_key = filters.sort.lstrip("-")
    descending = filters.sort.startswith("-")
    columns = []
    for key, label in (
        ("customer", _("Customer")),
        ("severity", _("Severity")),
        ("alerts", _("Alerts")),
        ("access", _("Access")),
        ("band", _("Band")),
        ("limit", _("Limit")),
        ("age", _("Age")),
        ("due", _("SLA")),
    ):
        active = key == sort_key
        # Clicking the active column flips it; a new column starts with its natural order.
        natural_desc = key in ("severity", "alerts", "limit")
        next_sort = (key if descending else f"-{key}") if active else (f"-{key}" if natural_desc else key)
        columns.append(
            {
                "key": key,
                "label": label,
                "active": active,
                "aria_sort": ("descending" if descending else "ascending") if active else "none",
                "url": filters.query(sort=next_sort, page=1),
            }
        )
    # Each active filter, with the link that drops just that one (the empty state uses them).
    assignee_words = {"me": _("assigned to me"), "unassigned": _("unassigned")}
    active_filters = [
        {"label": label, "url": filters.query(page=1, **reset)}
        for shown, label, reset in (
            (filters.rule, rule_name(filters.rule), {"rule": ""}),
            (filters.severity, _("severity %(n)s") % {"n": filters.severity}, {"severity": None}),
            (filters.status, dict(RiskAlert.Status.choices).get(filters.status, ""), {"status": ""}),
            (filters.assignee != "anyone", assignee_words.get(filters.assignee, ""), {"assignee": "anyone"}),
            (filters.access, access_name(filters.access), {"access": ""}),
            (filters.band, _("band %(b)s") % {"b": filters.band}, {"band": ""}),
            (filters.sla_breached, _("SLA breached"), {"sla_breached": False}),
            (filters.q, _("search “%(q)s”") % {"q": filters.q}, {"q": ""}),
        )
        if shown
    ]
    return {
        "facets": facets,
        "columns": columns,
        "active_filters": active_filters,
        "clear_url": QueueFilters(sort=filters.sort, page_size=filters.page_size).query(),
        "page_sizes": [(n, filters.query(page_size=n, page=1)) for n in PAGE_SIZES],
        "prev_url": filters.query(page=page.number - 1) if page.has_previous else "",
        "next_url": filters.query(page=page.number + 1) if page.has_next else "",
        "page_links": page_links(filters=filters, number=page.number, num_pages=page.num_pages),
    }


def page_numbers(number: int, num_pages: int, around: int = 2) -> list[int | None]:
    """The page numbers to show: the first, the last and `around` each side of the current one;
    None marks a gap ("…")."""
    wanted = sorted({1, num_pages, *range(max(number - around, 1), min(number + around, num_pages) + 1)})
    shown: list[int | None] = []
    for n in wanted:
        if shown and n - (shown[-1] or 0) > 1:
            shown.append(None)
        shown.append(n)
    return shown


def page_links(*, filters: QueueFilters, number: int, num_pages: int) -> list[dict[str, Any]]:
    return [
        {"gap": True} if n is None else {"number": n, "url": filters.query(page=n), "current": n == number, "last": n == num_pages}
        for n in page_numbers(number, num_pages)
    ]

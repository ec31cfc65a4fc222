"""The queue's request parsing: `QueueFilters`, the state of `/queue/` read from plain GET
parameters (the URL is the state), and the values each filter accepts. Used by the queue's views,
its reads (queue_selectors.py) and triage's "next case" (services/triage.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping
from urllib.parse import urlencode

from decisions.models import ACCESS_VALUES, BAND_VALUES, AlertRule, RiskAlert

OPEN_STATUSES = RiskAlert.OPEN_STATUSES
SEVERITIES = (1, 2, 3, 4, 5)
PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
ASSIGNEE_CHOICES = ("anyone", "me", "unassigned")

# Sort key (GET ?sort=) → the case's column (AccountCase); "-" for descending. Ties break on customer id.
SORTS = {
    "severity": "max_severity",
    "due": "due_at",
    "age": "oldest_raised_at",
    "customer": "customer__external_id",
    "access": "access",  # the case's copy of its line's access and band
    "band": "band",
    "limit": "customer__credit_line__limit_amount",
    "alerts": "alert_count",
}
DEFAULT_SORT = "-severity"


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# What each filter accepts; `rejected_params` names the values given that are not among them.
_VALID = {
    "rule": lambda v: v in AlertRule.values,
    "severity": lambda v: _int_or_none(v) in SEVERITIES,
    "status": lambda v: v in OPEN_STATUSES,
    "assignee": lambda v: v in ASSIGNEE_CHOICES,
    "access": lambda v: v in ACCESS_VALUES,
    "band": lambda v: v in BAND_VALUES,
    "sla": lambda v: v == "breached",
    "sort": lambda v: v.lstrip("-") in SORTS,
    "page": lambda v: (_int_or_none(v) or 0) >= 1,
    "page_size": lambda v: _int_or_none(v) in PAGE_SIZES,
}


def rejected_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, value) of each filter given a value it does not accept: the page says it ignored
    them rather than silently showing an unfiltered queue."""
    given = {name: (params.get(name) or "").strip() for name in _VALID}
    return [(name, value) for name, value in given.items() if value and not _VALID[name](value)]


@dataclass(frozen=True)
class QueueFilters:
    """The queue's state, parsed from plain GET parameters (the URL is the state). Unknown or
    malformed values are dropped, never an error: a stale bookmark still opens the queue."""

    rule: str = ""
    severity: int | None = None
    status: str = ""  # "", "open" (unclaimed) or "in_review"
    assignee: str = "anyone"  # anyone / me / unassigned
    access: str = ""
    band: str = ""
    sla_breached: bool = False
    q: str = ""
    sort: str = DEFAULT_SORT
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "QueueFilters":
        get = lambda name: (params.get(name) or "").strip()  # noqa: E731
        severity = _int_or_none(get("severity"))
        sort = get("sort")
        page_size = _int_or_none(get("page_size"))
        return cls(
            rule=get("rule") if get("rule") in AlertRule.values else "",
            severity=severity if severity in SEVERITIES else None,
            status=get("status") if get("status") in OPEN_STATUSES else "",
            assignee=get("assignee") if get("assignee") in ASSIGNEE_CHOICES else "anyone",
            access=get("access") if get("access") in ACCESS_VALUES else "",
            band=get("band") if get("band") in BAND_VALUES else "",
            sla_breached=get("sla") == "breached",
            q=get("q")[:40],
            sort=sort if sort.lstrip("-") in SORTS else DEFAULT_SORT,
            page=max(_int_or_none(get("page")) or 1, 1),
            page_size=page_size if page_size in PAGE_SIZES else DEFAULT_PAGE_SIZE,
        )

    def params(self, **changes: Any) -> dict[str, str]:
        """The GET parameters for this state with `changes` applied; defaults are left out."""
        state = replace(self, **changes)
        out = {
            "rule": state.rule,
            "severity": "" if state.severity is None else str(state.severity),
            "status": state.status,
            "assignee": "" if state.assignee == "anyone" else state.assignee,
            "access": state.access,
            "band": state.band,
            "sla": "breached" if state.sla_breached else "",
            "q": state.q,
            "sort": "" if state.sort == DEFAULT_SORT else state.sort,
            "page": "" if state.page == 1 else str(state.page),
            "page_size": "" if state.page_size == DEFAULT_PAGE_SIZE else str(state.page_size),
        }
        return {k: v for k, v in out.items() if v}

    def query(self, **changes: Any) -> str:
        params = self.params(**changes)
        return "?" + urlencode(params) if params else "?"

    @property
    def is_filtered(self) -> bool:
        return any(
            [self.rule, self.severity, self.status, self.assignee != "anyone", self.access, self.band, self.sla_breached, self.q]
        )

"""Keeping the case per flagged account (`AccountCase`) equal to its open alerts.

A case is derived data: its severity, SLA deadline, alert count, rules and assignee are what
grouping the customer's open alerts gives (`case_fields`), its access and band its credit line's. Whoever changes alerts calls
`cases_sync` for the customers it touched, in the same transaction, after its alert writes:
the engine (`writing.write_plans`: new, updated and cleared alerts, changed lines; single
customer or chunk)
and triage (claim, assign, bulk assign, next case, give back, dismiss, confirm, bulk dismiss).
So a reader of the case table sees exactly what a GROUP BY over the open alerts would, without
paying for it on every request.

Lock order, everywhere: (the customer row, for triage) → the alerts → the open case rows, in
customer-id order. `cases_sync` locks the open cases before it reads the alerts, so two
transactions syncing the same account (a recompute raising an alert while an analyst claims the
account) take turns and the second one reads the first one's committed alerts: no lost update.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from django.db import IntegrityError, transaction

from riskops.core.bulk import ids_param, update_objects

from decisions.engine.policy_reads import alert_sla_hours
from decisions.models import CASE_RULE_BITS, AccountCase, CreditLine, RiskAlert

# The case's fields that come from its alerts (the invariant's columns).
DERIVED_FIELDS = ("max_severity", "due_at", "oldest_raised_at", "alert_count", "rule_mask", "assigned_to_id", "access", "band")
WRITTEN_FIELDS = (
    "max_severity", "due_at", "oldest_raised_at", "alert_count", "rule_mask", "assigned_to", "access", "band", "last_activity_at",
)


@dataclass(frozen=True)
class OpenAlert:
    customer_id: int
    rule: str
    severity: int
    raised_at: datetime
    assigned_to_id: int | None


def case_fields(alerts: list[OpenAlert], *, sla_hours: dict[int, int], line: tuple[str, str] = ("", "")) -> dict:
    """What a customer's case holds, from its open alerts (at least one) and its line's (access,
    band): the definition of the invariant `cases_sync` keeps and the tests check."""
    return {
        "access": line[0],
        "band": line[1],
        "max_severity": max(a.severity for a in alerts),
        "due_at": min(a.raised_at + timedelta(hours=sla_hours[a.severity]) for a in alerts),
        "oldest_raised_at": min(a.raised_at for a in alerts),
        "alert_count": len(alerts),
        "rule_mask": _rule_mask(a.rule for a in alerts),
        # One account, one analyst: every held alert has the same assignee; the smallest id keeps
        # the result defined even if that were ever broken.
        "assigned_to_id": min((a.assigned_to_id for a in alerts if a.assigned_to_id is not None), default=None),
    }


def _rule_mask(rules: Iterable[str]) -> int:
    mask = 0
    for rule in rules:
        mask |= CASE_RULE_BITS[rule]
    return mask


def open_alerts_by_customer(customer_ids: list[int] | None) -> dict[int, list[OpenAlert]]:
    """The open alerts of these customers (all customers with None), grouped per customer."""
    qs = RiskAlert.objects.filter(status__in=RiskAlert.OPEN_STATUSES)
    if customer_ids is not None:
        qs = qs.filter(customer_id__in=ids_param(customer_ids))
    grouped: dict[int, list[OpenAlert]] = {}
    for row in qs.order_by().values_list("customer_id", "rule", "severity", "raised_at", "assigned_to_id"):
        grouped.setdefault(row[0], []).append(OpenAlert(*row))
    return grouped


def cases_sync(*, customer_ids: Iterable[int], now: datetime, sla_hours: dict[int, int] | None = None) -> int:
    """Make these customers' open cases equal to their open alerts: open a case for an account
    with open alerts and none, update one whose alerts changed (its `last_activity_at` becomes
    `now`), close one (`closed_at = now`) whose last open alert closed. Returns how many cases it
    wrote. Must run inside the caller's transaction, after its alert writes.

    Queries: the open cases locked (1), the open alerts (1), their lines (1), then one write per
    changed case when a few changed (triage), a batch otherwise (the engine's chunks), one UPDATE
    for the closed."""
    ids = sorted(set(customer_ids))
    if not ids:
        return 0
    hours = sla_hours if sla_hours is not None else alert_sla_hours()
    for _attempt in range(3):
        try:
            with transaction.atomic():  # a savepoint: a lost race to open a case is tried again
                return _sync(ids, now=now, hours=hours)
        except IntegrityError:
            # Another transaction opened one of these cases between our read and our insert
            # (case_one_open_per_customer); it has committed now, so the next try locks its row.
            continue
    return _sync(ids, now=now, hours=hours)


def _sync(ids: list[int] | None, *, now: datetime, hours: dict[int, int]) -> int:
    cases = AccountCase.objects.select_for_update().filter(closed_at__isnull=True)
    if ids is not None:
        cases = cases.filter(customer_id__in=ids_param(ids))
    open_cases = {c.customer_id: c for c in cases.order_by("customer_id")}
    alerts = open_alerts_by_customer(ids)
    lines = _lines(sorted(alerts))
    created, changed, closed = [], [], []
    for customer_id in sorted(set(alerts) | set(open_cases)):
        case = open_cases.get(customer_id)
        if customer_id not in alerts:
            closed.append(case.pk)
            continue
        fields = case_fields(alerts[customer_id], sla_hours=hours, line=lines.get(customer_id, ("", "")))
        if case is None:
            created.append(AccountCase(customer_id=customer_id, opened_at=now, last_activity_at=now, **fields))
        elif any(getattr(case, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(case, name, value)
            case.last_activity_at = max(now, case.opened_at)
            changed.append(case)
    if created:
        AccountCase.objects.bulk_create(created, batch_size=1000)
    if changed:
        update_objects(AccountCase, changed, WRITTEN_FIELDS)
    if closed:
        AccountCase.objects.filter(pk__in=ids_param(closed)).update(closed_at=now, alert_count=0, last_activity_at=now)
    return len(created) + len(changed) + len(closed)


def _lines(customer_ids: list[int]) -> dict[int, tuple[str, str]]:
    if not customer_ids:
        return {}
    rows = CreditLine.objects.filter(customer_id__in=ids_param(customer_ids)).values_list("customer_id", "access", "band")
    return {cid: (access, band) for cid, access, band in rows}


def cases_rebuild(*, now: datetime, sla_hours: dict[int, int] | None = None) -> int:
    """Sync every open case and every account with open alerts at once (a new policy's SLA hours,
    a repair after a bulk load that bypassed the engine). Same rules as `cases_sync`."""
    hours = sla_hours if sla_hours is not None else alert_sla_hours()
    with transaction.atomic():
        return _sync(None, now=now, hours=hours)

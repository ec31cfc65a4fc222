"""The outbox: webhook events written in the same transaction as the decisions and alerts they
announce, with one delivery row per subscribed, active endpoint; sent after commit.

`webhook_events_for_plans` is called once by `decisions.engine.services.writing.write_plans` (both the
single-customer and the chunk path), after the decision and alert rows exist. With no active
endpoint it costs one indexed query and writes nothing. Otherwise it bulk-inserts the events
(COPY on PostgreSQL) and the deliveries, and asks, on commit, for their dispatch in batches —
so nothing is sent for a transaction that rolls back, and nothing is sent from inside one.

Only real changes make events: a decision row is written only when access or limit changed
(or for a customer's first decision), and an alert only when newly raised; a rerun at the
fixed point writes neither, so it announces nothing.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any, Iterable

from django.db import transaction
from django.utils import timezone

from accounts.models import Customer
from riskops.core.bulk import copy_rows, ids_param, insert_objects

from ..models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent

if TYPE_CHECKING:
    from decisions.engine.planning import CustomerPlan

DISPATCH_BATCH = 200  # deliveries per dispatch task: one HTTP session, one claim, one result write


def new_event_id() -> str:
    """`msg_` + 12 hex digits of milliseconds + 16 random hex digits: unique and time-ordered."""
    return f"msg_{int(time.time() * 1000):012x}{secrets.token_hex(8)}"


def _money(value: Any) -> str | None:
    return None if value is None else f"{value:.2f}"


def _subscribed() -> dict[str, list[int]]:
    """Active endpoint ids per event type (one query)."""
    by_type: dict[str, list[int]] = {t: [] for t in EventType.values}
    for pk, types in WebhookEndpoint.objects.filter(active=True).order_by("pk").values_list("pk", "event_types"):
        for t in types or []:
            if t in by_type:
                by_type[t].append(pk)
    return by_type


def webhook_events_write(events: list[tuple[str, dict]], *, subscribed: dict[str, list[int]] | None = None) -> list[int]:
    """Write (type, data) events and their deliveries; returns the delivery ids and schedules
    their dispatch on commit. Call inside the transaction that makes the change."""
    subscribed = _subscribed() if subscribed is None else subscribed
    now = timezone.now()
    rows, deliveries = [], []
    for event_type, data in events:
        endpoints = subscribed.get(event_type) or []
        if not endpoints:
            continue
        msg_id = new_event_id()
        payload = {"type": event_type, "timestamp": now.isoformat().replace("+00:00", "Z"), "data": data}
        rows.append((msg_id, event_type, payload, now))
        deliveries += [
            WebhookDelivery(event_id=msg_id, endpoint_id=e, status=DeliveryStatus.PENDING, next_attempt_at=now, created_at=now)
            for e in endpoints
        ]
    if not rows:
        return []
    copy_rows(WebhookEvent, ("id", "type", "payload", "created_at"), rows)
    insert_objects(WebhookDelivery, deliveries)
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: dispatch_on_commit(ids))
    return ids


def dispatch_on_commit(delivery_ids: list[int]) -> None:
    from ..tasks import webhook_deliver  # tasks import services: import here, not at module load

    for start in range(0, len(delivery_ids), DISPATCH_BATCH):
        webhook_deliver.delay(delivery_ids=delivery_ids[start:start + DISPATCH_BATCH])


def webhook_events_for_plans(plans: Iterable["CustomerPlan"], decisions: list) -> list[int]:
    """Events for the decisions and newly raised alerts of written plans (see module docstring)."""
    subscribed = _subscribed()
    if not any(subscribed.values()):
        return []
    plans = list(plans)
    alerts = [a for p in plans for a in p.new_alerts] if subscribed[EventType.ALERT_RAISED] else []
    decisions = decisions if subscribed[EventType.DECISION_CHANGED] else []
    if not alerts and not decisions:
        return []
    customer_ids = {d.customer_id for d in decisions} | {a.customer_id for a in alerts}
    external = dict(Customer.objects.filter(pk__in=ids_param(sorted(customer_ids))).values_list("pk", "external_id"))
    events: list[tuple[str, dict]] = []
    for d in decisions:
        events.append((EventType.DECISION_CHANGED.value, {
            "customer": external[d.customer_id],
            "decision_id": d.pk,
            "decided_at": d.decided_at.isoformat(),
            "trigger": d.trigger,
            "access": d.access,
            "limit": _money(d.limit_amount),
            "previous_access": d.previous_access or None,
            "previous_limit": _money(d.previous_limit),
            "override": d.override_id is not None,
            "reasons": [r.get("code") for r in d.reasons if isinstance(r, dict) and r.get("code")],
        }))
    for a in alerts:
        events.append((EventType.ALERT_RAISED.value, {
            "customer": external[a.customer_id],
            "alert_id": a.pk,
            "rule": a.rule,
            "severity": a.severity,
            "action": a.action,
            "raised_at": a.raised_at.isoformat(),
        }))
    return webhook_events_write(events, subscribed=subscribed)

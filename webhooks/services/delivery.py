"""Sending deliveries: claim, send outside any transaction, record, schedule the retry.

A batch of deliveries is **claimed** in one short transaction (rows locked `FOR UPDATE SKIP
LOCKED` on PostgreSQL, only those still due and whose endpoint is active): each gets `attempts
+ 1` and a lease (`next_attempt_at = now + LEASE`), so a second dispatch of the same ids, or the
sweep, finds nothing to do while the batch is in flight, and picks the deliveries up again if
the worker dies mid-send. The HTTP requests go out after that commit, through one session per
batch (keep-alive), never following redirects; the session checks each host with the SSRF
guard once per batch and connects only to the addresses it checked (`pinning.py`: no DNS
rebinding). The outcomes are written in a second short transaction: a 2xx is `succeeded`;
anything else (status, timeout, refused address) is logged and retried on the Standard Webhooks
schedule — 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the failed attempts — and after the
last one the delivery is `dead`. Every attempt is a row in the delivery log (`WebhookAttempt`)
with its response code or error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from riskops.core.bulk import ids_param, insert_objects, update_objects

from ..models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from .pinning import AddressRefused, pinned_session
from .signing import event_body, signed_headers

# After attempt n fails, the next is RETRY_DELAYS[n - 1] later; past the end the delivery is dead
# (8 attempts over about 28 hours, the spec's example schedule capped at 10 h).
RETRY_DELAYS = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
    timedelta(hours=5), timedelta(hours=10), timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
LEASE = timedelta(minutes=2)  # a claimed delivery is someone's for this long
TIMEOUT = (3.05, 10)  # connect, read (seconds)
SWEEP_LIMIT = 2000
SWEEP_GRACE = timedelta(seconds=60)  # a pending delivery this overdue lost its dispatch message
ERROR_MAX = 500


@dataclass
class Outcome:
    delivery: WebhookDelivery
    at: datetime
    code: int | None
    error: str
    duration_ms: float


def next_attempt_after(attempts: int, at: datetime) -> datetime | None:
    """When to try again after `attempts` failed attempts; None when it is dead."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return at + RETRY_DELAYS[attempts - 1]


def deliveries_claim(*, delivery_ids: list[int], now: datetime | None = None) -> list[WebhookDelivery]:
    """Claim the due ones among `delivery_ids` (see module docstring); returns them with their
    event and endpoint loaded."""
    now = now or timezone.now()
    with transaction.atomic():
        due = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=ids_param(delivery_ids), status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED],
                    next_attempt_at__lte=now, endpoint__active=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        ids = list(due)
        if not ids:
            return []
        WebhookDelivery.objects.filter(pk__in=ids_param(ids)).update(attempts=F("attempts") + 1, next_attempt_at=now + LEASE)
    return list(WebhookDelivery.objects.filter(pk__in=ids_param(ids)).select_related("event", "endpoint").order_by("pk"))


def _send(session: requests.Session, delivery: WebhookDelivery) -> Outcome:
    endpoint, event = delivery.endpoint, delivery.event
    at = timezone.now()
    started = time.perf_counter()
    code, error = None, ""
    body = event_body(event.payload)
    headers = signed_headers(secret=endpoint.secret, msg_id=event.pk, body=body, at=at)
    try:
        # The pinned session checks the host (once per batch) and connects only to those addresses.
        response = session.post(endpoint.url, data=body.encode(), headers=headers, timeout=TIMEOUT, allow_redirects=False)
        code = response.status_code
        response.close()
        if not 200 <= code < 300:
            error = f"HTTP {code}"
    except AddressRefused as exc:
        error = f"refused: {exc}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
    return Outcome(delivery, at, code, error[:ERROR_MAX], round((time.perf_counter() - started) * 1000, 3))


# Retries due within this long are scheduled to the second (a countdown message, the 5 s and 5 min
# retries); later ones are sent by the minute's sweep (up to a minute late). The horizon stays
# under the broker's visibility timeout (600 s): a message with a later ETA would be redelivered.
SCHEDULE_HORIZON = timedelta(minutes=5)


def outcomes_record(outcomes: list[Outcome]) -> list[tuple[int, datetime]]:
    """Write the attempts' results and the log in one transaction; returns (id, when) of the
    retries to schedule to the second (due within SCHEDULE_HORIZON)."""
    soon = []
    changed = []
    for o in outcomes:
        d = o.delivery
        d.last_response_code, d.last_error = o.code, o.error
        if not o.error:
            d.status, d.delivered_at, d.next_attempt_at = DeliveryStatus.SUCCEEDED, o.at, None
        else:
            d.next_attempt_at = next_attempt_after(d.attempts, o.at)
            d.status = DeliveryStatus.DEAD if d.next_attempt_at is None else DeliveryStatus.FAILED
            if d.next_attempt_at is not None and d.next_attempt_at - o.at <= SCHEDULE_HORIZON:
                soon.append((d.pk, d.next_attempt_at))
        changed.append(d)
    with transaction.atomic():
        update_objects(WebhookDelivery, changed, ["status", "next_attempt_at", "last_response_code", "last_error", "delivered_at"])
        insert_objects(WebhookAttempt, [
            WebhookAttempt(delivery_id=o.delivery.pk, attempted_at=o.at, response_code=o.code, error=o.error, duration_ms=o.duration_ms)
            for o in outcomes
        ])
    return soon


def _inside_transaction() -> bool:
    # A test case's own wrapping transaction does not count (Django marks it `_from_testcase`).
    connection = transaction.get_connection()
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def deliveries_send(*, delivery_ids: list[int]) -> dict[str, int]:
    """Claim, send and record a batch; never call inside a transaction (it would hold the claim's
    locks across the network). Returns counts by outcome."""
    if _inside_transaction():
        raise RuntimeError("webhooks are sent after commit, never from inside a transaction")
    claimed = deliveries_claim(delivery_ids=delivery_ids)
    if not claimed:
        return {"sent": 0, "succeeded": 0, "failed": 0}
    with pinned_session() as session:
        outcomes = [_send(session, d) for d in claimed]
    soon = outcomes_record(outcomes)
    if soon:
        from ..tasks import webhook_deliver

        by_time: dict[datetime, list[int]] = {}
        for pk, at in soon:
            by_time.setdefault(at.replace(microsecond=0) + timedelta(seconds=1), []).append(pk)
        for at, ids in sorted(by_time.items()):  # at the second it is due (claimed only once due)
            webhook_deliver.apply_async(kwargs={"delivery_ids": ids}, eta=at)
    ok = sum(1 for o in outcomes if not o.error)
    return {"sent": len(outcomes), "succeeded": ok, "failed": len(outcomes) - ok}


def due_deliveries(*, now: datetime | None = None, limit: int = SWEEP_LIMIT) -> list[int]:
    """Deliveries whose retry is due, or pending ones whose dispatch message never came."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            Q(status=DeliveryStatus.FAILED, next_attempt_at__lte=now)
            | Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now - SWEEP_GRACE),
            endpoint__active=True,
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def webhook_sweep(*, now: datetime | None = None) -> int:
    """Send what is due (beat, every minute): retries and lost dispatches. Returns how many were queued."""
    from .outbox import dispatch_on_commit

    ids = due_deliveries(now=now)
    dispatch_on_commit(ids)
    return len(ids)

"""The audit trail: every state change appends one hash-chained `AuditEvent` in the same transaction.

Each event's hash covers its own fields and the previous event's hash, so editing or removing any
row breaks every link after it. On PostgreSQL an append takes a transaction-scoped advisory lock,
so two workers never read the same tail and fork the chain; SQLite serialises writers itself.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone
from typing import Any, Callable, Iterable, Iterator

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from .models import AuditAction, AuditEvent

GENESIS_HASH = "0" * 64
# Arbitrary but fixed: the advisory-lock key every appender agrees on.
AUDIT_LOCK_KEY = 0x52_49_53_4B_41_55_44  # "RISKAUD"


def canonical_json(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"))


def normalise(value: Any) -> Any:
    """What a JSONField gives back after a round trip (Decimals and datetimes become strings)."""
    return json.loads(canonical_json(value if value is not None else {}))


def event_hash(event: AuditEvent) -> str:
    """SHA-256 over the event's content and its predecessor's hash (the id is not covered: the
    chain's order is what prev_hash links)."""
    body = canonical_json(
        {
            "prev": event.prev_hash,
            "at": event.occurred_at.astimezone(dt_timezone.utc).isoformat(),
            "actor_id": event.actor_id,
            "actor": event.actor_label,
            "action": event.action,
            "target": [event.target_type, str(event.target_id)],
            "before": event.before,
            "after": event.after,
        }
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_KEY])


def target_label(target: models.Model | tuple[str, Any]) -> tuple[str, str]:
    if isinstance(target, tuple):
        return target[0], str(target[1])
    return target._meta.label_lower, str(target.pk)


def audit_record(
    *,
    actor: Any | None,
    action: str,
    target: models.Model | tuple[str, Any],
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Append one event to the chain. Call inside the transaction that makes the change.

    `actor=None` marks a system job. `target` is a model instance or a `(type, id)` pair for
    things that are not one row (a seed, a recompute chunk). `action` is one of `AuditAction`:
    an unknown one is a programming error, refused before the transaction is touched.
    """
    if action not in AuditAction.values:
        raise ValueError(f"unknown audit action {action!r}: add it to riskops.core.models.AuditAction")
    # A plain str is stored and hashed, whether the caller passed "x.y" or AuditAction.X.
    return _append(actor=actor, action=AuditAction(action).value, target=target, before=before, after=after)


@transaction.atomic(savepoint=False)  # part of the caller's transaction: no savepoint round trips
def _append(*, actor: Any | None, action: str, target: models.Model | tuple[str, Any], before: dict | None, after: dict | None) -> AuditEvent:
    _lock_chain()
    target_type, target_id = target_label(target)
    actor_id = getattr(actor, "pk", None)
    actor_label = getattr(actor, "get_username", lambda: "system")() if actor else "system"
    before, after = normalise(before), normalise(after)
    prev_hash = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS_HASH
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor_id=actor_id,
        actor_label=actor_label,
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event)
    event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class BrokenLink:
    event_id: int
    reason: str


PayloadCheck = Callable[[AuditEvent], "str | None"]
# Apps register checks for what an event vouches for (e.g. a chunk's digest over decision rows).
PAYLOAD_CHECKS: list[PayloadCheck] = []


def register_payload_check(check: PayloadCheck) -> PayloadCheck:
    if check not in PAYLOAD_CHECKS:
        PAYLOAD_CHECKS.append(check)
    return check


# Events read per query while walking the chain: memory holds one batch, never the chain.
CHAIN_BATCH = 2000


def iter_chain(batch_size: int = CHAIN_BATCH) -> Iterator[AuditEvent]:
    """Every event in chain order, read in keyset batches (`id > last ORDER BY id LIMIT n`): each
    batch is one short indexed query, so a million events cost 500 queries and one batch of memory,
    and no cursor or transaction stays open for the whole walk."""
    last_id = 0
    while True:
        batch = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id


def verify_chain(
    *,
    payload_checks: Iterable[PayloadCheck] | None = None,
    batch_size: int = CHAIN_BATCH,
    progress: Callable[[int], None] | None = None,
    on_tail: Callable[[int, str], None] | None = None,
) -> tuple[int, BrokenLink | None]:
    """Walk the chain in order; return (events checked, first broken link or None).

    Streams (see `iter_chain`); only the previous hash is carried from one event to the next.
    `progress(checked)` is called after each full batch, for a caller that shows how far it got;
    `on_tail(id, hash)` once with the last event of a chain that verified, so a caller can anchor
    it (a chain cut short at its end verifies by itself: only a remembered tail shows the cut)."""
    checks = list(PAYLOAD_CHECKS if payload_checks is None else payload_checks)
    expected_prev = GENESIS_HASH
    checked = 0
    last_id = None
    for event in iter_chain(batch_size):
        if event.prev_hash != expected_prev:
            return checked, BrokenLink(event.id, "prev_hash does not match the previous event's hash")
        recomputed = event_hash(event)
        if recomputed != event.hash:
            return checked, BrokenLink(event.id, "the event's content does not match its hash")
        for check in checks:
            problem = check(event)
            if problem:
                return checked, BrokenLink(event.id, problem)
        expected_prev, last_id = event.hash, event.id
        checked += 1
        if progress is not None and checked % batch_size == 0:
            progress(checked)
    if on_tail is not None and last_id is not None:
        on_tail(last_id, expected_prev)
    return checked, None

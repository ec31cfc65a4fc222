"""Nothing is lost: the broker is never the only record of work to do.

Two kinds of work can vanish with a broker message or a worker, and each leaves a trace in
PostgreSQL that this sweep (beat, every RISKOPS_SWEEP_SECONDS) reads:

- an event's recompute: the event's transaction wrote a `CustomerChangeMark`; the recompute
  deletes it. A mark older than the grace period (`RISKOPS_MARK_GRACE_SECONDS`) means the
  message was lost (or is stuck): the customer's recompute is enqueued again, with the trigger of
  its oldest mark, and the mark's clock restarts so a slow queue is not flooded every minute.
- a chunk of a running run: `pending` with no message sent for the grace period while the run
  has stopped moving (no chunk claimed or finished for that long), or overtaken by a later chunk
  claimed more than a lease ago (a dead worker had taken its message), lost its message; `running`
  under a lease that lapsed (`RISKOPS_CHUNK_LEASE_SECONDS`: its heartbeat stopped) lost its
  worker. Both are sent again. A duplicate is harmless: the chunk's lease and the check under its
  row lock let exactly one copy write.

Batches are bounded, so a sweep after a long outage stays short; the next sweep continues.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from accounts.changes import change_marks_touch, stale_change_marks
from riskops.core.audit import audit_record

from decisions.models import RecomputeChunk, RecomputeRun
from ..dispatch import task
from .runs import chunks_dispatch, lease_lapsed, lease_seconds

logger = logging.getLogger(__name__)

MARK_BATCH = 1000  # customers re-enqueued per sweep
CHUNK_BATCH = 200  # chunks re-dispatched per sweep
# Arbitrary but fixed: two sweeps (a slow one and the next minute's) never pick the same work.
SWEEP_LOCK_KEY = 0x52_49_53_4B_53_57_50  # "RISKSWP"


@dataclass(frozen=True)
class SweepResult:
    customers: list[tuple[int, str]] = field(default_factory=list)  # (customer id, trigger) enqueued again
    chunks: list[int] = field(default_factory=list)  # chunk ids dispatched again
    skipped: bool = False  # another sweep was running


def mark_grace_before(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.RISKOPS_MARK_GRACE_SECONDS)


def lost_work_sweep(*, now: datetime | None = None) -> SweepResult:
    """Re-enqueue recomputes whose change mark outlived the grace period and re-dispatch the
    chunks of running runs that lost their message or their worker. Messages go out after
    commit. Safe to run at any time and twice: the marks' and chunks' clocks restart in the same
    transaction, and a second concurrent sweep skips (transaction-scoped advisory lock)."""
    now = now or timezone.now()
    grace_before = mark_grace_before(now)
    with transaction.atomic():
        if not _sweep_lock():
            return SweepResult(skipped=True)
        customers = stale_change_marks(older_than=grace_before, limit=MARK_BATCH)
        change_marks_touch(customer_ids=[c for c, _ in customers], older_than=grace_before, now=now)
        chunk_ids = _lost_chunks_redispatch(now=now, grace_before=grace_before)
        if customers:
            logger.warning("recovery sweep: %d customers' recomputes were never done, enqueued again", len(customers))
            _marked_enqueue(customers)
        chunks_dispatch(chunk_ids=chunk_ids)
    return SweepResult(customers=customers, chunks=chunk_ids)


# Customers per re-enqueue message: a set recomputed through the chunk path (services/batches.py).
MARK_MESSAGE = 250


def _marked_enqueue(customers: list[tuple[int, str]]) -> None:
    """After commit, one `recompute_marked` message per trigger and MARK_MESSAGE customers."""
    recompute_marked = task("recompute_marked")  # by name: tasks import services
    by_trigger: dict[str, list[int]] = {}
    for customer_id, trigger in customers:
        by_trigger.setdefault(trigger, []).append(customer_id)
    for trigger, ids in sorted(by_trigger.items()):
        for start in range(0, len(ids), MARK_MESSAGE):
            part = ids[start : start + MARK_MESSAGE]
            transaction.on_commit(lambda part=part, trigger=trigger: recompute_marked.delay(customer_ids=part, trigger=trigger))


def _sweep_lock() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite runs one writer at a time anyway
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SWEEP_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def _lost_chunks_redispatch(*, now: datetime, grace_before: datetime) -> list[int]:
    # A chunk sent (or re-sent) within the grace period may still be waiting in the queue. One
    # whose lease lapsed lost its holder: it is sent at once, and again only after the grace
    # period if that message is lost too (not every sweep while it waits in a long queue).
    not_recently_sent = Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=grace_before)
    not_sent_since_lapse = Q(lease_until__isnull=True) | Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=F("lease_until"))
    lost_worker = lease_lapsed(now) & (not_sent_since_lapse | not_recently_sent)
    picked: list[int] = []
    for run in RecomputeRun.objects.filter(status=RecomputeRun.Status.RUNNING).order_by("pk").only("pk", "started_at"):
        if len(picked) >= CHUNK_BATCH:
            break
        chunks = RecomputeChunk.objects.filter(run=run)
        # While any chunk of the run is claimed or finished, its queue is alive: pending chunks are
        # just waiting their turn. Only a run that stopped moving has lost pending messages.
        moving = (run.started_at and run.started_at >= grace_before) or chunks.filter(
            Q(claimed_at__gte=grace_before) | Q(finished_at__gte=grace_before)
        ).exists()
        # A pending chunk overtaken by a later one (its queue is first in, first out) that was
        # claimed more than a lease ago lost its message with a dead worker that had taken it.
        overtaken = Q(status=RecomputeChunk.Status.PENDING) & Exists(
            RecomputeChunk.objects.filter(
                run_id=OuterRef("run_id"), index__gt=OuterRef("index"), dispatched_at__gte=OuterRef("dispatched_at"),
                claimed_at__lt=now - timedelta(seconds=lease_seconds()),
            )
        )
        # (Sent again, the chunk's dispatch is newer than its overtaker's: it is not sent twice.)
        lost = lost_worker | overtaken
        if not moving:
            lost |= Q(status=RecomputeChunk.Status.PENDING) & not_recently_sent
        found = list(
            chunks.filter(lost).order_by("index").values_list("pk", "index", "status")[: CHUNK_BATCH - len(picked)]
        )
        if not found:
            continue
        ids = [pk for pk, _, _ in found]
        RecomputeChunk.objects.filter(pk__in=ids).update(dispatched_at=now)
        audit_record(
            actor=None, action="recompute.redispatch", target=run,
            after={
                "lost_message": [i for _, i, s in found if s == RecomputeChunk.Status.PENDING],
                "lost_worker": [i for _, i, s in found if s == RecomputeChunk.Status.RUNNING],
            },
        )
        logger.warning("recovery sweep: run %s, %d chunks sent again", run.pk, len(ids))
        picked += ids
    return picked

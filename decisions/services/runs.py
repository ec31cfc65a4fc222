"""Full-book recomputes as `RecomputeRun`s split into chunks, and the hourly expiry sweep."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Customer, RepaymentInstallment
from riskops.core.audit import audit_record
from riskops.core.exceptions import ValidationFailed

from ..models import CreditLine, Override, RecomputeChunk, RecomputeRun, Trigger
from .policy import active_policy
from .recompute import chunk_plans_write, decisions_digest

DEFAULT_CHUNK_SIZE = 2000
ERROR_MAX = 2000


def recompute_run_start(
    *, trigger: str = Trigger.MANUAL, actor=None, chunk_size: int = DEFAULT_CHUNK_SIZE, enqueue: bool = True
) -> RecomputeRun:
    """Create a run over the whole book, split into chunks of consecutive customer ids.

    With `enqueue`, one Celery task per chunk is sent after commit; without, the caller runs the
    chunks itself (the CLI does, to draw a progress bar in eager mode).
    """
    if chunk_size < 1 or chunk_size > 50_000:
        raise ValidationFailed("chunk_size must be between 1 and 50,000", field="chunk_size")
    if trigger not in Trigger.values:
        raise ValidationFailed(f"unknown trigger {trigger!r}", field="trigger")
    with transaction.atomic():
        version, _ = active_policy()
        ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
        run = RecomputeRun.objects.create(
            trigger=trigger, policy_version=version, requested_by=actor, chunk_size=chunk_size,
            total_customers=len(ids), total_chunks=(len(ids) + chunk_size - 1) // chunk_size,
            status=RecomputeRun.Status.RUNNING if ids else RecomputeRun.Status.SUCCEEDED,
            started_at=timezone.now(), finished_at=None if ids else timezone.now(),
        )
        chunks = RecomputeChunk.objects.bulk_create(
            [
                RecomputeChunk(run=run, index=n, first_customer_id=part[0], last_customer_id=part[-1], size=len(part))
                for n, part in enumerate(ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size))
            ]
        )
        audit_record(
            actor=actor, action="recompute.start", target=run,
            after={"trigger": trigger, "customers": len(ids), "chunks": len(chunks), "policy_version": version.version},
        )
        if enqueue:
            from ..tasks import recompute_chunk

            chunk_ids = [c.pk for c in chunks]
            transaction.on_commit(lambda: [recompute_chunk.delay(chunk_id=pk) for pk in chunk_ids])
    return run


def chunk_recompute(*, chunk_id: int) -> RecomputeChunk:
    """Recompute one chunk. Safe to run twice: the chunk row is locked and a chunk already done
    returns at once, so a redelivered or retried task never writes twice (and the (run, customer)
    unique constraints on snapshots and decisions would refuse it if it tried)."""
    with transaction.atomic():
        chunk = RecomputeChunk.objects.select_for_update(of=("self",)).select_related("run__policy_version").get(pk=chunk_id)
        if chunk.status == RecomputeChunk.Status.DONE:
            return chunk
        now = timezone.now()
        customers, decisions = chunk_plans_write(
            first_id=chunk.first_customer_id, last_id=chunk.last_customer_id, run=chunk.run, now=now
        )
        was_failed = chunk.status == RecomputeChunk.Status.FAILED
        chunk.status, chunk.finished_at, chunk.error = RecomputeChunk.Status.DONE, timezone.now(), ""
        chunk.attempts += 1
        chunk.claimed_at = chunk.claimed_at or now
        chunk.save(update_fields=["status", "finished_at", "error", "attempts", "claimed_at"])
        if was_failed:  # a chunk recorded as failed finally succeeded
            RecomputeRun.objects.filter(pk=chunk.run_id).update(failed_customers=F("failed_customers") - chunk.size)
        # One audit event per chunk, not per customer: the payload vouches for every decision row.
        audit_record(
            actor=None, action="recompute.chunk", target=chunk,
            after={
                "run": chunk.run_id, "index": chunk.index, "customers": customers,
                "decision_ids": sorted(d.pk for d in decisions), "digest": decisions_digest(decisions),
            },
        )
        _run_finish_if_complete(chunk.run_id)
    return chunk


def chunk_record_failure(*, chunk_id: int, error: str, final: bool) -> None:
    """Record a failed attempt in its own transaction, so the failure outlives the rollback."""
    with transaction.atomic():
        chunk = RecomputeChunk.objects.select_for_update().get(pk=chunk_id)
        if chunk.status == RecomputeChunk.Status.DONE:
            return
        first_final_failure = final and chunk.status != RecomputeChunk.Status.FAILED
        chunk.attempts += 1
        chunk.error = error[:ERROR_MAX]
        chunk.status = RecomputeChunk.Status.FAILED if final else RecomputeChunk.Status.PENDING
        chunk.save(update_fields=["attempts", "error", "status"])
        if first_final_failure:
            RecomputeRun.objects.filter(pk=chunk.run_id).update(failed_customers=F("failed_customers") + chunk.size)
            audit_record(actor=None, action="recompute.chunk_failed", target=chunk, after={"error": chunk.error, "attempts": chunk.attempts})
        _run_finish_if_complete(chunk.run_id)


def _run_finish_if_complete(run_id: int) -> None:
    # The run row lock orders concurrent last chunks: exactly one of them sees nothing left.
    # A failed chunk retried after the run finished settles the run's status again.
    run = RecomputeRun.objects.select_for_update().get(pk=run_id)
    if run.chunks.filter(status__in=[RecomputeChunk.Status.PENDING, RecomputeChunk.Status.RUNNING]).exists():
        return
    failed = run.chunks.filter(status=RecomputeChunk.Status.FAILED).exists()
    status = (
        RecomputeRun.Status.SUCCEEDED if not failed
        else RecomputeRun.Status.FAILED if run.done_customers == 0
        else RecomputeRun.Status.PARTIAL
    )
    if run.finished_at is not None and run.status == status:
        return
    run.status = status
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    audit_record(
        actor=None, action="recompute.finish", target=run,
        after={"status": run.status, "done": run.done_customers, "failed": run.failed_customers},
    )


def recompute_run_process_inline(*, run: RecomputeRun, progress: Callable[[int], None] | None = None) -> RecomputeRun:
    """Run every pending chunk in this process (eager mode, tests, the CLI without a broker)."""
    for chunk in run.chunks.exclude(status=RecomputeChunk.Status.DONE).order_by("index"):
        chunk_recompute(chunk_id=chunk.pk)
        if progress:
            progress(chunk.size)
    run.refresh_from_db()
    return run


def expiry_sweep(*, now: datetime | None = None) -> list[int]:
    """Hourly: expire overrides and temporary suspensions that ended, and find installments that
    crossed an overdue threshold; return the customers to recompute (the caller enqueues them)."""
    now = now or timezone.now()
    with transaction.atomic():
        expired = list(
            Override.objects.select_for_update().filter(state=Override.State.APPROVED, expires_at__lte=now).order_by("pk")
        )
        for override in expired:
            override.state = Override.State.EXPIRED
            override.save(update_fields=["state", "updated_at"])
            audit_record(actor=None, action="override.expire", target=override, before={"state": "approved"}, after={"state": "expired"})
        lapsed = list(
            CreditLine.objects.filter(access="suspended", suspended_until__lte=now).values_list("customer_id", flat=True)
        )
        today = now.date()
        # An installment that became 30 or 90 days past due since the last sweep is an "overdue" event.
        thresholds = Q()
        for days in (1, 30, 90):
            thresholds |= Q(due_on=today - timedelta(days=days))
        crossed = list(
            RepaymentInstallment.objects.filter(thresholds, paid_at__isnull=True).values_list("customer_id", flat=True).distinct()
        )
    return sorted({o.customer_id for o in expired} | set(lapsed) | set(crossed))

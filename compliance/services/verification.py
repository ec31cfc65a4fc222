"""Verifying the audit chain: a recorded run, requested on demand or by the nightly beat job.

A request writes an `AuditVerification` row and an `audit.verify` event in one transaction and
enqueues the walk on commit; the walk (a Celery task) claims the row with a compare-and-set, streams
the chain through `riskops.core.audit.verify_chain` (keyset batches: memory holds one batch of
events, never the chain) and records the result. A repeated request while one is queued or running
returns that one instead of walking the chain twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from riskops.core.audit import CHAIN_BATCH, BrokenLink, audit_record, verify_chain
from riskops.core.exceptions import NotPermitted
from riskops.core.models import AuditAction, AuditEvent
from riskops.core.roles import COMPLIANCE, RISK_ADMIN, has_role

from ..models import AuditVerification, VerificationStatus, VerificationTrigger

VERIFY_ROLES = (COMPLIANCE, RISK_ADMIN)
# A queued or running verification older than this lost its worker: a new request starts afresh.
STALE_AFTER = timedelta(hours=6)
IN_PROGRESS = (VerificationStatus.PENDING, VerificationStatus.RUNNING)


def verification_in_progress() -> AuditVerification | None:
    return (
        AuditVerification.objects.filter(status__in=IN_PROGRESS, requested_at__gte=timezone.now() - STALE_AFTER)
        .order_by("-requested_at", "-id")
        .first()
    )


@transaction.atomic
def verification_request(*, actor: Any | None, trigger: str = VerificationTrigger.MANUAL) -> AuditVerification:
    """Queue one walk of the chain. `actor=None` is the nightly job; a person needs the compliance
    or risk_admin role (checked here, not only by the page). Audited as `audit.verify`; the task is
    enqueued on commit, so a rolled-back request never runs."""
    from ..tasks import run_audit_verification

    if actor is not None and not has_role(actor, *VERIFY_ROLES):
        raise NotPermitted(_("Your role does not allow this action."))
    running = verification_in_progress()
    if running is not None:
        return running
    verification = AuditVerification.objects.create(
        trigger=trigger, requested_by=actor, requested_at=timezone.now(), status=VerificationStatus.PENDING
    )
    audit_record(
        actor=actor,
        action=AuditAction.AUDIT_VERIFY,
        target=verification,
        after={"status": VerificationStatus.PENDING, "trigger": trigger},
    )
    run_audit_verification.delay_on_commit(verification_id=verification.pk)
    return verification


def verification_run(*, verification_id: int, batch_size: int = CHAIN_BATCH) -> AuditVerification | None:
    """Walk the chain for one queued verification and record what it found.

    Safe to run twice: only the call that moves the row from pending to running walks. The walk
    is outside any transaction (a million events would otherwise hold one open for minutes);
    progress is written after each batch, the result and its `audit.verify` event at the end in
    one transaction."""
    now = timezone.now()
    claimed = AuditVerification.objects.filter(pk=verification_id, status=VerificationStatus.PENDING).update(
        status=VerificationStatus.RUNNING, started_at=now
    )
    if claimed != 1:
        return None

    def progress(checked: int) -> None:
        AuditVerification.objects.filter(pk=verification_id).update(events_checked=checked)

    anchor = previous_tail(before_id=verification_id)
    tail: dict[str, Any] = {}
    try:
        checked, broken = verify_chain(
            batch_size=batch_size, progress=progress, on_tail=lambda event_id, digest: tail.update(id=event_id, hash=digest)
        )
        if broken is None and anchor is not None:
            broken = tail_missing(anchor)
    except Exception as exc:
        _finish(verification_id, status=VerificationStatus.FAILED, checked=None, broken_id=None, reason=repr(exc)[:2000])
        raise
    if broken is None:
        return _finish(verification_id, status=VerificationStatus.OK, checked=checked, broken_id=None, reason="", tail=tail)
    return _finish(verification_id, status=VerificationStatus.BROKEN, checked=checked, broken_id=broken.event_id, reason=broken.reason)


def previous_tail(*, before_id: int | None = None) -> AuditVerification | None:
    """The newest finished verification that anchored a tail (the last event it found intact)."""
    rows = AuditVerification.objects.filter(status=VerificationStatus.OK, tail_event_id__isnull=False)
    if before_id is not None:
        rows = rows.exclude(pk=before_id)
    return rows.order_by("-finished_at", "-id").first()


def tail_missing(anchor: AuditVerification) -> BrokenLink | None:
    """The anchored event must still be there, unchanged: the chain only ever grows."""
    if AuditEvent.objects.filter(pk=anchor.tail_event_id, hash=anchor.tail_hash).exists():
        return None
    when = anchor.finished_at.strftime("%Y-%m-%d %H:%M UTC") if anchor.finished_at else "?"
    return BrokenLink(
        anchor.tail_event_id,
        f"event #{anchor.tail_event_id}, the last one verification #{anchor.pk} found intact on {when}, "
        "is missing or changed: the trail was cut or rewritten after it",
    )


@transaction.atomic
def _finish(
    verification_id: int, *, status: str, checked: int | None, broken_id: int | None, reason: str, tail: dict[str, Any] | None = None
) -> AuditVerification:
    verification = AuditVerification.objects.select_for_update().get(pk=verification_id)
    verification.status = status
    verification.finished_at = timezone.now()
    if checked is not None:
        verification.events_checked = checked
    verification.broken_event_id = broken_id
    verification.broken_reason = reason
    if tail:
        verification.tail_event_id, verification.tail_hash = tail["id"], tail["hash"]
    verification.save(update_fields=["status", "finished_at", "events_checked", "broken_event_id", "broken_reason", "tail_event_id", "tail_hash"])
    audit_record(
        actor=None,
        action=AuditAction.AUDIT_VERIFY,
        target=verification,
        before={"status": VerificationStatus.RUNNING},
        after={
            "status": status,
            "events_checked": verification.events_checked,
            "broken_event_id": broken_id,
            "reason": reason,
        },
    )
    return verification

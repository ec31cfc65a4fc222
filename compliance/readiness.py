"""The audit trail's part of `/readyz` (riskops/core/health.py): the last finished verification of
the hash chain found it intact. A broken chain, or a walk that could not finish, fails the check
until a later verification finds the chain intact; no verification yet (a fresh install) passes,
saying so."""

from datetime import datetime, timedelta

from compliance.models import AuditVerification, VerificationStatus
from riskops.core.health import CheckFailed


def audit_verification_check(now: datetime) -> str:
    last = (
        AuditVerification.objects.filter(finished_at__isnull=False)
        .order_by("-finished_at", "-pk")
        .values("pk", "status", "finished_at", "events_checked", "broken_event_id")
        .first()
    )
    if last is None:
        return "no verification has finished yet"
    hours = (now - last["finished_at"]) / timedelta(hours=1)
    if last["status"] == VerificationStatus.BROKEN:
        raise CheckFailed(f"verification {last['pk']} ({hours:.1f} h ago) found the chain broken at event {last['broken_event_id']}")
    if last["status"] != VerificationStatus.OK:
        raise CheckFailed(f"verification {last['pk']} ({hours:.1f} h ago) could not finish")
    return f"intact: {last['events_checked']} events, verified {hours:.1f} h ago"

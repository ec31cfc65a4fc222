"""The compliance app's on-call condition (riskops/core/oncall.py), registered in ComplianceConfig.ready:
`audit_chain_broken` while the last finished verification of the audit chain found it broken or
could not finish. One incident for the chain (key "chain"), resolved when a later verification
finds it intact."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from riskops.core.oncall import Finding

from .models import AuditVerification, VerificationStatus


def audit_chain_broken(now: datetime) -> list[Finding]:
    last = AuditVerification.objects.filter(finished_at__isnull=False).order_by("-finished_at", "-pk").first()
    if last is None or last.status == VerificationStatus.OK:
        return []
    if last.status == VerificationStatus.BROKEN:
        summary = _("Audit verification %(id)s found the hash chain broken at event %(event)s: %(reason)s") % {
            "id": last.pk, "event": last.broken_event_id, "reason": last.broken_reason,
        }
    else:
        summary = _("Audit verification %(id)s could not finish (%(status)s).") % {"id": last.pk, "status": last.get_status_display()}
    return [Finding(key="chain", summary=summary)]

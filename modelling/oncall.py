"""The modelling app's on-call condition (riskops/core/oncall.py), registered in ModellingConfig.ready:
`model_drift` for each open model alert (a score PSI or feature CSI at the alert level, raised by
the night's monitoring). Keyed by the alert; resolved when a risk admin acknowledges it."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from riskops.core.oncall import Finding

from .models import ModelAlert, ModelAlertStatus


def model_drift(now: datetime) -> list[Finding]:
    alerts = ModelAlert.objects.filter(status=ModelAlertStatus.OPEN).order_by("raised_at", "pk")
    return [
        Finding(
            key=str(alert.pk),
            summary=_("Model drift on policy version %(version)s: %(metric)s at %(value).3f, at the alert level since %(raised)s.")
            % {"version": alert.policy_version_id, "metric": alert.metric, "value": alert.value, "raised": f"{alert.raised_at:%Y-%m-%d}"},
        )
        for alert in alerts
    ]

"""Bulk dismiss from the queue: many accounts' open alerts closed with one note, each through
`triage.alert_dismiss` (same checks, same case note, same `alert.dismiss` audit event), all in
one transaction: one refusal and nothing is dismissed."""

from __future__ import annotations

from typing import Any, Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from riskops.core.exceptions import ValidationFailed

from decisions.models import RiskAlert
from . import triage


@transaction.atomic
def alerts_bulk_dismiss(*, alert_ids: Iterable[int], actor: Any, note: str, suppress_days: Any) -> list[RiskAlert]:
    ids = sorted(set(alert_ids))
    if not ids:
        raise ValidationFailed(_("Select at least one account."), field="alert_ids")
    alerts = list(RiskAlert.objects.filter(pk__in=ids, status__in=RiskAlert.OPEN_STATUSES).order_by("pk"))
    if len(alerts) != len(ids):
        raise ValidationFailed(_("Some of the selected alerts are no longer open: reload the queue."), field="alert_ids")
    return [triage.alert_dismiss(alert=alert, actor=actor, note=note, suppress_days=suppress_days) for alert in alerts]

"""Model monitoring: each night, how far the book has moved from the distributions the active
policy version's scorecard is compared with, and an alert when it has moved too far.

`model_monitor` measures the active version's book (each customer's latest scored snapshot under
it, modelling/book_distribution.py: one aggregate query) against the version's `ModelReference`:
the score's PSI over the reference's score deciles and each feature's CSI over its bins
(modelling/drift.py). The reference is frozen the first night a version is monitored and never
changes after: a copy of its development's reference when it has one, else — a hand-set policy
such as v1 — the book's own distribution that night (so its first night reads 0 everywhere).

One `ModelHealth` row per version and night: a rerun that finds the same book writes nothing, not
even an audit event; one that finds it changed updates the row. Levels: PSI < 0.10 stable, 0.10 to
0.25 a warning (on the page, no alert), ≥ 0.25 an alert. The score's PSI and every feature's CSI
raise a `ModelAlert` when they reach 0.25 — a feature can move far while the score barely does
(two shifts cancelling), and the score is then no longer computed on the population it was
developed on. One alert per incident: not while one for the same metric is open, and not again
while the metric stays at the level after its alert was acknowledged.

`model_alert_acknowledge`: a risk admin's note on an open alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from decisions.engine.policy_reads import active_policy
from decisions.models import PolicyVersion
from riskops.core.audit import audit_record
from riskops.core.exceptions import Conflict, NotPermitted, ValidationFailed
from riskops.core.models import AuditAction
from riskops.core.roles import RISK_ADMIN, has_role

from ..book_distribution import book_distribution
from ..drift import SCORE, AlertHistory, Figures, figures, new_incidents, policy_feature_edges, reference_feature_edges, reference_from_book
from ..models import ModelAlert, ModelHealth, ModelReference, MonitoringLevel, ScorecardDevelopment
from ..performance import start_of, utc_date

NOTE_MAX_CHARS = 2000


@dataclass
class MonitorResult:
    """What a night's monitoring found (the command prints it, the task returns its payload)."""

    as_of: date
    policy_version: int  # the version's number
    reference_source: str | None = None
    reference_frozen: bool = False  # frozen by this run
    figures: Figures | None = None  # None: no scored customer under the version to measure
    written: bool = False  # the night's row was created or changed
    alerts: list[ModelAlert] = field(default_factory=list)  # raised by this run

    def audit_payload(self) -> dict:
        payload: dict = {"as_of": self.as_of.isoformat(), "policy_version": self.policy_version, "written": self.written}
        if self.figures is not None:
            payload.update(
                rows=self.figures.rows,
                score_psi=self.figures.score_psi,
                csi=self.figures.csi,
                level=self.figures.level,
                reference=self.reference_source,
                reference_frozen=self.reference_frozen,
                alerts=[{"metric": a.metric, "value": a.value} for a in self.alerts],
            )
        return payload


def _night_end(as_of: date) -> datetime:
    """The book as of a night: snapshots computed before the next day starts (UTC)."""
    return start_of(as_of + timedelta(days=1))


def _edges_for(version: PolicyVersion, policy) -> tuple[dict[str, list[float]], dict | None]:
    """The feature edges the book is counted on, and the development's reference when the version
    has one and no reference has been frozen yet. Deterministic for a version (a frozen reference
    has the same edges as what it was frozen from), so the count may run before the lock."""
    frozen = ModelReference.objects.filter(policy_version=version).values_list("reference", flat=True).first()
    if frozen is not None:
        return reference_feature_edges(frozen), None
    developed = ScorecardDevelopment.objects.filter(policy_version=version).values_list("reference", flat=True).first()
    if developed is not None:
        return reference_feature_edges(developed), developed
    return policy_feature_edges(policy), None


def _alert_history(version: PolicyVersion, as_of: date) -> AlertHistory:
    alerts = list(ModelAlert.objects.filter(policy_version=version).values_list("metric", "status", "health__day"))
    previous = ModelHealth.objects.filter(policy_version=version, day__lt=as_of).order_by("-day").values_list("score_psi", "csi").first()
    return AlertHistory(
        open_metrics=frozenset(m for m, status, _day in alerts if status == ModelAlert.Status.OPEN),
        raised_tonight=frozenset(m for m, _status, day in alerts if day == as_of),
        ever_raised=frozenset(m for m, _status, _day in alerts),
        previous_night=None if previous is None else {SCORE: previous[0], **previous[1]},
    )


def model_monitor(*, as_of: date, actor=None, now: datetime | None = None) -> MonitorResult:
    """Measure the active version's book as of `as_of` against its reference; write the night's
    row and raise alerts (audited). Idempotent per night.

    Refused (ValidationFailed on `as_of`, nothing written) for a night in the future; NotFound when
    no version is active. A version with no scored customer yet is not measured (nothing written)."""
    now = now or timezone.now()
    if as_of > utc_date(now):
        raise ValidationFailed(
            _("%(as_of)s is in the future: a night is monitored once it has begun.") % {"as_of": as_of.isoformat()}, field="as_of"
        )
    version, policy = active_policy()
    result = MonitorResult(as_of=as_of, policy_version=version.version)
    edges, developed = _edges_for(version, policy)
    # The one expensive read, outside the transaction: nothing waits on it.
    book = book_distribution(version_id=version.pk, before=_night_end(as_of), feature_edges=edges)
    if book.rows == 0:
        return result
    with transaction.atomic():
        # Two monitors of the same version take turns (the reference is frozen once, the night
        # written once).
        PolicyVersion.objects.select_for_update().filter(pk=version.pk).values_list("pk", flat=True).first()
        reference = ModelReference.objects.filter(policy_version=version).first()
        if reference is None:
            source = ModelReference.Source.DEVELOPMENT if developed is not None else ModelReference.Source.BOOK
            reference = ModelReference.objects.create(
                policy_version=version,
                source=source,
                reference=developed if developed is not None else reference_from_book(book, edges),
                as_of=as_of,
                frozen_at=now,
            )
            result.reference_frozen = True
        result.reference_source = reference.source
        found = figures(reference.reference, book)
        result.figures = found
        row = ModelHealth.objects.filter(policy_version=version, day=as_of).first()
        values = {"score_psi": found.score_psi, "csi": found.csi, "counts": found.counts, "rows": found.rows, "level": found.level}
        if row is None:
            row = ModelHealth.objects.create(policy_version=version, day=as_of, computed_at=now, **values)
            result.written = True
        elif any(getattr(row, name) != value for name, value in values.items()):  # a rerun that found the book changed
            for name, value in {**values, "computed_at": now}.items():
                setattr(row, name, value)
            row.save(update_fields=[*values, "computed_at"])
            result.written = True
        for metric in new_incidents(found.metrics(), _alert_history(version, as_of)):
            result.alerts.append(
                ModelAlert.objects.create(
                    policy_version=version, health=row, metric=metric, value=found.metrics()[metric],
                    level=MonitoringLevel.ALERT, raised_at=now,
                )
            )
        if result.written or result.alerts:
            audit_record(actor=actor, action=AuditAction.MODEL_MONITOR, target=row, after=result.audit_payload())
        for alert in result.alerts:
            audit_record(
                actor=actor,
                action=AuditAction.MODEL_ALERT_RAISE,
                target=alert,
                after={"policy_version": version.version, "metric": alert.metric, "value": alert.value, "night": as_of.isoformat()},
            )
    return result


def model_alert_acknowledge(*, alert: ModelAlert, actor, note: str) -> ModelAlert:
    """A risk admin acknowledges an open model alert with a note (what was looked at, what follows).

    Refused: NotPermitted for anyone but a risk admin; ValidationFailed on `note` when it is empty
    or longer than NOTE_MAX_CHARS; Conflict when the alert is no longer open."""
    if actor is None or not has_role(actor, RISK_ADMIN):
        raise NotPermitted(_("Only a risk admin may acknowledge a model alert."))
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(_("Say what you looked at and what follows: a note is required."), field="note")
    if len(note) > NOTE_MAX_CHARS:
        raise ValidationFailed(
            _("The note is %(n)d characters long; at most %(max)d.") % {"n": len(note), "max": NOTE_MAX_CHARS}, field="note"
        )
    with transaction.atomic():
        locked = ModelAlert.objects.select_for_update().get(pk=alert.pk)
        if locked.status != ModelAlert.Status.OPEN:
            raise Conflict(_("This model alert has already been acknowledged."), field="alert")
        locked.status = ModelAlert.Status.ACKNOWLEDGED
        locked.acknowledged_by = actor
        locked.acknowledged_at = timezone.now()
        locked.note = note
        locked.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "note"])
        audit_record(
            actor=actor,
            action=AuditAction.MODEL_ALERT_ACKNOWLEDGE,
            target=locked,
            before={"status": ModelAlert.Status.OPEN},
            after={"status": locked.status, "note": note, "metric": locked.metric, "value": locked.value},
        )
    return locked

"""On-call incidents: the periodic check that opens and resolves them, and tells people once.

The conditions belong to the apps that own the data (a nightly run: decisions; the audit chain:
compliance; webhook endpoints: webhooks; model drift: modelling). Each registers, from its
`AppConfig.ready`, a function that returns what is wrong now, as `Finding`s keyed within its kind
(a run's id, an endpoint's id, "book"); this lowest layer imports none of them
(docs/decisions/0003-layers-and-registries.md).

`oncall_check` (beat, every RISKOPS_ONCALL_CHECK_SECONDS) compares the findings with the open
incidents of each kind:

- a finding without an open incident opens one (`Incident`, audited `oncall.open`);
- an open incident whose finding is gone is resolved (`oncall.resolve`), and the people who were
  told about it are told it is over (RISKOPS_ONCALL_NOTIFY_RESOLVED);
- an open incident nobody was told about yet gets its notice (`oncall.notify`): the notice is
  claimed first (`notified_at` set where it was empty, one UPDATE), so two checks running at
  once send it once; when every configured channel failed the claim is given back and the next
  check tries again.

So a second check in the same state sends nothing, and the same condition found again after its
incident was resolved is a new incident with a new notice. Two beats running by mistake are
safe: the partial unique constraint (one open incident per kind and key) refuses the second
opening, and the conditional UPDATEs let one of them resolve and notify. A condition that raises
is logged and skipped for this check: its open incidents stay open (a failing read is not a
recovery).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import translation

from .audit import audit_record
from .models import AuditAction, Incident, IncidentKind
from .oncall_notices import notice_send, notice_text

logger = logging.getLogger(__name__)

SUMMARY_MAX = 300


@dataclass(frozen=True)
class Finding:
    """One thing wrong now: `key` names it within its kind, `summary` says it in a sentence."""

    key: str
    summary: str


# A condition takes the clock and returns every finding of its kind now (none: all is well).
Condition = Callable[[datetime], list[Finding]]
_CONDITIONS: dict[str, Condition] = {}


def register_condition(kind: str, condition: Condition) -> None:
    """Called from an app's `AppConfig.ready`: `condition` decides the incidents of `kind`."""
    if kind not in IncidentKind.values:
        raise ValueError(f"unknown incident kind {kind!r}: add it to riskops.core.models.IncidentKind")
    _CONDITIONS[kind] = condition


def registered_kinds() -> list[str]:
    return list(_CONDITIONS)


@dataclass
class CheckOutcome:
    opened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    notified: list[int] = field(default_factory=list)
    skipped_kinds: list[str] = field(default_factory=list)  # their condition raised

    def as_dict(self) -> dict:
        return {"opened": self.opened, "resolved": self.resolved, "notified": self.notified, "skipped_kinds": self.skipped_kinds}


def _findings(kind: str, condition: Condition, now: datetime) -> dict[str, Finding] | None:
    try:
        with transaction.atomic():  # one consistent read per condition
            found = condition(now)
    except Exception:  # noqa: BLE001 - one broken condition must not silence the others
        logger.exception("on-call condition %s failed; its incidents are left as they are", kind)
        return None
    return {str(f.key)[:64]: f for f in found}


def incident_open(*, kind: str, finding: Finding, now: datetime) -> Incident | None:
    """Open an incident for `finding`; None when one is already open (another check got there)."""
    try:
        with transaction.atomic():
            incident = Incident.objects.create(kind=kind, key=str(finding.key)[:64], summary=finding.summary[:SUMMARY_MAX], opened_at=now)
            audit_record(
                actor=None, action=AuditAction.ONCALL_OPEN, target=incident,
                after={"kind": kind, "key": incident.key, "summary": incident.summary},
            )
    except IntegrityError:  # incident_one_open_per_key: a second beat's check opened it first
        return None
    return incident


def incident_resolve(*, incident: Incident, now: datetime) -> bool:
    """Close `incident` (its condition is gone); tell the people who were told it opened. False
    when another check resolved it first."""
    with transaction.atomic():
        if not Incident.objects.filter(pk=incident.pk, resolved_at__isnull=True).update(resolved_at=now):
            return False
        incident.resolved_at = now
        audit_record(
            actor=None, action=AuditAction.ONCALL_RESOLVE, target=incident,
            before={"opened_at": incident.opened_at}, after={"kind": incident.kind, "key": incident.key, "resolved_at": now},
        )
    if settings.RISKOPS_ONCALL_NOTIFY_RESOLVED and incident.notified_at is not None:
        # Best effort, once: a resolution notice that fails is logged, not retried.
        subject, body = notice_text(incident=incident, resolved=True)
        notice_send(subject=subject, body=body)
    return True


def incident_notify(*, incident: Incident, now: datetime) -> bool:
    """Send the incident's notice unless someone did; True when it went out (or no channel is set)."""
    if not Incident.objects.filter(pk=incident.pk, notified_at__isnull=True, resolved_at__isnull=True).update(notified_at=now):
        return False  # already told, or resolved meanwhile
    subject, body = notice_text(incident=incident, resolved=False)
    outcomes = notice_send(subject=subject, body=body)
    if outcomes and all(result != "sent" for result in outcomes.values()):
        # Nobody was told: give the claim back, the next check tries again.
        Incident.objects.filter(pk=incident.pk, notified_at=now).update(notified_at=None)
        logger.warning("on-call notice for incident %s not sent (%s); the next check tries again", incident.pk, outcomes)
        return False
    if not outcomes:
        logger.warning("on-call incident %s opened, but no notice channel is configured (RISKOPS_ONCALL_EMAILS)", incident.pk)
    incident.notified_at = now
    with transaction.atomic():
        audit_record(actor=None, action=AuditAction.ONCALL_NOTIFY, target=incident, after={"channels": outcomes})
    return True


def oncall_check(*, now: datetime) -> CheckOutcome:
    """Evaluate every registered condition; open, resolve and notify (see the module docstring)."""
    outcome = CheckOutcome()
    # Summaries and notices in the installation's language, whatever the caller's.
    with translation.override(settings.LANGUAGE_CODE):
        for kind, condition in list(_CONDITIONS.items()):
            findings = _findings(kind, condition, now)
            if findings is None:
                outcome.skipped_kinds.append(kind)
                continue
            open_incidents = {i.key: i for i in Incident.objects.filter(kind=kind, resolved_at__isnull=True)}
            for key, finding in findings.items():
                if key not in open_incidents:
                    incident = incident_open(kind=kind, finding=finding, now=now)
                    if incident is not None:
                        outcome.opened.append(incident.pk)
            for key, incident in open_incidents.items():
                if key not in findings and incident_resolve(incident=incident, now=now):
                    outcome.resolved.append(incident.pk)
        for incident in Incident.objects.filter(resolved_at__isnull=True, notified_at__isnull=True).order_by("opened_at", "pk"):
            if incident_notify(incident=incident, now=now):
                outcome.notified.append(incident.pk)
    return outcome

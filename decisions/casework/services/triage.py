"""Triage: what an analyst does with a flagged account.

Lifecycle of an alert: open → in_review (claimed, someone's) → dismissed (false positive) or
confirmed (real risk). Dismissed and confirmed alerts carry `suppressed_until`, a period bounded
by the policy (`alerts.max_suppression_days`): until then the recompute does not raise the same
rule again unless its severity rises, and a confirmed alert's action stays in force.

One account, one analyst: claiming, assigning, giving back and "next case" act on every open
alert of the customer at once, under the customer row's lock (see `_lock_account`). The account's
case (`AccountCase`, what the queue lists) follows every change in the same transaction
(`cases_sync`).

Every service here: lock → re-check → change → audit → defer side effects, in one transaction.
Permissions are checked here, not only hidden in the UI: analysts and risk admins act (model
permission `decisions.change_riskalert`), only risk admins hand cases to someone else
(`decisions.assign_riskalert`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.changes import change_marks_write, recomputes_are_deferred
from accounts.models import Customer
from riskops.core.audit import audit_record
from riskops.core.exceptions import AlertClaimedByOther, AlertClosed, NotFound, NotPermitted, ValidationFailed
from riskops.core.roles import ANALYST, RISK_ADMIN, has_role

from decisions.models import AccountCase, CaseNote, RiskAlert, Trigger

from ..filters import QueueFilters
from ..queue_selectors import next_case_accounts
from decisions.engine.dispatch import task
from decisions.engine.services.cases import cases_sync
from decisions.engine.policy_reads import active_policy

if TYPE_CHECKING:  # pragma: no cover
    from django.contrib.auth.models import User

OPEN, IN_REVIEW = RiskAlert.Status.OPEN, RiskAlert.Status.IN_REVIEW
ACT_PERMISSION = "decisions.change_riskalert"
ASSIGN_PERMISSION = "decisions.assign_riskalert"
NOTE_PERMISSION = "decisions.add_casenote"

# A case note (and a dismissal's or confirmation's reason, kept as one) is at most this long:
# enough for a paragraph of findings, bounded so a pasted log does not become the case file.
NOTE_MAX_CHARS = 5000

# Used until the policy document carries them (decisions/engine/policy.py, `alerts` section).
DEFAULT_SUPPRESSION_DAYS = 14
MAX_SUPPRESSION_DAYS = 90


@dataclass(frozen=True)
class SuppressionBounds:
    default_days: int
    max_days: int


def suppression_bounds() -> SuppressionBounds:
    """The active policy's suppression period: its default and its upper bound, in days."""
    try:
        _version, policy = active_policy()
    except NotFound:
        policy = None
    max_days = max(int(getattr(policy, "max_suppression_days", MAX_SUPPRESSION_DAYS)), 1)
    default_days = int(getattr(policy, "default_suppression_days", DEFAULT_SUPPRESSION_DAYS))
    # The form's starting value; a policy default of 0 ("no suppression by default") still asks
    # for at least one day, since a dismissal that suppresses nothing comes back tonight.
    return SuppressionBounds(default_days=min(max(default_days, 1), max_days), max_days=max_days)


def _require(actor: Any, permission: str) -> None:
    if not actor.has_perm(permission):
        raise NotPermitted(_("Your role does not allow this action."))


def _lock(alert: RiskAlert) -> RiskAlert:
    # A fresh row under lock: the caller's copy may be stale (two tabs, two analysts).
    return RiskAlert.objects.select_for_update().select_related("customer").get(pk=alert.pk)


def _require_open(alert: RiskAlert) -> None:
    if alert.status not in RiskAlert.OPEN_STATUSES:
        raise AlertClosed(
            _("This alert is already %(status)s.") % {"status": alert.get_status_display().lower()}, alert_id=alert.pk
        )


def _require_not_held_by_other(alert: RiskAlert, actor: Any) -> None:
    """An alert someone holds is theirs; a risk admin (who may reassign it anyway) may step in."""
    if alert.assigned_to_id not in (None, actor.pk) and not actor.has_perm(ASSIGN_PERMISSION):
        raise AlertClaimedByOther(
            _("%(user)s is already working on this alert.") % {"user": alert.assigned_to.get_username()},
            alert_id=alert.pk,
        )


def _state(alert: RiskAlert) -> dict:
    return {"status": alert.status, "assigned_to": alert.assigned_to_id}


def _enqueue_recompute(customer_id: int) -> None:
    recompute_customer = task("recompute_customer")  # by name: tasks import services

    if recomputes_are_deferred():
        # A replay runs the day's recompute itself, on the day's clock: the mark is the request.
        change_marks_write(customer_ids=[customer_id], trigger=Trigger.MANUAL.value)
        return
    # After commit: the worker must see the triaged alert, and a rollback must send nothing.
    recompute_customer.delay_on_commit(customer_id=customer_id, trigger=Trigger.MANUAL.value)


def _claim(alert: RiskAlert, *, assignee: Any, now) -> None:
    alert.status, alert.assigned_to, alert.claimed_at = IN_REVIEW, assignee, now
    alert.save(update_fields=["status", "assigned_to", "claimed_at"])


# --- the account: one analyst holds all of a customer's open alerts ----------------------------
#
# Claim, assign, bulk assign, next case and unassign act on the account, not on one alert. Lock
# order, always: the customer row, then its open alerts in pk order. The customer row is the
# account's lock (FOR NO KEY UPDATE: rows that merely reference the customer, such as a
# recompute's new alerts, are not held up by it).


def _lock_account(customer_id: int, *, skip_locked: bool = False) -> bool:
    """Lock the account; False when `skip_locked` and someone else is working on it right now."""
    locked = Customer.objects.select_for_update(no_key=True, skip_locked=skip_locked).filter(pk=customer_id)
    return locked.values_list("pk", flat=True).first() is not None


def _account_alerts(customer_id: int) -> list[RiskAlert]:
    """The account's open alerts, locked (after `_lock_account`), with their assignees."""
    return list(
        RiskAlert.objects.select_for_update(of=("self",))
        .select_related("assigned_to", "customer")
        .filter(customer_id=customer_id, status__in=RiskAlert.OPEN_STATUSES)
        .order_by("pk")
    )


def _locked_alert(alert: RiskAlert) -> tuple[RiskAlert, list[RiskAlert]]:
    """Lock `alert`'s account, then the alert and its open siblings: (the fresh alert, all of them).
    A closed alert is refused (AlertClosed)."""
    _lock_account(alert.customer_id)
    alerts = _account_alerts(alert.customer_id)
    fresh = next((a for a in alerts if a.pk == alert.pk), None)
    if fresh is None:  # not among the open ones: closed, and the refusal says how
        fresh = _lock(alert)
        _require_open(fresh)
    return fresh, alerts


def _holder(alerts: list[RiskAlert], *, other_than: Any = None) -> Any | None:
    """Who holds the account (the assignee of one of its open alerts), other than `other_than`."""
    skip = getattr(other_than, "pk", None)
    return next((a.assigned_to for a in alerts if a.assigned_to_id not in (None, skip)), None)


def _account_held_by_other(holder: Any, alert: RiskAlert) -> AlertClaimedByOther:
    return AlertClaimedByOther(
        _("%(user)s is already working on this account.") % {"user": holder.get_username()}, alert_id=alert.pk
    )


def _take_account(alerts: list[RiskAlert], *, assignee: Any, actor: Any, action: str, now) -> list[RiskAlert]:
    """Every open alert of the account becomes `assignee`'s (in review). One audit event per alert
    that changed hands, so each alert's trail says who took it; the others are left alone."""
    changed = []
    for alert in alerts:
        if alert.status == IN_REVIEW and alert.assigned_to_id == assignee.pk:
            continue
        before = _state(alert)
        _claim(alert, assignee=assignee, now=now)
        audit_record(actor=actor, action=action, target=alert, before=before, after=_state(alert))
        changed.append(alert)
    return changed


@transaction.atomic
def alert_claim(*, alert: RiskAlert, actor: User) -> RiskAlert:
    """Take an open alert's account: its open alerts become in_review, assigned to `actor`.

    Invariants: only an open or in-review alert can be claimed; an account someone else holds
    (any of its open alerts) is a Conflict (`AlertClaimedByOther`), so two analysts never work the
    same account; claiming one's own account again changes nothing and writes nothing, except that
    an alert raised on it since is taken too.
    """
    _require(actor, ACT_PERMISSION)
    alert, alerts = _locked_alert(alert)
    holder = _holder(alerts, other_than=actor)
    if holder is not None:
        raise _account_held_by_other(holder, alert)
    now = timezone.now()
    _take_account(alerts, assignee=actor, actor=actor, action="alert.claim", now=now)
    cases_sync(customer_ids=[alert.customer_id], now=now)
    return alert


@transaction.atomic
def alert_unassign(*, alert: RiskAlert, actor: User) -> RiskAlert:
    """Give a claimed alert's account back to the queue: its open alerts are open again, nobody's.

    Invariants: only the holder or a risk admin may do it (`AlertClaimedByOther` otherwise);
    a closed alert stays closed; an account nobody holds is left alone (no audit row).
    """
    _require(actor, ACT_PERMISSION)
    alert, alerts = _locked_alert(alert)
    holder = _holder(alerts, other_than=actor)
    if holder is not None and not actor.has_perm(ASSIGN_PERMISSION):
        raise _account_held_by_other(holder, alert)
    for each in alerts:
        if each.assigned_to_id is None and each.status == OPEN:
            continue
        before = _state(each)
        each.status, each.assigned_to, each.claimed_at = OPEN, None, None
        each.save(update_fields=["status", "assigned_to", "claimed_at"])
        audit_record(actor=actor, action="alert.unassign", target=each, before=before, after=_state(each))
    cases_sync(customer_ids=[alert.customer_id], now=timezone.now())
    return alert


def _check_assignee(assignee: Any) -> None:
    if assignee is None or not assignee.is_active or not has_role(assignee, ANALYST, RISK_ADMIN):
        raise ValidationFailed(_("Cases can only be assigned to an analyst or a risk admin."), field="assignee")


@transaction.atomic
def alert_assign(*, alert: RiskAlert, assignee: User, actor: User) -> RiskAlert:
    """Hand an open or in-review alert's account to `assignee` (claimed on their behalf: all its
    open alerts in_review, theirs).

    Invariants: only a risk admin (`decisions.assign_riskalert`) may assign — enforced here,
    whatever the UI shows; the assignee is an active analyst or risk admin; assigning an account
    to the person who already holds it writes nothing. No four-eyes rule: assignment decides
    nothing about the customer.
    """
    _require(actor, ASSIGN_PERMISSION)
    _check_assignee(assignee)
    alert, alerts = _locked_alert(alert)
    now = timezone.now()
    _take_account(alerts, assignee=assignee, actor=actor, action="alert.assign", now=now)
    cases_sync(customer_ids=[alert.customer_id], now=now)
    return alert


@transaction.atomic
def alerts_bulk_assign(*, alert_ids: Iterable[int], assignee: User, actor: User) -> list[RiskAlert]:
    """Assign the accounts of several alerts to `assignee` at once; returns the alerts that
    changed hands (every open alert of each account, not only the ones selected).

    Invariants: as `alert_assign`, for each account; accounts are locked in customer-id order
    (no deadlock with another bulk assignment); alerts closed meanwhile are skipped, not an error,
    so a stale selection still assigns what is still open. One audit row per alert that changed.
    """
    _require(actor, ASSIGN_PERMISSION)
    _check_assignee(assignee)
    ids = sorted({int(pk) for pk in alert_ids})
    if not ids:
        raise ValidationFailed(_("Select at least one case to assign."), field="alert_ids")
    customer_ids = sorted(
        set(RiskAlert.objects.filter(pk__in=ids, status__in=RiskAlert.OPEN_STATUSES).values_list("customer_id", flat=True))
    )
    now = timezone.now()
    changed = []
    for customer_id in customer_ids:
        _lock_account(customer_id)
        changed += _take_account(_account_alerts(customer_id), assignee=assignee, actor=actor, action="alert.assign", now=now)
    # The cases after every account's alerts (the lock order: alerts, then cases).
    cases_sync(customer_ids=customer_ids, now=now)
    return changed


# How many candidate accounts "next case" reads at a time; more only when all were taken meanwhile.
NEXT_CASE_BATCH = 20


def _lock_free_case(customer_id: int) -> bool:
    """Lock the account's open case while nobody holds it; False when it is closed, held, or being
    changed by another transaction right now (SKIP LOCKED on PostgreSQL: skipped, not waited for).
    Taken after the account's alerts, the lock order of `cases_sync`."""
    return (
        AccountCase.objects.select_for_update(skip_locked=True)
        .filter(customer_id=customer_id, closed_at__isnull=True, assigned_to__isnull=True)
        .values_list("pk", flat=True)
        .first()
        is not None
    )


@transaction.atomic
def case_next(*, actor: User, filters: QueueFilters | None = None) -> RiskAlert | None:
    """Claim the next case for `actor`: the most urgent unassigned account within `filters` —
    highest severity, then nearest SLA deadline, then oldest (the queue's default order,
    `queue_selectors.PRIORITY_ORDER`, read from the case table) — with every open alert of it.
    Returns the account's most severe alert, or None when nothing is waiting.

    Invariant: two analysts asking at the same moment never get the same account, and an account
    someone holds is never handed out. Each candidate is locked with `SELECT … SKIP LOCKED` on
    PostgreSQL — the account (customer row), then, after its alerts, its case row — so an account
    another transaction is claiming is skipped, not waited for, and re-checked under the lock
    (taken meanwhile: next one); SQLite serialises writers, so the second caller sees the first's
    claim.
    """
    _require(actor, ACT_PERMISSION)
    candidates = next_case_accounts(filters=filters or QueueFilters(), user=actor)
    tried: list[int] = []
    while True:
        batch = list(candidates.exclude(customer_id__in=tried)[:NEXT_CASE_BATCH])
        if not batch:
            return None
        for customer_id in batch:
            tried.append(customer_id)
            if not _lock_account(customer_id, skip_locked=True):
                continue
            alerts = _account_alerts(customer_id)
            if not alerts or _holder(alerts) is not None or not _lock_free_case(customer_id):
                continue  # closed or claimed since the candidates were read
            now = timezone.now()
            _take_account(alerts, assignee=actor, actor=actor, action="alert.claim", now=now)
            cases_sync(customer_ids=[customer_id], now=now)
            return max(alerts, key=lambda a: (a.severity, -a.raised_at.timestamp(), -a.pk))


@transaction.atomic
def note_add(*, customer: Customer, actor: User, body: str, alert: RiskAlert | None = None) -> CaseNote:
    """Add a case note to a customer, optionally about one of their alerts.

    Invariants: the body is not blank (also a database constraint); the alert, when given,
    belongs to the customer. Notes are never edited: a correction is another note.
    """
    _require(actor, NOTE_PERMISSION)
    body = (body or "").strip()
    if not body:
        raise ValidationFailed(_("Write the note before saving it."), field="body")
    _check_note_length(body, field="body")
    if alert is not None and alert.customer_id != customer.pk:
        raise ValidationFailed(_("That alert belongs to another customer."), field="alert")
    note = CaseNote.objects.create(customer=customer, alert=alert, author=actor, body=body)
    audit_record(
        actor=actor,
        action="note.add",
        target=note,
        after={"customer": customer.external_id, "alert": getattr(alert, "pk", None), "body": body},
    )
    return note


def _check_note_length(body: str, *, field: str) -> None:
    if len(body) > NOTE_MAX_CHARS:
        raise ValidationFailed(
            _("A note is at most %(max)s characters; this one has %(n)s. Shorten it, or split it into two notes.")
            % {"max": f"{NOTE_MAX_CHARS:,}", "n": f"{len(body):,}"},
            field=field,
        )


def _check_closing_input(note: str, suppress_days: Any) -> tuple[str, int]:
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(_("Say why, in a note: it stays on the case."), field="note")
    _check_note_length(note, field="note")
    bounds = suppression_bounds()
    try:
        days = int(suppress_days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= bounds.max_days:
        raise ValidationFailed(
            _("Choose 1 to %(max)d days (the policy's limit).") % {"max": bounds.max_days}, field="suppress_days"
        )
    return note, days


def _close(
    *, alert: RiskAlert, actor: Any, note: str, suppress_days: Any, status: str, action: str, now: datetime | None = None
) -> RiskAlert:
    _require(actor, ACT_PERMISSION)
    note, days = _check_closing_input(note, suppress_days)
    alert = _lock(alert)
    _require_open(alert)
    _require_not_held_by_other(alert, actor)
    before = {**_state(alert), "suppressed_until": alert.suppressed_until}
    now = now or timezone.now()
    alert.status, alert.resolved_by, alert.resolved_at = status, actor, now
    alert.resolution, alert.suppressed_until = note, now + timedelta(days=days)
    alert.save(update_fields=["status", "resolved_by", "resolved_at", "resolution", "suppressed_until"])
    CaseNote.objects.create(customer=alert.customer, alert=alert, author=actor, body=note)
    cases_sync(customer_ids=[alert.customer_id], now=now)
    audit_record(
        actor=actor,
        action=action,
        target=alert,
        before=before,
        after={**_state(alert), "suppressed_until": alert.suppressed_until, "suppress_days": days, "note": note},
    )
    # Access and limit follow the triage: dismissing lifts the rule's effect, confirming keeps it.
    _enqueue_recompute(alert.customer_id)
    return alert


@transaction.atomic
def alert_dismiss(*, alert: RiskAlert, actor: User, note: str, suppress_days: int, now: datetime | None = None) -> RiskAlert:
    """A false positive: the alert is dismissed (resolved_by/at set), the reason kept as a case
    note, and the same rule is suppressed for `suppress_days` (1 … the policy's
    `max_suppression_days`) unless its severity rises. A recompute follows on commit.

    Invariants: a note is required; the alert is open or in review and not held by someone else
    (a risk admin may step in); nothing is written when any check fails.
    """
    return _close(alert=alert, actor=actor, note=note, suppress_days=suppress_days, status=RiskAlert.Status.DISMISSED, action="alert.dismiss", now=now)


@transaction.atomic
def alert_confirm(*, alert: RiskAlert, actor: User, note: str, suppress_days: int, now: datetime | None = None) -> RiskAlert:
    """A real risk: the alert is confirmed and its action (review, suspend, close) stays in force
    until `suppressed_until` (1 … the policy's `max_suppression_days` days); the rule is not
    raised again meanwhile unless its severity rises. A recompute follows on commit.

    Invariants: as `alert_dismiss`.
    """
    return _close(alert=alert, actor=actor, note=note, suppress_days=suppress_days, status=RiskAlert.Status.CONFIRMED, action="alert.confirm", now=now)


@transaction.atomic
def customer_recompute_request(*, customer: Customer, actor: User) -> None:
    """Ask for the customer's decision to be recomputed now (trigger `manual`), on commit.

    Invariant: audited as `recompute.request`; the recompute itself takes the customer's lock
    in the worker, so nothing is locked here.
    """
    _require(actor, ACT_PERMISSION)
    audit_record(actor=actor, action="recompute.request", target=customer, after={"trigger": Trigger.MANUAL.value})
    _enqueue_recompute(customer.pk)

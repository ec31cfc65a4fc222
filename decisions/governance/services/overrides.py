"""Manual overrides: a person's decision that wins over the model's until it expires.

Lifecycle: request (pending) → approve (in force until `expires_at`) or reject → expiry (the
hourly `expiry_sweep`) or revocation → back to the model. A request names a target access and/or
a limit (blank access keeps the model's access, a null limit the model's limit), a reason
category from the active policy's `overrides.reason_categories` plus free text, and a number of
days bounded by `overrides.max_days`.

Four eyes, enforced here and not only hidden in the UI: analysts and risk admins request; only a
risk admin decides (approve, reject) or revokes, and whoever requested an override can never
decide it (`FourEyesViolation`; the database's `override_four_eyes` check backs it). One request
waits per customer (`override_one_pending_per_customer` backs the check below).

Every service: lock → re-check → change → audit → defer side effects, in one transaction. Where
the effective decision can change (approve, revoke) the customer is marked for a recompute, which
runs after the commit (`accounts.changes.customer_data_changed`, trigger `override`): the line
follows at once, and if the broker loses the message the outbox mark is swept up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy

from accounts.changes import change_marks_write, customer_data_changed
from accounts.models import Customer, RepaymentInstallment
from riskops.core.audit import audit_record
from riskops.core.exceptions import Conflict, FourEyesViolation, NotFound, NotPermitted, OverrideNotPending, ValidationFailed
from riskops.core.roles import ANALYST, RISK_ADMIN, has_role

from decisions.models import ACCESS_VALUES, ACCESS_WITH_LIMIT, CreditLine, Override, Trigger
from decisions.presentation.texts import access_name
from decisions.engine.policy_reads import active_policy
from decisions.engine.policy import (
    DEFAULT_OVERRIDE_DEFAULT_DAYS,
    DEFAULT_OVERRIDE_MAX_DAYS,
    DEFAULT_OVERRIDE_REASON_CATEGORIES,
)

if TYPE_CHECKING:  # pragma: no cover
    from django.contrib.auth.models import User

PENDING, APPROVED = Override.State.PENDING, Override.State.APPROVED
REASON_MAX_CHARS = 2000
NOTE_MAX_CHARS = 2000
# The limit column holds 14 digits with 2 decimals; the policy's max_limit bounds it further.
LIMIT_COLUMN_MAX = Decimal("999999999999.99")

# The default categories' labels in the viewer's language; a policy's own labels are shown as
# written (the policy is the record, like rule texts).
DEFAULT_CATEGORY_LABELS = {
    "new_evidence": gettext_lazy("New evidence the model has not seen"),
    "data_error": gettext_lazy("Wrong or missing data"),
    "hardship": gettext_lazy("Hardship arrangement"),
    "fraud_suspected": gettext_lazy("Suspected fraud"),
    "retention": gettext_lazy("Customer retention"),
    "other": gettext_lazy("Other"),
}
_DEFAULT_ENGLISH = dict(DEFAULT_OVERRIDE_REASON_CATEGORIES)


def category_label(code: str, label: str | None = None) -> str:
    """What staff read for a reason category: the translated default text when the policy kept
    the default wording, else the policy's label, else the code itself."""
    if code in DEFAULT_CATEGORY_LABELS and (label is None or label == _DEFAULT_ENGLISH.get(code)):
        return str(DEFAULT_CATEGORY_LABELS[code])
    return label or code


@dataclass(frozen=True)
class OverrideBounds:
    """What the active policy allows a request: its reason categories and its days."""

    categories: tuple[tuple[str, str], ...]
    max_days: int
    default_days: int
    max_limit: Decimal | None = None

    def category_choices(self) -> list[tuple[str, str]]:
        return [(code, category_label(code, label)) for code, label in self.categories]


def override_bounds() -> OverrideBounds:
    """The active policy's bounds for a request (defaults when no policy is active)."""
    try:
        _version, policy = active_policy()
    except NotFound:
        return OverrideBounds(DEFAULT_OVERRIDE_REASON_CATEGORIES, DEFAULT_OVERRIDE_MAX_DAYS, DEFAULT_OVERRIDE_DEFAULT_DAYS)
    return OverrideBounds(
        policy.override_reason_categories, policy.override_max_days, policy.override_default_days, policy.max_limit
    )


# --- helpers -------------------------------------------------------------------------------------


def _state(override: Override) -> dict[str, Any]:
    return {
        "state": override.state,
        "access": override.access,
        "limit_amount": override.limit_amount,
        "expires_at": override.expires_at,
        "decided_by": override.decided_by_id,
        "revoked_by": override.revoked_by_id,
    }


def _lock(override: Override) -> Override:
    # A fresh row under lock: the caller's copy may be stale (two admins, two tabs).
    try:
        return Override.objects.select_for_update().get(pk=override.pk)
    except Override.DoesNotExist:
        raise NotFound(_("No override #%(id)s.") % {"id": override.pk}) from None


def _require_decider(actor: Any) -> None:
    if not has_role(actor, RISK_ADMIN):
        raise NotPermitted(_("Only a risk admin may approve, reject or revoke an override."))


def _require_pending(override: Override) -> None:
    if override.state != PENDING:
        raise OverrideNotPending(
            _("Override #%(id)s is not waiting for approval: it is %(state)s.")
            % {"id": override.pk, "state": override.get_state_display().lower()},
            override_id=override.pk,
        )


def _require_second_person(override: Override, actor: Any) -> None:
    if override.requested_by_id == actor.pk:
        raise FourEyesViolation(
            _("You requested override #%(id)s, so you cannot decide it: a second risk admin must.") % {"id": override.pk},
            override_id=override.pk,
        )


def _note(note: str, *, required: bool, field: str = "note") -> str:
    note = (note or "").strip()
    if required and not note:
        raise ValidationFailed(_("Say why: the note is kept in the audit trail."), field=field)
    if len(note) > NOTE_MAX_CHARS:
        raise ValidationFailed(_("At most %(n)d characters.") % {"n": NOTE_MAX_CHARS}, field=field)
    return note


def _recompute_on_commit(customer_id: int) -> None:
    # Marks the customer (outbox) in this transaction; the recompute runs after the commit.
    customer_data_changed(customer_id=customer_id, trigger=Trigger.OVERRIDE.value)


def _parse_limit(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        limit = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("Enter an amount, e.g. 3000.00."), field="limit_amount") from None
    if not limit.is_finite():
        raise ValidationFailed(_("Enter an amount, e.g. 3000.00."), field="limit_amount")
    if limit != 0 and limit.normalize().as_tuple().exponent < -2:
        raise ValidationFailed(_("Enter an amount with at most two decimals."), field="limit_amount")
    return limit


# --- services ------------------------------------------------------------------------------------


@transaction.atomic
def override_request(
    *,
    customer: Customer,
    actor: User,
    access: str = "",
    limit_amount: Decimal | str | None = None,
    reason_category: str,
    reason: str,
    days: int | None = None,
    now=None,
) -> Override:
    """Ask for an override of `customer`'s line; it waits, pending, for a second person.

    Invariants: analysts and risk admins only (`NotPermitted`); a target access and/or a limit
    (a limit only with an access state that carries one, and within the policy's `max_limit`);
    a reason category from the active policy and a non-blank reason; 1 to `overrides.max_days`
    days (the policy's default when None). One pending request per customer: a second one is a
    `Conflict` naming the first. Writes the request and its audit row; no recompute (a pending
    request changes nothing the customer sees). Bad input names the field and writes nothing.
    """
    if not has_role(actor, ANALYST, RISK_ADMIN):
        raise NotPermitted(_("Only analysts and risk admins may request an override."))
    now = now or timezone.now()
    bounds = override_bounds()
    access = (access or "").strip()
    if access not in ACCESS_VALUES + [""]:
        raise ValidationFailed(_("Choose an access state from the list."), field="access")
    limit = _parse_limit(limit_amount)
    if not access and limit is None:
        raise ValidationFailed(_("Name a target access, a limit, or both."), field="access")
    if limit is not None:
        if limit < 0:
            raise ValidationFailed(_("A limit cannot be negative."), field="limit_amount")
        top = min(bounds.max_limit, LIMIT_COLUMN_MAX) if bounds.max_limit is not None else LIMIT_COLUMN_MAX
        if limit > top:
            raise ValidationFailed(_("At most %(max)s, the policy's largest limit.") % {"max": f"{top:,.2f}"}, field="limit_amount")
        if access and access not in ACCESS_WITH_LIMIT and limit != 0:
            raise ValidationFailed(
                _("A line that is “%(access)s” carries no limit: leave the limit empty.") % {"access": access_name(access)},
                field="limit_amount",
            )
        limit = limit.quantize(Decimal("0.01"))
        if access and access not in ACCESS_WITH_LIMIT:
            limit = None  # "closed at 0.00" says no more than "closed"
    codes = [code for code, _label in bounds.categories]
    if reason_category not in codes:
        raise ValidationFailed(_("Choose a reason category from the policy's list."), field="reason_category")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why: the reason is shown to the approver and kept in the audit trail."), field="reason")
    if len(reason) > REASON_MAX_CHARS:
        raise ValidationFailed(_("At most %(n)d characters.") % {"n": REASON_MAX_CHARS}, field="reason")
    days = bounds.default_days if days is None else days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= bounds.max_days:
        raise ValidationFailed(
            _("Between 1 and %(max)d days (the policy's bound).") % {"max": bounds.max_days}, field="days"
        )

    # The customer's row serialises requests for one customer: the pending check below then
    # sees any request committed before us (the unique constraint still backs it).
    locked = Customer.objects.select_for_update().filter(pk=customer.pk).first()
    if locked is None:
        raise NotFound(_("No such customer."))
    if access in ACCESS_WITH_LIMIT and limit is None:
        model_access = CreditLine.objects.filter(customer_id=customer.pk).values_list("model_access", flat=True).first()
        if model_access not in ACCESS_WITH_LIMIT:
            raise ValidationFailed(
                _("The model gives this line no limit now, so name the limit to grant."), field="limit_amount"
            )
    pending_lapsed_expire(now=now, customer_id=customer.pk)  # a lapsed request blocks nobody
    waiting = Override.objects.filter(customer_id=customer.pk, state=PENDING).select_related("requested_by").first()
    if waiting is not None:
        raise Conflict(_pending_message(waiting, locked), override_id=waiting.pk)
    override = Override(
        customer_id=customer.pk,
        access=access,
        limit_amount=limit,
        reason_category=reason_category,
        reason=reason,
        created_at=now,
        expires_at=now + timedelta(days=days),
        state=PENDING,
        requested_by=actor,
    )
    try:
        with transaction.atomic():
            override.save(force_insert=True)
    except IntegrityError:
        waiting = Override.objects.filter(customer_id=customer.pk, state=PENDING).select_related("requested_by").first()
        if waiting is None:
            raise
        raise Conflict(_pending_message(waiting, locked), override_id=waiting.pk) from None
    audit_record(
        actor=actor,
        action="override.request",
        target=override,
        before={},
        after={**_state(override), "reason_category": reason_category, "reason": reason, "days": days},
    )
    return override


def pending_lapsed_expire(*, now, customer_id: int | None = None) -> list[Override]:
    """Expire requests still pending at their `expires_at` (nobody decided in time; approval is
    refused past it anyway). Called by the hourly sweep for the book, and by `override_request`
    for its customer so a lapsed request never blocks a new one. Audited (override.expire) as
    system events. A pending request was never in force: nothing to recompute. Locks the rows in
    pk order; runs inside the caller's transaction."""
    rows = Override.objects.select_for_update().filter(state=PENDING, expires_at__lte=now)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    lapsed = list(rows.order_by("pk"))
    for override in lapsed:
        override.state = Override.State.EXPIRED
        override.save(update_fields=["state", "updated_at"])
        audit_record(
            actor=None, action="override.expire", target=override,
            before={"state": "pending"}, after={"state": "expired", "undecided": True},
        )
    return lapsed


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
        # Once expired the override no longer says its customer needs a recompute: the outbox
        # mark does, if the task's message is lost (the sweep re-enqueues it).
        change_marks_write(customer_ids=sorted({o.customer_id for o in expired}), trigger=Trigger.EXPIRY)
        # A request nobody decided before its end would block the customer's next request.
        pending_lapsed_expire(now=now)
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


def _pending_message(waiting: Override, customer: Customer) -> str:
    return _(
        "%(customer)s already has an override request waiting for approval (#%(id)s, asked by %(user)s). "
        "It must be approved or rejected before another one is requested."
    ) % {"customer": customer.external_id, "id": waiting.pk, "user": waiting.requested_by.get_username()}


@transaction.atomic
def override_approve(*, override: Override, actor: User, note: str = "", now=None) -> Override:
    """Approve a pending override: it is in force from now until its `expires_at`.

    Invariants: a risk admin (`NotPermitted`) other than the requester (`FourEyesViolation`);
    the override is pending under the row lock (`OverrideNotPending`: of two concurrent
    approvals exactly one succeeds) and has not run past its expiry while it waited. An
    override already in force for the customer is superseded (revoked, audited): one override
    in force per customer. The customer is recomputed after commit.
    """
    _require_decider(actor)
    now = now or timezone.now()
    override = _lock(override)
    _require_pending(override)
    _require_second_person(override, actor)
    note = _note(note, required=False)
    if override.expires_at <= now:
        raise Conflict(
            _("Override #%(id)s expired while it waited; reject it and request a new one.") % {"id": override.pk},
            override_id=override.pk,
        )
    superseded = list(
        Override.objects.select_for_update()
        .filter(customer_id=override.customer_id, state=APPROVED)
        .exclude(pk=override.pk)
        .order_by("pk")
    )
    for older in superseded:
        before = _state(older)
        older.state, older.revoked_by, older.revoked_at = Override.State.REVOKED, actor, now
        older.revoke_note = f"Superseded by override #{override.pk}."
        older.save(update_fields=["state", "revoked_by", "revoked_at", "revoke_note", "updated_at"])
        audit_record(
            actor=actor, action="override.revoke", target=older, before=before,
            after={**_state(older), "superseded_by": override.pk},
        )
    before = _state(override)
    override.state, override.decided_by, override.decided_at, override.decision_note = APPROVED, actor, now, note
    override.save(update_fields=["state", "decided_by", "decided_at", "decision_note", "updated_at"])
    audit_record(
        actor=actor, action="override.approve", target=override, before=before,
        after={**_state(override), "note": note, "superseded": [o.pk for o in superseded]},
    )
    _recompute_on_commit(override.customer_id)
    return override


@transaction.atomic
def override_reject(*, override: Override, actor: User, note: str, now=None) -> Override:
    """Reject a pending override, saying why.

    Invariants: a risk admin other than the requester (the database records the decider, and
    four eyes holds for every decision); pending under the lock; a non-blank note. No recompute:
    a pending request never changed what the customer sees.
    """
    _require_decider(actor)
    now = now or timezone.now()
    override = _lock(override)
    _require_pending(override)
    _require_second_person(override, actor)
    note = _note(note, required=True)
    before = _state(override)
    override.state, override.decided_by, override.decided_at, override.decision_note = Override.State.REJECTED, actor, now, note
    override.save(update_fields=["state", "decided_by", "decided_at", "decision_note", "updated_at"])
    audit_record(actor=actor, action="override.reject", target=override, before=before, after={**_state(override), "note": note})
    return override


@transaction.atomic
def override_revoke(*, override: Override, actor: User, note: str, now=None) -> Override:
    """End an approved override before its expiry; the customer goes back to the model.

    Invariants: a risk admin (any one, the requester or approver included: revoking only
    returns the line to the model's own decision); the override is approved under the lock
    (`Conflict` otherwise); a non-blank note. The customer is recomputed after commit.
    """
    _require_decider(actor)
    now = now or timezone.now()
    override = _lock(override)
    if override.state != APPROVED:
        raise Conflict(
            _("Override #%(id)s is not in force (it is %(state)s), so there is nothing to revoke.")
            % {"id": override.pk, "state": override.get_state_display().lower()},
            override_id=override.pk,
        )
    note = _note(note, required=True)
    before = _state(override)
    override.state, override.revoked_by, override.revoked_at, override.revoke_note = Override.State.REVOKED, actor, now, note
    override.save(update_fields=["state", "revoked_by", "revoked_at", "revoke_note", "updated_at"])
    audit_record(actor=actor, action="override.revoke", target=override, before=before, after={**_state(override), "note": note})
    _recompute_on_commit(override.customer_id)
    return override

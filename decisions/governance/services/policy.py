"""Policy versions: drafts, their diff and simulation, maker-checker activation, the active one.

The workflow a person follows (admin and staff pages): copy the active version into a draft
(`policy_draft_copy`), edit it (`policy_draft_edit`), read its diff (`policy_diff`), simulate it on
the whole book (`policy_simulate`, services/simulation.py), ask for its activation
(`policy_activation_request`, needs a succeeded simulation of the body as it is now) and have a
second risk admin approve it (`policy_activation_approve`: four eyes, the simulation re-checked,
then `policy_activate` and a full recompute) or reject it (`policy_activation_reject`).

`policy_activate` is the one-step internal activation: it dry-runs the policy on a sample of the
book (a document can be valid and still be unable to decide a real customer, and once active it
would break every recompute). Only migrations, bootstrap, tests and the approval above call it;
no page does.
"""

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from riskops.core.audit import audit_record, target_label
from riskops.core.models import AuditAction, AuditEvent
from riskops.core.exceptions import Conflict, FourEyesViolation, NotFound, PolicyInvalid, ValidationFailed

from decisions.models import CreditDecision, PolicySimulation, PolicyVersion, RecomputeRun, RunOrigin, ScoreSnapshot, Trigger
from decisions.engine.planning import plan_customer
from decisions.engine.policy import Policy, _path, parse_policy, validate_policy
from decisions.engine.policy_reads import body_stamp
from decisions.engine.services.cases import cases_rebuild
from decisions.engine.services.inputs import load_chunk
from decisions.engine.services.runs import recompute_run_start
from ..activation_checks import activation_evidence
from .guards import require_draft, require_perm
from .simulation import DEFAULT_CHUNK_SIZE, simulation_start

# Up to 500 customers in 10 runs of consecutive ids spread over the id range: the whole book when
# it is small, a cross-section (old and new customers) when it is large, in 10 chunk reads.
DRY_RUN_WINDOWS = 10
DRY_RUN_PER_WINDOW = 50


def _next_version_number() -> int:
    PolicyVersion.objects.select_for_update().order_by("pk").first()  # serialise version numbering
    return (PolicyVersion.objects.aggregate(m=Max("version"))["m"] or 0) + 1


@transaction.atomic
def policy_create(*, name: str, body: dict, actor, notes: str = "") -> PolicyVersion:
    """Store a new draft version. A body that fails validation is refused and nothing is written."""
    validate_policy(body)
    number = _next_version_number()
    version = PolicyVersion.objects.create(version=number, name=name, body=body, notes=notes, created_by=actor)
    audit_record(actor=actor, action="policy.create", target=version, after={"version": number, "name": name})
    return version


@transaction.atomic
def policy_activate(*, version: PolicyVersion, actor, audit_extra: dict | None = None) -> PolicyVersion:
    """Make `version` the only active policy; the previous one is retired. Audited.

    The internal, one-step activation (migrations, bootstrap, tests, and the last step of
    `policy_activation_approve`); people go through maker-checker. Refused (PolicyInvalid,
    nothing changed) when the body does not validate or when planning a sample of the book with
    it fails. Invariant: exactly one active version afterwards (also a partial unique constraint)."""
    versions = list(
        PolicyVersion.objects.select_for_update().filter(Q(pk=version.pk) | Q(state=PolicyVersion.State.ACTIVE)).order_by("pk")
    )
    version = next(v for v in versions if v.pk == version.pk)
    if version.state == PolicyVersion.State.ACTIVE:
        return version
    if version.state == PolicyVersion.State.RETIRED:
        raise Conflict(f"policy v{version.version} is retired; create a new version instead", field="state")
    policy = parse_policy(version.body, version_id=version.pk)
    policy_dry_run(policy=policy, version=version)
    previous = next((v for v in versions if v.state == PolicyVersion.State.ACTIVE), None)
    now = timezone.now()
    if previous:
        previous.state, previous.retired_at = PolicyVersion.State.RETIRED, now
        previous.save(update_fields=["state", "retired_at"])
    version.state, version.activated_at, version.activated_by = PolicyVersion.State.ACTIVE, now, actor
    version.save(update_fields=["state", "activated_at", "activated_by"])
    # The open cases' SLA deadlines follow the new hours, in this transaction (the queue reads them).
    if previous is None or parse_policy(previous.body, version_id=previous.pk).alert_sla_hours != policy.alert_sla_hours:
        cases_rebuild(now=now, sla_hours=policy.alert_sla_hours)
    audit_record(
        actor=actor,
        action="policy.activate",
        target=version,
        before={"active_version": previous.version if previous else None},
        after={"active_version": version.version, **(audit_extra or {})},
    )
    return version


def _sample_ranges() -> list[tuple[int, int]]:
    """Id ranges of at most DRY_RUN_PER_WINDOW customers each, spread evenly over the id range;
    overlapping ranges (a small book) are merged."""
    bounds = Customer.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
    if bounds["lo"] is None:
        return []
    step = max((bounds["hi"] - bounds["lo"] + 1) // DRY_RUN_WINDOWS, 1)
    ranges: list[tuple[int, int]] = []
    for window in range(DRY_RUN_WINDOWS):
        ids = list(
            Customer.objects.filter(pk__gte=bounds["lo"] + window * step).order_by("pk").values_list("pk", flat=True)[:DRY_RUN_PER_WINDOW]
        )
        if not ids:
            break
        if ranges and ids[0] <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], ids[-1]))
        else:
            ranges.append((ids[0], ids[-1]))
    return ranges


def _column_max(model, name: str) -> Decimal:
    column = model._meta.get_field(name)
    return Decimal(10) ** (column.max_digits - column.decimal_places) - Decimal(1).scaleb(-column.decimal_places)


def _unwritable(plan) -> str | None:
    """What in a plan the database would refuse: amounts beyond their column, a score beyond a
    smallint, a probability outside [0, 1]."""
    limit_max = _column_max(CreditDecision, "limit_amount")
    outcome, snapshot = plan.outcome, plan.snapshot
    for name in ("limit", "model_limit", "cycle_base_limit"):
        value = getattr(outcome, name)
        if not value.is_finite() or not 0 <= value <= limit_max:
            return f"{name} {value} does not fit its column"
    if snapshot.score is not None and not 0 <= snapshot.score <= 32767:
        return f"score {snapshot.score} does not fit its column"
    pd = snapshot.probability_of_default
    if pd is not None and not (pd.is_finite() and 0 <= pd <= _column_max(ScoreSnapshot, "probability_of_default") and pd <= 1):
        return f"probability of default {pd} is outside [0, 1]"
    return None


def policy_dry_run(*, policy: Policy, version: PolicyVersion, now: datetime | None = None) -> int:
    """Plan a sample of the book under `policy` and write nothing; return how many were planned.

    Raises PolicyInvalid naming the first customer whose plan fails or would not fit the
    database. The sample is read without row locks (`load_chunk(lock=False)`), so live recomputes
    are not held up; the savepoint is rolled back all the same, as a guard: a dry run writes nothing."""
    now = now or timezone.now()
    planned = 0
    with transaction.atomic():
        try:
            for first_id, last_id in _sample_ranges():
                for context in load_chunk(first_id=first_id, last_id=last_id, now=now, lock=False):
                    try:
                        plan = plan_customer(context=context, policy=policy, version=version, trigger=Trigger.MANUAL.value, now=now, run=None)
                    # Planning is pure (no I/O): whatever it raises, this policy cannot decide this
                    # customer, and once active every recompute of them would fail the same way.
                    except Exception as exc:
                        raise PolicyInvalid(
                            f"(dry run): customer {context.customer_id} cannot be decided under this policy: {type(exc).__name__}: {exc}",
                            field="(dry run)",
                        ) from exc
                    problem = _unwritable(plan)
                    if problem:
                        raise PolicyInvalid(f"(dry run): customer {context.customer_id}: {problem}", field="(dry run)")
                    planned += 1
        finally:
            transaction.set_rollback(True)
    return planned


# --- governance: drafts, diff, simulation, maker-checker ----------------------------------------

EDIT_SUMMARY_MAX = 50  # diff lines kept in a policy.edit audit event


def _locked(version: PolicyVersion) -> PolicyVersion:
    found = PolicyVersion.objects.select_for_update().filter(pk=version.pk).first()
    if found is None:
        raise NotFound(_("No such policy version."), field="version")
    return found


@dataclass(frozen=True)
class DiffLine:
    """One difference between two policy documents, at a field path."""

    path: str
    kind: str  # "changed", "added" or "removed"
    before: Any = None
    after: Any = None

    @staticmethod
    def show(value: Any) -> str:
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))

    @property
    def show_before(self) -> str:
        return self.show(self.before)

    @property
    def show_after(self) -> str:
        return self.show(self.after)

    def __str__(self) -> str:
        if self.kind == "added":
            return f"{self.path}: added {self.show(self.after)}"
        if self.kind == "removed":
            return f"{self.path}: removed (was {self.show(self.before)})"
        return f"{self.path}: {self.show(self.before)} → {self.show(self.after)}"


def _diff(a: Any, b: Any, path: list, out: list[DiffLine]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a:
                out.append(DiffLine(_path([*path, key]), "added", after=b[key]))
            elif key not in b:
                out.append(DiffLine(_path([*path, key]), "removed", before=a[key]))
            else:
                _diff(a[key], b[key], [*path, key], out)
    elif isinstance(a, list) and isinstance(b, list):
        for index in range(max(len(a), len(b))):
            if index >= len(a):
                out.append(DiffLine(_path([*path, index]), "added", after=b[index]))
            elif index >= len(b):
                out.append(DiffLine(_path([*path, index]), "removed", before=a[index]))
            else:
                _diff(a[index], b[index], [*path, index], out)
    elif type(a) is not type(b) or a != b:  # True == 1 in Python; not in a policy
        out.append(DiffLine(_path(path), "changed", before=a, after=b))


def policy_diff(a: PolicyVersion | dict, b: PolicyVersion | dict) -> list[DiffLine]:
    """What changes from `a` to `b`, one line per field path, in document order of the keys
    (sorted) and list positions: ``limits.max_limit: 5000.00 → 6000.00``, a rule added or
    removed, a bin's points. Lists compare position by position (a bin inserted shows as the
    bins after it changing and one added at the end: what the engine will actually see)."""
    out: list[DiffLine] = []
    _diff(a.body if isinstance(a, PolicyVersion) else a, b.body if isinstance(b, PolicyVersion) else b, [], out)
    return out


JUSTIFICATION_MAX = 2000

_DRAFT_OF = re.compile(r"(\s*\(draft of v\d+\))+\s*$")


def draft_name(source: PolicyVersion) -> str:
    """The copy's name, e.g. "Tight limits (draft of v7)": the source's name without the suffixes its own copies added,
    so a copy of a copy does not read "(draft of v1) (draft of v2)"."""
    base = _DRAFT_OF.sub("", source.name).strip() or _("Policy")
    return f"{base} (draft of v{source.version})"


@transaction.atomic
def policy_draft_copy(*, source: PolicyVersion, actor, name: str = "") -> PolicyVersion:
    """A new draft with `source`'s body (normally the active version), remembering where it came
    from (`copied_from`). Audited (policy.copy). The copy is validated like any new version."""
    require_perm(actor, "decisions.add_policyversion")
    source = PolicyVersion.objects.filter(pk=source.pk).first()
    if source is None:
        raise NotFound(_("No such policy version."), field="source")
    body = copy.deepcopy(source.body)
    validate_policy(body)
    number = _next_version_number()
    draft = PolicyVersion.objects.create(
        version=number, name=(name or draft_name(source))[:120], body=body,
        notes="", created_by=actor, copied_from=source,
    )
    audit_record(actor=actor, action="policy.copy", target=draft, after={"version": number, "copied_from": source.version})
    return draft


@transaction.atomic
def policy_draft_edit(*, version: PolicyVersion, body: dict, actor, name: str | None = None, notes: str | None = None) -> PolicyVersion:
    """Replace a draft's body (and optionally its name and notes). Drafts only (Conflict).

    The body is validated first (PolicyInvalid naming the field; nothing written). A changed body
    sets `edited_at`, which makes every earlier simulation stale, and withdraws a pending
    activation request (it was for the old body). Audited (policy.edit) with the diff's lines.
    Nothing changed → nothing written, no audit event."""
    require_perm(actor, "decisions.change_policyversion")
    validate_policy(body)
    version = _locked(version)
    require_draft(version)
    changes = policy_diff(version.body, body)
    fields: list[str] = []
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if name is not None and name.strip() and name.strip() != version.name:
        before["name"], after["name"] = version.name, name.strip()
        version.name = name.strip()[:120]
        fields.append("name")
    if notes is not None and notes != version.notes:
        before["notes"], after["notes"] = version.notes, notes
        version.notes = notes
        fields.append("notes")
    if changes:
        version.body = body
        version.edited_at = timezone.now()
        fields += ["body", "edited_at"]
        after["changes"] = [str(c) for c in changes[:EDIT_SUMMARY_MAX]]
        after["changed_fields"] = len(changes)
        if version.activation_requested_by_id is not None:
            before["activation_requested_by"] = version.activation_requested_by_id
            after["activation_request"] = "withdrawn: the body changed"
            version.activation_requested_by, version.activation_requested_at = None, None
            version.activation_justification = ""
            fields += ["activation_requested_by", "activation_requested_at", "activation_justification"]
    if not fields:
        return version
    version.save(update_fields=fields)
    audit_record(actor=actor, action="policy.edit", target=version, before=before, after=after)
    return version


def policy_simulate(*, version: PolicyVersion, actor, chunk_size: int | None = None, enqueue: bool = True) -> PolicySimulation:
    """Score the whole book under a draft without writing a decision (services/simulation.py):
    a `PolicySimulation` split into chunks, sent to the workers after commit. Audited
    (policy.simulate)."""
    require_perm(actor, "decisions.change_policyversion")
    return simulation_start(version=version, actor=actor, chunk_size=chunk_size or DEFAULT_CHUNK_SIZE, enqueue=enqueue)


def fresh_simulation(version: PolicyVersion) -> PolicySimulation | None:
    """The newest succeeded simulation of the body as it is now, against the version active now."""
    active_pk = PolicyVersion.objects.filter(state=PolicyVersion.State.ACTIVE).values_list("pk", flat=True).first()
    return (
        PolicySimulation.objects.filter(
            policy_version_id=version.pk, status=PolicySimulation.Status.SUCCEEDED,
            body_edited_at=body_stamp(version), baseline_version_id=active_pk,
        )
        .order_by("-finished_at", "-pk")
        .first()
    )


def _require_fresh_simulation(version: PolicyVersion) -> PolicySimulation:
    simulation = fresh_simulation(version)
    if simulation is not None:
        return simulation
    latest = PolicySimulation.objects.filter(policy_version_id=version.pk).order_by("-created_at", "-pk").first()
    if latest is None:
        message = _("Simulate this draft on the book first: activation needs a simulation of it.")
    elif latest.body_edited_at != body_stamp(version):
        message = _("The draft was edited after its last simulation: simulate it again before activation.")
    elif latest.status in (PolicySimulation.Status.PENDING, PolicySimulation.Status.RUNNING):
        message = _("The simulation of this draft is still running: wait for it to finish.")
    elif latest.status == PolicySimulation.Status.FAILED:
        message = _("The last simulation of this draft failed: simulate it again.")
    else:
        message = _("Another policy version was activated since this draft was simulated: simulate it again.")
    raise Conflict(message, field="simulation")


@transaction.atomic
def policy_activation_request(*, version: PolicyVersion, actor, justification: str = "") -> PolicyVersion:
    """Ask for a draft's activation (the maker's step). Needs a succeeded simulation newer than
    the draft's last edit, made against the version active now (Conflict otherwise, with what to
    do). Asking again is harmless; a draft someone else already asked for is refused. Audited."""
    require_perm(actor, "decisions.activate_policyversion")
    version = _locked(version)
    require_draft(version)
    simulation = _require_fresh_simulation(version)
    evidence = activation_evidence(version)
    if version.activation_requested_by_id is not None:
        if version.activation_requested_by_id == actor.pk:
            return version
        raise Conflict(
            _("%(user)s has already asked for this activation: approve or reject it.")
            % {"user": version.activation_requested_by.get_username()},
            field="activation_requested_by",
        )
    version.activation_requested_by, version.activation_requested_at = actor, timezone.now()
    version.activation_justification = justification.strip()[:JUSTIFICATION_MAX]
    version.save(update_fields=["activation_requested_by", "activation_requested_at", "activation_justification"])
    audit_record(
        actor=actor, action="policy.activation_request", target=version,
        after={
            "version": version.version, "simulation": simulation.pk, "edited_at": body_stamp(version),
            "justification": version.activation_justification, **evidence,
        },
    )
    return version


def _had_a_hand_in(version: PolicyVersion, actor) -> bool:
    """Whether `actor` made this draft or edited it at any time (every edit is a policy.edit event
    on the draft: the append-only trail is the record of who touched it, one indexed lookup)."""
    if version.created_by_id == actor.pk:
        return True
    target_type, target_id = target_label(version)
    return AuditEvent.objects.filter(
        target_type=target_type, target_id=target_id, action=AuditAction.POLICY_EDIT, actor_id=actor.pk
    ).exists()


def policy_activation_approve(*, version: PolicyVersion, actor) -> tuple[PolicyVersion, RecomputeRun]:
    """Approve a requested activation (the checker's step) and start a full recompute.

    A second risk admin: the requester cannot approve (FourEyesViolation; the database has the
    same check). The simulation is re-checked (an edit or another activation since the request
    makes it stale: Conflict). Then `policy_activate` (its dry run, the old version retired,
    audited policy.activate with the request and the simulation) and, in the same transaction, a
    full recompute run whose chunks go to the workers after commit."""
    require_perm(actor, "decisions.activate_policyversion")
    with transaction.atomic():
        # The draft and the active version, locked in pk order (as `policy_activate` does) before
        # anything is checked: of two drafts approved at once, the second waits here, then finds
        # its simulation made against a version that is no longer active (Conflict), instead of
        # racing the first into the one-active constraint.
        list(PolicyVersion.objects.select_for_update().filter(Q(pk=version.pk) | Q(state=PolicyVersion.State.ACTIVE)).order_by("pk"))
        version = _locked(version)
        require_draft(version)
        if version.activation_requested_by_id is None:
            raise Conflict(_("Nobody has asked for this activation yet: request it first."), field="activation_requested_by")
        if version.activation_requested_by_id == actor.pk:
            raise FourEyesViolation(
                _("You asked for this activation: a second risk admin must approve it."), field="activated_by", version_id=version.pk
            )
        if _had_a_hand_in(version, actor):
            # Maker-checker covers the draft's body, not only the request: otherwise the author of
            # a change could have a colleague press "request" and then approve their own work.
            raise FourEyesViolation(
                _("You wrote or edited this draft: a risk admin who had no hand in it must approve it."),
                field="activated_by", version_id=version.pk,
            )
        simulation = _require_fresh_simulation(version)
        evidence = activation_evidence(version)
        version = policy_activate(
            version=version, actor=actor,
            audit_extra={
                "requested_by": version.activation_requested_by.get_username(),
                "requested_at": version.activation_requested_at,
                "simulation": simulation.pk,
                **evidence,
            },
        )
        run = recompute_run_start(trigger=Trigger.MANUAL, actor=actor, origin=RunOrigin.ACTIVATION)
    return version, run


@transaction.atomic
def policy_activation_reject(*, version: PolicyVersion, actor, note: str) -> PolicyVersion:
    """Turn a requested activation down with a note; the draft stays a draft (edit it, simulate it,
    ask again). The requester may withdraw their own request the same way. Audited."""
    require_perm(actor, "decisions.activate_policyversion")
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(_("Say why the activation is rejected."), field="note")
    version = _locked(version)
    require_draft(version)
    if version.activation_requested_by_id is None:
        raise Conflict(_("Nobody has asked for this activation: there is nothing to reject."), field="activation_requested_by")
    requester = version.activation_requested_by.get_username()
    justification = version.activation_justification
    version.activation_requested_by, version.activation_requested_at = None, None
    version.activation_justification = ""
    version.save(update_fields=["activation_requested_by", "activation_requested_at", "activation_justification"])
    audit_record(
        actor=actor, action="policy.activation_reject", target=version,
        before={"requested_by": requester, "justification": justification}, after={"note": note[:2000]},
    )
    return version

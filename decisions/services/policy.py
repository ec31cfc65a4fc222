"""Policy versions: create a validated draft, activate it (audited), and load the active one.

Activation also dry-runs the policy on a sample of the book: a document can be valid and still
be unable to decide a real customer, and once active it would break every recompute.
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from accounts.models import Customer
from riskops.core.audit import audit_record
from riskops.core.exceptions import Conflict, NotFound, PolicyInvalid

from ..models import CreditDecision, PolicyVersion, ScoreSnapshot, Trigger
from ..policy import Policy, parse_policy, validate_policy

# Up to 500 customers in 10 runs of consecutive ids spread over the id range: the whole book when
# it is small, a cross-section (old and new customers) when it is large, in 10 chunk reads.
DRY_RUN_WINDOWS = 10
DRY_RUN_PER_WINDOW = 50

_parsed: dict[tuple, Policy] = {}


def parsed_policy(version: PolicyVersion) -> Policy:
    """Parse a stored version once per process: an active version is never edited.

    Keyed by more than the pk: a draft parsed before its activation is parsed again once
    activated (its `activated_at` is part of the key), and a pk reused after a rollback (SQLite
    reuses them) with another row cannot hit a stale entry (`created_at` differs)."""
    key = (version.pk, version.version, version.created_at, version.activated_at)
    if key not in _parsed:
        body = version.body if "body" in version.__dict__ else PolicyVersion.objects.values_list("body", flat=True).get(pk=version.pk)
        _parsed[key] = parse_policy(body, version_id=version.pk)
    return _parsed[key]


def active_policy() -> tuple[PolicyVersion, Policy]:
    # The body is read (and parsed) once per process and version, not on every recompute.
    version = PolicyVersion.objects.filter(state=PolicyVersion.State.ACTIVE).defer("body").first()
    if version is None:
        raise NotFound("No active policy version: activate one in the admin.")
    return version, parsed_policy(version)


@transaction.atomic
def policy_create(*, name: str, body: dict, actor, notes: str = "") -> PolicyVersion:
    """Store a new draft version. A body that fails validation is refused and nothing is written."""
    validate_policy(body)
    PolicyVersion.objects.select_for_update().order_by("pk").first()  # serialise version numbering
    number = (PolicyVersion.objects.aggregate(m=Max("version"))["m"] or 0) + 1
    version = PolicyVersion.objects.create(version=number, name=name, body=body, notes=notes, created_by=actor)
    audit_record(actor=actor, action="policy.create", target=version, after={"version": number, "name": name})
    return version


@transaction.atomic
def policy_activate(*, version: PolicyVersion, actor) -> PolicyVersion:
    """Make `version` the only active policy; the previous one is retired. Audited.

    Refused (PolicyInvalid, nothing changed) when the body does not validate or when planning a
    sample of the book with it fails. Invariant: exactly one active version afterwards (also a
    partial unique constraint)."""
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
    if previous:
        previous.state = PolicyVersion.State.RETIRED
        previous.save(update_fields=["state"])
    version.state, version.activated_at, version.activated_by = PolicyVersion.State.ACTIVE, timezone.now(), actor
    version.save(update_fields=["state", "activated_at", "activated_by"])
    audit_record(
        actor=actor,
        action="policy.activate",
        target=version,
        before={"active_version": previous.version if previous else None},
        after={"active_version": version.version},
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
    from .recompute import load_chunk, plan_customer  # recompute imports this module

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

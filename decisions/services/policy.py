"""Policy versions: create a validated draft, activate it (audited), and load the active one."""

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from riskops.core.audit import audit_record
from riskops.core.exceptions import Conflict, NotFound

from ..models import PolicyVersion
from ..policy import Policy, parse_policy, validate_policy

_parsed: dict[int, Policy] = {}


def parsed_policy(version: PolicyVersion) -> Policy:
    """Parse a stored version once per process: versions are never edited after activation."""
    if version.pk not in _parsed:
        body = version.body if "body" in version.__dict__ else PolicyVersion.objects.values_list("body", flat=True).get(pk=version.pk)
        _parsed[version.pk] = parse_policy(body, version_id=version.pk)
    return _parsed[version.pk]


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

    Invariant: exactly one active version afterwards (also a partial unique constraint)."""
    versions = list(
        PolicyVersion.objects.select_for_update().filter(Q(pk=version.pk) | Q(state=PolicyVersion.State.ACTIVE)).order_by("pk")
    )
    version = next(v for v in versions if v.pk == version.pk)
    if version.state == PolicyVersion.State.ACTIVE:
        return version
    if version.state == PolicyVersion.State.RETIRED:
        raise Conflict(f"policy v{version.version} is retired; create a new version instead", field="state")
    validate_policy(version.body)
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

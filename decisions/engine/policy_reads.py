"""Policy reads: the active version and a stored version's parsed policy (one parse per process
and version), and when a draft's body last changed. Read-only: everything that needs the policy
(the engine, the casework pages, governance, draws, modelling) reads it here; drafts, simulation
and activation write through decisions/governance/services/policy.py."""

from riskops.core.exceptions import NotFound

from decisions.models import PolicyVersion

from .policy import DEFAULT_ALERT_SLA_HOURS, Policy, parse_policy

_parsed: dict[tuple, Policy] = {}


def parsed_policy(version: PolicyVersion) -> Policy:
    """Parse a stored version once per process: an active version is never edited.

    Keyed by more than the pk: a draft parsed before its activation is parsed again once
    activated (its `activated_at` is part of the key), a draft edited since it was parsed is
    parsed again (`edited_at`), and a pk reused after a rollback (SQLite reuses them) with another
    row cannot hit a stale entry (`created_at` differs)."""
    key = (version.pk, version.version, version.created_at, version.activated_at, version.edited_at)
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


def body_stamp(version: PolicyVersion):
    """When the draft's body last changed: what a simulation must have been made of."""
    return version.edited_at or version.created_at


def alert_sla_hours() -> dict[int, int]:
    """Hours to triage an alert, per severity, from the active policy (`alerts.sla_hours`), or the
    defaults when there is no active policy: what the queue's SLA deadlines and the overview's
    "past SLA" figures both count from."""
    try:
        _version, policy = active_policy()
    except NotFound:
        return dict(DEFAULT_ALERT_SLA_HOURS)
    hours = getattr(policy, "alert_sla_hours", None) or {}
    return {sev: int(hours.get(sev, hours.get(str(sev), DEFAULT_ALERT_SLA_HOURS[sev]))) for sev in DEFAULT_ALERT_SLA_HOURS}

"""Roles are Django groups with model permissions. The spec here is what migrations apply."""

from typing import Any

ANALYST, COMPLIANCE, RISK_ADMIN = "analyst", "compliance", "risk_admin"
ROLES = (ANALYST, COMPLIANCE, RISK_ADMIN)

_CUSTOMER_DATA = [
    "accounts.view_customer",
    "accounts.view_transaction",
    "accounts.view_repaymentinstallment",
    "accounts.view_creditapplication",
    "accounts.view_bureaureport",
]
_COMPLIANCE_DATA = [
    "accounts.view_consent",
    "accounts.view_consentevent",
    "accounts.view_disclosure",
    "accounts.view_disclosureacknowledgement",
]
_DECISIONS_READ = [
    "decisions.view_policyversion",
    "decisions.view_scoresnapshot",
    "decisions.view_creditdecision",
    "decisions.view_creditline",
    "decisions.view_riskalert",
    "decisions.view_casenote",
    "decisions.view_override",
    "decisions.view_recomputerun",
    "decisions.view_recomputechunk",
]
_ANALYST_WORK = [
    "decisions.change_riskalert",  # claim and resolve
    "decisions.add_casenote",
    "decisions.add_override",  # request only; approval is risk_admin's
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    ANALYST: _CUSTOMER_DATA + ["accounts.view_consent"] + _DECISIONS_READ + _ANALYST_WORK,
    COMPLIANCE: _CUSTOMER_DATA
    + _COMPLIANCE_DATA
    + _DECISIONS_READ
    + ["core.view_auditevent", "core.export_auditevent"],
    RISK_ADMIN: _CUSTOMER_DATA
    + _COMPLIANCE_DATA
    + _DECISIONS_READ
    + _ANALYST_WORK
    + [
        "accounts.view_customer_pii",
        "core.view_auditevent",
        "decisions.add_policyversion",
        "decisions.change_policyversion",
        "decisions.activate_policyversion",
        "decisions.change_override",
        "decisions.approve_override",
        "decisions.start_recomputerun",
        "decisions.assign_riskalert",  # hand a case to someone else (decisions/services/triage.py)
    ],
}


def sync_role_groups(apps: Any) -> None:
    """Create the groups and set exactly their permissions. Idempotent; used by data migrations."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate; create them now so the groups can use them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = []
        for code in codes:
            app_label, codename = code.split(".")
            perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            # A permission a later migration declares does not exist yet in an earlier one's
            # state; that later migration syncs again (e.g. decisions 0007 for assign_riskalert).
            if perm is not None:
                perms.append(perm)
        group.permissions.set(perms)


def user_roles(user: Any) -> list[str]:
    if not user.is_authenticated:
        return []
    # Cached on the user object: the role check and the base template both ask, once per request.
    if not hasattr(user, "_riskops_roles"):
        names = {g.name for g in user.groups.all()}
        user._riskops_roles = [r for r in ROLES if r in names]
    return user._riskops_roles


def has_role(user: Any, *roles: str) -> bool:
    return bool(set(user_roles(user)) & set(roles))

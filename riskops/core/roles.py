"""Roles are Django groups with model permissions.

The spec below is the single source of truth. `sync_role_groups` applies it after every `migrate`
(and every test-database flush) through `post_migrate`, the way django.contrib.auth creates
permissions: a data migration importing this live module would replay today's spec when an old
migration runs, so migrations stay frozen history and the groups follow the code instead.
"""

from typing import Any

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS

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
        "core.export_auditevent",  # risk admins see everything compliance sees, exports included
        "core.view_incident",  # on-call incidents, read-only in the admin (riskops/core/oncall_admin.py)
        # webhook endpoints, deliveries (replay) and events, in the admin (webhooks/admin.py)
        "webhooks.view_webhookendpoint",
        "webhooks.add_webhookendpoint",
        "webhooks.change_webhookendpoint",
        "webhooks.view_webhookdelivery",
        "webhooks.change_webhookdelivery",
        "webhooks.view_webhookevent",
        "decisions.add_policyversion",
        "decisions.change_policyversion",
        "decisions.activate_policyversion",
        "decisions.change_override",
        "decisions.approve_override",
        "decisions.start_recomputerun",
        "decisions.assign_riskalert",  # hand a case to someone else (decisions/casework/services/triage.py)
        # service API clients and their tokens, managed in the admin (api/admin.py)
        "api.view_apiclient",
        "api.add_apiclient",
        "api.change_apiclient",
        "api.view_apitoken",
        "api.add_apitoken",
        "api.change_apitoken",
    ],
}


def sync_role_groups(*, apps: Any = global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create the role groups and set exactly the spec's permissions on them. Idempotent.

    `apps` is the migration state that `post_migrate` hands over (the live registry otherwise).
    Content types and permissions are created first for every app, since this may run before
    auth's own `post_migrate` handler has reached the later apps. A permission the migrated
    state does not have yet (a partial `migrate decisions 0002`) is skipped and the next migrate
    adds it; tests hold every code in the spec to an existing permission on a full migrate.
    """
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    try:
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
    except LookupError:
        return  # auth itself is not migrated on this database
    for app_config in global_apps.get_app_configs():
        create_contenttypes(app_config, verbosity=0, using=using, apps=apps)
        create_permissions(app_config, verbosity=0, using=using, apps=apps)

    wanted = {tuple(code.split(".")) for codes in ROLE_PERMISSIONS.values() for code in codes}
    found = {
        (app_label, codename): pk
        for pk, app_label, codename in Permission.objects.using(using)
        .filter(content_type__app_label__in={a for a, _ in wanted}, codename__in={c for _, c in wanted})
        .values_list("pk", "content_type__app_label", "codename")
    }
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        keys = (tuple(code.split(".")) for code in codes)
        group.permissions.set([found[key] for key in keys if key in found])


def sync_role_groups_after_migrate(*, apps: Any = global_apps, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """`post_migrate` receiver (connected in CoreConfig.ready for the core app only)."""
    sync_role_groups(apps=apps, using=using)


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

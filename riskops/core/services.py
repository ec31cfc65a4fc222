"""State changes owned by the core: demo users."""

from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from django.db import transaction

from .audit import audit_record
from .roles import ANALYST, COMPLIANCE, RISK_ADMIN


@dataclass(frozen=True)
class DemoCredential:
    username: str
    password: str
    role: str
    token: str = ""


DEMO_USERS = (
    ("analyst", "analyst-demo", ANALYST, False),
    ("compliance", "compliance-demo", COMPLIANCE, False),
    ("riskadmin", "riskadmin-demo", RISK_ADMIN, True),
    # A second admin, so the four-eyes approval of overrides can be tried alone.
    ("riskadmin2", "riskadmin2-demo", RISK_ADMIN, True),
)
@transaction.atomic
def demo_users_bootstrap(*, extra: tuple[DemoCredential, ...] = ()) -> list[DemoCredential]:
    """Create (or reset) one demo user per role; `extra` credentials made by other apps (the API's
    demo service token) are listed and audited with them.

    Idempotent: running it again resets the demo passwords and roles, nothing else.
    """
    credentials = []
    for username, password, role, is_staff in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=username)
        user.set_password(password)
        user.is_staff = is_staff
        user.is_active = True
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        credentials.append(DemoCredential(username, password, role))
    credentials.extend(extra)
    audit_record(
        actor=None,
        action="bootstrap.demo_users",
        target=("users", "demo"),
        after={"users": [c.username for c in credentials]},
    )
    return credentials


@transaction.atomic
def login_lockout_record(*, username: str, ip_address: str | None, user_agent: str, failure_limit: int) -> None:
    """Audit a login attempt refused because its username+address is locked out (django-axes).

    Nobody is logged in, so the actor is the system; the username typed is the target, whether
    or not such a user exists (saying which would help the guesser).
    """
    audit_record(
        actor=None,
        action="login.locked_out",
        target=("login", username or "-"),
        after={"username": username, "ip_address": ip_address, "user_agent": user_agent[:200], "failure_limit": failure_limit},
    )

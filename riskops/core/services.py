"""State changes owned by the core: demo users, login lockouts."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from .audit import audit_record
from .models import AuditAction, AuditEvent
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


def login_lockout_record(
    *, username: str, ip_address: str | None, user_agent: str, failure_limit: int, scope: str, window: timedelta | None
) -> bool:
    """Audit that logins for `username` are refused (django-axes): once per account and window.

    axes calls the lockout page for every refused attempt, and an audit event takes the chain's
    lock, so a flood of guesses would queue every other audited change behind it (60 POSTs wrote
    56 events). The first refusal in a window (the cool-off) is recorded: who was typed, from
    where, which lock (`scope`: "account_and_address" or "account"); the rest are counted by axes
    in its own tables. A cache entry stops the repeats without a query (atomic in Redis, shared
    by the workers); the query catches what a cache does not see (another process's locmem, a
    restart). Returns whether an event was written.

    Nobody is logged in, so the actor is the system; the username typed is the target, whether
    or not such a user exists (saying which would help the guesser).
    """
    target = ("login", username or "-")
    window = window or timedelta(minutes=15)
    key = "login-lockout-audited:" + hashlib.sha256(target[1].encode()).hexdigest()
    if not cache.add(key, 1, timeout=int(window.total_seconds())):
        return False
    already = AuditEvent.objects.filter(
        target_type=target[0], target_id=target[1], action=AuditAction.LOGIN_LOCKED_OUT, occurred_at__gte=timezone.now() - window
    ).exists()
    if already:
        return False
    try:
        with transaction.atomic():
            audit_record(
                actor=None,
                action=AuditAction.LOGIN_LOCKED_OUT,
                target=target,
                after={
                    "username": username,
                    "ip_address": ip_address,
                    "user_agent": user_agent[:200],
                    "failure_limit": failure_limit,
                    "scope": scope,
                    "window_minutes": int(window.total_seconds() // 60),
                },
            )
    except Exception:
        cache.delete(key)  # not recorded: the next refusal tries again
        raise
    return True

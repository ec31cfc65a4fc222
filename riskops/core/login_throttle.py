"""Login throttling with django-axes: the authentication backend, the handler and the lockout page.

Two locks (AXES_LOCKOUT_PARAMETERS): a username on one address after AXES_FAILURE_LIMIT failures
(a guesser on one machine, without letting anyone lock a colleague out from elsewhere), and a
username from anywhere after the longer RISKOPS_LOGIN_ACCOUNT_FAILURE_LIMIT (a guesser spread
over many addresses, each under the first limit). axes compares one count with one limit, so the
handler measures both counts against the address limit (see `LoginThrottleHandler`).

Adapters only: the audit row is written by `riskops.core.services.login_lockout_record`.
"""

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_ip_address, get_client_username, get_cool_off, get_failure_limit
from django.conf import settings
from django.db.models import Sum
from django.shortcuts import render

from .services import login_lockout_record


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' backend, for logins that come with a request (every web login does).

    `authenticate()` without a request (the test client's `login()`, a shell) has no address to
    throttle by; axes would raise there, so this backend simply abstains and ModelBackend decides.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class LoginThrottleHandler(AxesDatabaseHandler):
    """axes' database handler, with a longer limit for the account than for account+address."""

    def get_failures(self, request, credentials=None) -> int:
        # One queryset per entry of AXES_LOCKOUT_PARAMETERS, in its order, within the cool-off.
        per_address, per_account = (
            attempts.aggregate(failures=Sum("failures_since_start"))["failures"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        account_locked = bool(get_client_username(request, credentials)) and (
            per_account >= settings.RISKOPS_LOGIN_ACCOUNT_FAILURE_LIMIT
        )
        request.riskops_account_locked = account_locked
        # axes locks when this reaches AXES_FAILURE_LIMIT: the address's own count, or the limit
        # itself once the account as a whole has reached its own.
        return max(per_address, get_failure_limit(request, credentials)) if account_locked else per_address


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: axes calls it for every attempt it refuses. Audit (once per account
    and cool-off window, so refusals stay cheap), then explain."""
    username = get_client_username(request, credentials) or ""
    account_locked = getattr(request, "riskops_account_locked", False)
    failure_limit = settings.RISKOPS_LOGIN_ACCOUNT_FAILURE_LIMIT if account_locked else get_failure_limit(request, credentials)
    cool_off = get_cool_off(request)
    login_lockout_record(
        username=username,
        ip_address=get_client_ip_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        failure_limit=failure_limit,
        scope="account" if account_locked else "account_and_address",
        window=cool_off,
    )
    minutes = int(cool_off.total_seconds() // 60) if cool_off else None
    return render(
        request,
        "registration/locked_out.html",
        {"failure_limit": failure_limit, "cooloff_minutes": minutes, "account_locked": account_locked},
        status=429,
    )

"""Login throttling with django-axes: the authentication backend and the lockout page.

Adapters only: the audit row is written by `riskops.core.services.login_lockout_record`.
"""

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_ip_address, get_client_username, get_cool_off, get_failure_limit
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


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: axes calls it for every attempt it refuses. Audit, then explain."""
    username = get_client_username(request, credentials) or ""
    failure_limit = get_failure_limit(request, credentials)
    login_lockout_record(
        username=username,
        ip_address=get_client_ip_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        failure_limit=failure_limit,
    )
    cool_off = get_cool_off(request)
    minutes = int(cool_off.total_seconds() // 60) if cool_off else None
    return render(
        request,
        "registration/locked_out.html",
        {"failure_limit": failure_limit, "cooloff_minutes": minutes},
        status=429,
    )

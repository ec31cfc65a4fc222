"""Staff sessions end after an idle period and after an absolute lifetime, whichever comes first.

Django alone has one clock, SESSION_COOKIE_AGE (14 days by default), and sliding it on every
request would write the session row on every request. Here the session keeps two stamps: when
its user logged in (set by the `user_logged_in` signal, so a second login in the same browser
starts afresh) and when it was last used (rewritten at most once a minute, so a busy page costs
no extra writes). A request past either limit logs the user out before the view runs: the view
then sees an anonymous user (a staff page answers with the login page, the API with 401/403).
A login also sets the session's expiry to the end of its lifetime, so neither the cookie nor the
session row outlives it (Django's default is two weeks after the last write).
"""

from datetime import datetime, timezone as dt_timezone

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.utils import timezone
from django.utils.translation import gettext as _

SIGNED_IN_AT = "riskops_signed_in_at"
LAST_SEEN_AT = "riskops_last_seen_at"
# Last-seen is rewritten at most this often: an idle limit is not measured to the second.
LAST_SEEN_RESOLUTION_SECONDS = 60


def _now() -> int:
    return int(timezone.now().timestamp())


def _start_clocks(session) -> None:
    session[SIGNED_IN_AT] = session[LAST_SEEN_AT] = now = _now()
    # The cookie and the session row end with the lifetime too, whatever is written to it later.
    session.set_expiry(datetime.fromtimestamp(now + settings.RISKOPS_SESSION_LIFETIME_SECONDS, tz=dt_timezone.utc))


def session_stamp_login(sender, request, user, **kwargs) -> None:
    """`user_logged_in` receiver: a login starts both clocks."""
    if request is not None and hasattr(request, "session"):
        _start_clocks(request.session)


class SessionExpiryMiddleware:
    """After AuthenticationMiddleware and MessageMiddleware (it logs out, then says why)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            self._enforce(request)
        return self.get_response(request)

    def _enforce(self, request) -> None:
        session, now = request.session, _now()
        signed_in_at, last_seen_at = session.get(SIGNED_IN_AT), session.get(LAST_SEEN_AT)
        if signed_in_at is None or last_seen_at is None:
            # A session from before these limits (or made without the login view): its clocks start now.
            _start_clocks(session)
            return
        if now - last_seen_at >= settings.RISKOPS_SESSION_IDLE_SECONDS:
            reason = _("You were logged out after a period without activity. Log in again to continue.")
        elif now - signed_in_at >= settings.RISKOPS_SESSION_LIFETIME_SECONDS:
            reason = _("Your session reached its maximum length. Log in again to continue.")
        else:
            if now - last_seen_at >= LAST_SEEN_RESOLUTION_SECONDS:
                session[LAST_SEEN_AT] = now
            return
        logout(request)
        messages.info(request, reason)

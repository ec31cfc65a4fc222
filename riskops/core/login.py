"""The login page with a landing per role: after signing in, each role starts where its work is
(a compliance officer on the compliance home, everyone else on the overview). An explicit
`?next=` still wins: a bookmarked page opens as asked."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import reverse

from .roles import ANALYST, COMPLIANCE, RISK_ADMIN, user_roles

# Named URLs only (riskops.core imports no app): the first role the user holds decides.
ROLE_HOMES = ((ANALYST, None), (RISK_ADMIN, None), (COMPLIANCE, "compliance:index"))


def role_home(user) -> str:
    roles = set(user_roles(user))
    for role, home in ROLE_HOMES:
        if role in roles:
            return reverse(home or settings.LOGIN_REDIRECT_URL)
    return reverse(settings.LOGIN_REDIRECT_URL)


class RoleLoginView(auth_views.LoginView):
    def get_default_redirect_url(self) -> str:
        return role_home(self.request.user)

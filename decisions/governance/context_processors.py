"""`pending_approvals` for base.html's navigation: risk admins only, one query at most."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from riskops.core.roles import RISK_ADMIN, has_role

from .pending_selectors import pending_approvals as read_pending_approvals


def pending_approvals(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not has_role(user, RISK_ADMIN):
        return {}
    # Lazy: a page that never renders the navigation (a redirect, an error page) pays no query.
    return {"pending_approvals": SimpleLazyObject(read_pending_approvals)}

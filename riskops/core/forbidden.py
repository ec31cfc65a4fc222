"""The 403 page in words: which role a refused page needs, and which roles the user has.

`RoleRequired` is the PermissionDenied a role check raises (`RoleRequiredMixin`, or a view whose
action needs a narrower role); `permission_denied` is the project's `handler403`, which hands the
roles to `403.html` as translated names. Any other PermissionDenied keeps its own message.
"""

from __future__ import annotations

from typing import Any, Iterable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseForbidden
from django.template import loader
from django.utils.translation import gettext, gettext_lazy as _

from .roles import ANALYST, COMPLIANCE, RISK_ADMIN, ROLES, user_roles

ROLE_LABELS = {
    ANALYST: _("analyst"),
    COMPLIANCE: _("compliance officer"),
    RISK_ADMIN: _("risk admin"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def roles_in_words(roles: Iterable[str]) -> str:
    """"analyst or risk admin", in the viewer's language."""
    labels = [role_label(r) for r in roles]
    if len(labels) < 2:
        return "".join(labels)
    return gettext("%(some)s or %(last)s") % {"some": gettext(", ").join(labels[:-1]), "last": labels[-1]}


class RoleRequired(PermissionDenied):
    """The page (or the action) needs one of `roles`; its message is English for the logs, the
    page says it in the viewer's language."""

    def __init__(self, roles: Iterable[str] | None = None, message: str = "") -> None:
        self.roles = tuple(roles or ROLES)
        super().__init__(message or f"This page needs the role {' or '.join(self.roles)}.")


def permission_denied(request: HttpRequest, exception: Exception, template_name: str = "403.html") -> HttpResponseForbidden:
    """handler403: the refused page's roles, the user's own, and the refusal's message."""
    context: dict[str, Any] = {"exception": str(exception)}
    if isinstance(exception, RoleRequired):
        mine = user_roles(request.user) if getattr(request, "user", None) is not None else []
        context.update(
            required_roles=[role_label(r) for r in exception.roles],
            required_in_words=roles_in_words(exception.roles),
            user_role_labels=[role_label(r) for r in mine],
            exception="",  # said in words above, in the viewer's language
        )
    return HttpResponseForbidden(loader.get_template(template_name).render(context, request))



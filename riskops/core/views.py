from django.contrib.auth.mixins import LoginRequiredMixin

from .forbidden import RoleRequired
from .roles import ROLES, user_roles


class RoleRequiredMixin(LoginRequiredMixin):
    """Any view behind it needs a RiskOps role; `allowed_roles` narrows it further. A refusal is a
    `RoleRequired` naming the roles the page needs (the 403 page says them: riskops/core/forbidden.py)."""

    allowed_roles: tuple[str, ...] | None = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        roles = set(user_roles(request.user))
        if not roles or (self.allowed_roles and not roles & set(self.allowed_roles)):
            raise RoleRequired(self.allowed_roles or ROLES)
        return super().dispatch(request, *args, **kwargs)

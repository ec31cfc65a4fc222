from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied

from .roles import user_roles


class RoleRequiredMixin(LoginRequiredMixin):
    """Any view behind it needs a RiskOps role; `allowed_roles` narrows it further."""

    allowed_roles: tuple[str, ...] | None = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        roles = set(user_roles(request.user))
        if not roles or (self.allowed_roles and not roles & set(self.allowed_roles)):
            raise PermissionDenied("Your account has no RiskOps role for this page.")
        return super().dispatch(request, *args, **kwargs)


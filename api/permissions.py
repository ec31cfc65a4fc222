"""Scopes: what a service client may do. Usage in a view:

    class DrawCheckView(APIView):
        required_scopes = ("draws:check",)
        permission_classes = [HasScope]

A token-authenticated request needs every scope in `required_scopes` (else 403 naming the
missing scope). A session-authenticated staff member (analyst, compliance, risk_admin) may only
read: safe methods on views whose scopes are all read scopes. Staff never write through the API.
Anonymous requests are refused with 401 by the authentication's challenge.
"""

from typing import Any

from rest_framework import exceptions, permissions
from rest_framework.request import Request

from riskops.core.roles import ROLES

from .authentication import ApiPrincipal
from .models import Scope

READ_SCOPES = frozenset({Scope.DECISIONS_READ.value, Scope.ALERTS_READ.value})


def view_scopes(view: Any) -> tuple[str, ...]:
    return tuple(getattr(view, "required_scopes", ()) or ())


class HasScope(permissions.BasePermission):
    message = "This client lacks a scope this endpoint requires."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            raise exceptions.NotAuthenticated()
        required = view_scopes(view)
        if not required:
            # A view must say what it needs; forgetting is a refusal, not an open door.
            raise exceptions.PermissionDenied("This endpoint declares no scope.")
        if isinstance(user, ApiPrincipal):
            missing = [scope for scope in required if scope not in (user.client.scopes or [])]
            if missing:
                raise exceptions.PermissionDenied(f"The token's client lacks the scope {missing[0]!r}.")
            return True
        # A staff session: reads only, and only with a role.
        if request.method not in permissions.SAFE_METHODS or not set(required) <= READ_SCOPES:
            raise exceptions.PermissionDenied("Staff sessions may only read through the API.")
        if not user.is_active or not user.groups.filter(name__in=ROLES).exists():
            raise exceptions.PermissionDenied("Your account has no role.")
        return True


def is_service_client(request: Request) -> bool:
    return isinstance(getattr(request, "user", None), ApiPrincipal)


class CanReadSchema(permissions.BasePermission):
    """The OpenAPI schema and its Swagger UI: any valid token (no scope needed: the schema is the
    contract, not data) or a staff session (a role), unless settings.API_SCHEMA_PUBLIC opens them
    to anyone. Anonymous is 401; a login without a role 403."""

    message = "Only staff and service clients may read the API's schema."

    def has_permission(self, request: Request, view: Any) -> bool:
        from django.conf import settings

        if settings.API_SCHEMA_PUBLIC:
            return True
        user = request.user
        if user is None or not user.is_authenticated:
            raise exceptions.NotAuthenticated()
        if isinstance(user, ApiPrincipal):
            return True
        return user.is_active and user.groups.filter(name__in=ROLES).exists()

"""The OpenAPI schema (/api/schema/) and its Swagger UI (/api/docs/), for staff and service
clients only (`CanReadSchema`; settings.API_SCHEMA_PUBLIC opens them to anyone): the schema
lists every endpoint, field and scope, which is a map for an attacker as much as for a client."""

from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions

from .permissions import CanReadSchema


class SchemaView(SpectacularAPIView):
    permission_classes = [CanReadSchema]


class SchemaDocsView(SpectacularSwaggerSplitView):
    """The Swagger UI page and its start-up script. A browser that is not logged in is sent to
    the staff login and back here, rather than shown a JSON 401."""

    permission_classes = [CanReadSchema]

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.NotAuthenticated):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)

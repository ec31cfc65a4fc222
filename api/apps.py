from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The service API under /api/v1/: ingestion, decisions, draw checks, webhooks."""

    name = "api"
    verbose_name = _("Service API")

    def ready(self) -> None:
        from . import schema  # noqa: F401  registers the token scheme with drf-spectacular

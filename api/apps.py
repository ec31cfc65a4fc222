from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The service API under /api/v1/: ingestion, decisions, draw checks, webhooks."""

    name = "api"

    def ready(self) -> None:
        from . import schema  # noqa: F401  registers the token scheme with drf-spectacular

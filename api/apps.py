from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The service API under /api/v1/: ingestion, decisions, draw checks, webhooks."""

    name = "api"

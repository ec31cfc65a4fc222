from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Signed webhooks (Standard Webhooks) on decision changes and raised alerts."""

    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

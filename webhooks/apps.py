from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Signed webhooks (Standard Webhooks) on decision changes and raised alerts."""

    name = "webhooks"
    verbose_name = _("Webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from decisions.engine.announcements import listen

        from .services.outbox import webhook_events_for_plans

        # Events for changed decisions and newly raised alerts, in the engine's own transaction
        # (the outbox); sent by Celery after commit.
        listen(webhook_events_for_plans)

        from riskops.core.oncall import register_condition
        from riskops.core.oncall_notices import register_channel

        from .oncall import chat_channel, webhook_endpoint_disabled

        # On-call notices (riskops/core/oncall.py): a disabled endpoint is an incident, and the
        # chat webhook (RISKOPS_ONCALL_WEBHOOK_URL) goes out through the webhooks' guarded session.
        register_condition("webhook_endpoint_disabled", webhook_endpoint_disabled)
        register_channel("chat", chat_channel)

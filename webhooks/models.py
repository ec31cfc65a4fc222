"""Webhook endpoints, the outbox of events and their deliveries (one per event and endpoint).

Events are written in the same transaction as the decision or alert they announce (the outbox):
they commit or roll back with it. Deliveries leave only after that commit, from a Celery task
(webhooks/services/delivery.py), signed as the Standard Webhooks spec says.
"""

import base64
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    DECISION_CHANGED = "decision.changed", _("Decision changed (access or limit)")
    ALERT_RAISED = "alert.raised", _("Alert raised")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed, will retry")
    DEAD = "dead", _("Dead (retries exhausted)")


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class WebhookEndpoint(models.Model):
    url = models.URLField(max_length=500, verbose_name=_("URL"))
    description = models.CharField(max_length=200, blank=True, verbose_name=_("description"))
    secret = models.CharField(max_length=100, default=new_secret, verbose_name=_("signing secret"))
    event_types = models.JSONField(default=list, verbose_name=_("event types"), help_text=_("The events this endpoint receives."))
    active = models.BooleanField(default=True, verbose_name=_("active"))
    disabled_reason = models.CharField(max_length=200, blank=True, verbose_name=_("disabled because"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        constraints = [
            models.CheckConstraint(condition=Q(secret__startswith="whsec_"), name="webhook_secret_prefix"),
            models.CheckConstraint(condition=Q(active=True) | ~Q(disabled_reason=""), name="webhook_disabled_has_reason"),
        ]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    """One message: its id is the `webhook-id` every endpoint receives it under (also on replay)."""

    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("id"))
    type = models.CharField(max_length=32, choices=EventType.choices, verbose_name=_("type"))
    payload = models.JSONField(verbose_name=_("payload"))
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        constraints = [models.CheckConstraint(condition=Q(id__startswith="msg_"), name="webhook_event_id_prefix")]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


class WebhookDelivery(models.Model):
    """One event to one endpoint: its state, its schedule and its last outcome."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.PROTECT, related_name="deliveries", verbose_name=_("event"))
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries", verbose_name=_("endpoint"))
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, verbose_name=_("status"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    # When the next attempt is due; a claimed delivery's lease (a worker died mid-send: the sweep
    # sends it again once this passes). None once it succeeded or is dead.
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    last_response_code = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("last response code"))
    last_error = models.CharField(max_length=500, blank=True, verbose_name=_("last error"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once"),
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="webhook_delivery_status_valid"),
            models.CheckConstraint(
                condition=~Q(status=DeliveryStatus.SUCCEEDED.value) | Q(delivered_at__isnull=False),
                name="webhook_delivery_succeeded_has_time",
            ),
        ]
        # The sweep's read: deliveries still to send whose time has come.
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="webhook_delivery_due_idx", condition=Q(status__in=["pending", "failed"])
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} {self.status}"


class WebhookAttempt(models.Model):
    """The delivery log: one row per attempt to send, with the response code or the error."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.PROTECT, related_name="log", verbose_name=_("delivery"))
    attempted_at = models.DateTimeField(verbose_name=_("attempted at"))
    response_code = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("response code"))
    error = models.CharField(max_length=500, blank=True, verbose_name=_("error"))
    duration_ms = models.FloatField(verbose_name=_("duration ms"))

    class Meta:
        ordering = ["-attempted_at", "-id"]
        verbose_name = _("webhook delivery attempt")
        verbose_name_plural = _("webhook delivery attempts")
        indexes = [models.Index(fields=["delivery", "attempted_at"], name="webhook_attempt_delivery_idx")]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.response_code or self.error}"

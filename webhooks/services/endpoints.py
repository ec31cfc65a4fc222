"""What staff do to webhooks (in the admin): create and change endpoints, disable and enable
them, replay a delivery. Each is one transaction with its audit event."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from riskops.core.audit import audit_record
from riskops.core.exceptions import Conflict, ValidationFailed

from ..models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint
from .outbox import dispatch_on_commit
from .ssrf import resolve_and_check

_URL_MAX = WebhookEndpoint._meta.get_field("url").max_length


def _event_types(value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)) or not value:
        raise ValidationFailed("pick at least one event type", field="event_types")
    unknown = [v for v in value if v not in EventType.values]
    if unknown:
        raise ValidationFailed(f"unknown event type {unknown[0]!r}", field="event_types")
    return sorted(set(value))


def endpoint_url_check(url: Any) -> str:
    if not isinstance(url, str) or not url or len(url) > _URL_MAX:
        raise ValidationFailed(f"must be a URL of at most {_URL_MAX} characters", field="url")
    resolve_and_check(url)  # refuses loopback/private/link-local hosts unless allowed in settings
    return url


def _state(endpoint: WebhookEndpoint) -> dict[str, Any]:
    # Never the secret: the audit trail is read by compliance.
    return {"url": endpoint.url, "event_types": endpoint.event_types, "active": endpoint.active, "disabled_reason": endpoint.disabled_reason}


@transaction.atomic
def webhook_endpoint_create(*, url: str, event_types: list[str], actor: Any, description: str = "") -> WebhookEndpoint:
    """A new active endpoint with a fresh `whsec_` secret; the URL must pass the SSRF guard."""
    endpoint = WebhookEndpoint.objects.create(url=endpoint_url_check(url), event_types=_event_types(event_types), description=description[:200], created_by=actor)
    audit_record(actor=actor, action="webhook_endpoint.create", target=endpoint, after=_state(endpoint))
    return endpoint


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, actor: Any, url: str | None = None, event_types: list[str] | None = None,
                            description: str | None = None) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    before = _state(endpoint)
    if url is not None and url != endpoint.url:
        endpoint.url = endpoint_url_check(url)
    if event_types is not None:
        endpoint.event_types = _event_types(event_types)
    if description is not None:
        endpoint.description = description[:200]
    if _state(endpoint) == before and description is None:
        return endpoint
    endpoint.save()
    audit_record(actor=actor, action="webhook_endpoint.update", target=endpoint, before=before, after=_state(endpoint))
    return endpoint


@transaction.atomic
def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, actor: Any, reason: str) -> WebhookEndpoint:
    """Stop sending to the endpoint; its pending deliveries wait (sent again once enabled)."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationFailed("say why the endpoint is disabled", field="reason")
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if not endpoint.active:
        return endpoint
    before = _state(endpoint)
    endpoint.active, endpoint.disabled_reason = False, reason.strip()[:200]
    endpoint.save(update_fields=["active", "disabled_reason", "updated_at"])
    audit_record(actor=actor, action="webhook_endpoint.disable", target=endpoint, before=before, after=_state(endpoint))
    return endpoint


@transaction.atomic
def webhook_endpoint_enable(*, endpoint: WebhookEndpoint, actor: Any) -> WebhookEndpoint:
    """Send to the endpoint again; the deliveries that waited go out with the next sweep."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if endpoint.active:
        return endpoint
    before = _state(endpoint)
    endpoint.active, endpoint.disabled_reason = True, ""
    endpoint.save(update_fields=["active", "disabled_reason", "updated_at"])
    audit_record(actor=actor, action="webhook_endpoint.update", target=endpoint, before=before, after=_state(endpoint))
    return endpoint


@transaction.atomic
def webhook_delivery_replay(*, delivery: WebhookDelivery, actor: Any) -> WebhookDelivery:
    """Send a delivery again now, under the same `webhook-id` (receivers deduplicate on it):
    back to pending with a fresh retry schedule; the log keeps every earlier attempt."""
    delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    if delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0:
        return delivery  # not sent yet: nothing to replay
    if not delivery.endpoint.active:
        raise Conflict("the endpoint is disabled: enable it first", field="endpoint")
    before = {"status": delivery.status, "attempts": delivery.attempts, "last_response_code": delivery.last_response_code}
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, timezone.now()
    delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
    audit_record(actor=actor, action="webhook.replay", target=delivery, before=before,
                 after={"status": delivery.status, "event": delivery.event_id, "endpoint": delivery.endpoint_id})
    pk = delivery.pk
    transaction.on_commit(lambda: dispatch_on_commit([pk]))
    return delivery

"""The webhooks app's part of on-call notices (riskops/core/oncall.py), registered in WebhooksConfig.ready:

- the condition `webhook_endpoint_disabled`: one incident per disabled endpoint (deliveries to it
  stop), resolved when it is enabled again;
- the chat channel: the notice as a JSON POST `{"text": ...}` to RISKOPS_ONCALL_WEBHOOK_URL (a
  Slack- or Mattermost-style incoming webhook), through the same SSRF-guarded, address-pinned
  session as the webhooks (`services/pinning.py`: public addresses only unless
  RISKOPS_WEBHOOK_ALLOW_PRIVATE, no proxy, no redirect), with RISKOPS_ONCALL_WEBHOOK_TIMEOUT.
  A failure raises here and is logged, never raised, by `notice_send`.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext as _

from riskops.core.oncall import Finding

from .models import WebhookEndpoint
from .services.pinning import pinned_session

CHAT_TEXT_MAX = 1000


def webhook_endpoint_disabled(now: datetime) -> list[Finding]:
    endpoints = WebhookEndpoint.objects.filter(active=False).order_by("pk")
    return [
        Finding(
            key=str(e.pk),
            summary=_("Webhook endpoint %(id)s (%(host)s) is disabled: %(reason)s") % {
                "id": e.pk, "host": e.url.split("/")[2] if "//" in e.url else e.url, "reason": e.disabled_reason,
            },
        )
        for e in endpoints
    ]


class ChatRefused(Exception):
    """The chat webhook answered with a status other than 2xx."""


def chat_channel(subject: str, body: str) -> bool:
    url = settings.RISKOPS_ONCALL_WEBHOOK_URL
    if not url:
        return False
    text = f"{subject}\n{body}"[:CHAT_TEXT_MAX]
    timeout = settings.RISKOPS_ONCALL_WEBHOOK_TIMEOUT
    with pinned_session() as session:
        response = session.post(url, json={"text": text}, timeout=timeout, allow_redirects=False)
        response.close()
    if not 200 <= response.status_code < 300:
        raise ChatRefused(f"HTTP {response.status_code}")
    return True

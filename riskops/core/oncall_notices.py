"""How an on-call notice reaches people: email, and the channels other apps register (the chat
webhook: webhooks/oncall.py, which sends it through the webhooks' SSRF-guarded, pinned session).

A channel is a function `(subject, body) -> bool`: True when it sent the notice, False when it is
not configured (no recipients, no URL), and it raises when sending failed. `notice_send` calls
each one and never raises: a failure is logged (by the exception's class only: an error from an
HTTP client repeats the URL, and a chat webhook's URL is its secret) and reported in the outcome,
which the caller audits.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

from django.conf import settings
from django.core.mail import send_mail
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from .models import Incident

logger = logging.getLogger(__name__)

Channel = Callable[[str, str], bool]


def email_channel(subject: str, body: str) -> bool:
    recipients = list(settings.RISKOPS_ONCALL_EMAILS)
    if not recipients:
        return False
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)
    return True


_CHANNELS: dict[str, Channel] = {"email": email_channel}


def register_channel(name: str, channel: Channel) -> None:
    """Called from an app's `AppConfig.ready` (the chat webhook: webhooks)."""
    _CHANNELS[name] = channel


def notice_send(*, subject: str, body: str) -> dict[str, str]:
    """Send through every configured channel: {channel: "sent" | "failed"}; unconfigured ones are
    left out (an empty result: no channel is configured)."""
    outcomes: dict[str, str] = {}
    for name, channel in list(_CHANNELS.items()):
        try:
            if channel(subject, body):
                outcomes[name] = "sent"
        except Exception as exc:  # noqa: BLE001 - a notice channel failing must not stop the check
            logger.warning("on-call notice through %s failed: %s", name, type(exc).__name__)
            outcomes[name] = "failed"
    return outcomes


def notice_text(*, incident: Incident, resolved: bool) -> tuple[str, str]:
    """The subject and body of an incident's notice (opened, or resolved)."""
    values = {"kind": incident.get_kind_display(), "key": incident.key, "summary": incident.summary}
    if resolved:
        subject = _("[RiskOps] Resolved: %(kind)s (%(key)s)") % values
        lines = [
            _("Resolved: %(summary)s") % values,
            _("Opened at %(opened)s, resolved at %(resolved)s (UTC).")
            % {"opened": f"{incident.opened_at:%Y-%m-%d %H:%M}", "resolved": f"{incident.resolved_at:%Y-%m-%d %H:%M}"},
        ]
    else:
        subject = _("[RiskOps] %(kind)s (%(key)s)") % values
        lines = [
            values["summary"],
            _("Opened at %(opened)s (UTC). You get one notice per incident; the next one says when it is resolved.")
            % {"opened": f"{incident.opened_at:%Y-%m-%d %H:%M}"},
        ]
    if settings.RISKOPS_ONCALL_SITE_URL:
        lines.append(_("Incidents: %(url)s") % {"url": settings.RISKOPS_ONCALL_SITE_URL.rstrip("/") + "/admin/core/incident/"})
    return subject, "\n".join(lines)

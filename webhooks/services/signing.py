"""Standard Webhooks signatures: `webhook-signature` = `v1,` + base64 HMAC-SHA256 of
`id.timestamp.body`, keyed by the endpoint's `whsec_` secret (the `standardwebhooks` package signs)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from standardwebhooks.webhooks import Webhook


def event_body(payload: dict[str, Any]) -> str:
    """The exact bytes sent (and signed): compact JSON, keys sorted, so a replay is identical."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


@lru_cache(maxsize=256)
def _signer(secret: str) -> Webhook:
    return Webhook(secret)


def signed_headers(*, secret: str, msg_id: str, body: str, at: datetime) -> dict[str, str]:
    """Headers for one attempt: signed at `at` (each attempt signs anew, so a retry hours later
    is not refused by a receiver's timestamp tolerance)."""
    at = at.astimezone(timezone.utc).replace(microsecond=0)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": _signer(secret).sign(msg_id, at, body),
    }

"""What a consent's evidence records, per channel it was given through.

A consent is only as good as its proof: an app or web consent is evidenced by the device or
browser and the IP it came from, a call-centre consent by the call recording, a branch consent by
the signed form. The seeded book and the replay build their evidence here (accounts/seeding,
synthetic/replay.py) and the tests check every seeded consent with `evidence_problems`, so the
compliance pages never show a phone consent with an IP address, or a web consent from an iPhone app.
The API records what a partner sends; this module does not refuse it.
"""

from __future__ import annotations

import random
from datetime import datetime

# The keys each channel's evidence must have; a key that belongs to another channel only (a
# recording reference on an app consent) is a contradiction.
REQUIRED_KEYS = {
    "app": ("device", "ip", "app_version"),
    "web": ("ip", "user_agent"),
    "call_center": ("recording_ref", "agent"),
    "branch": ("signed_document_ref", "branch"),
}
APP_DEVICES = ("ios", "android")
APP_VERSIONS = ("4.10.2", "4.11.0", "4.12.1")
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
)
# Evidence that may accompany any channel (why a withdrawal was made, say).
ANY_CHANNEL_KEYS = ("reason",)


def evidence_problems(channel: str, evidence: dict) -> list[str]:
    """What is wrong with `evidence` for a consent given through `channel`; empty when it fits."""
    if channel not in REQUIRED_KEYS:
        return [f"unknown channel {channel!r}"]
    problems = [f"{channel} evidence needs {key}" for key in REQUIRED_KEYS[channel] if not evidence.get(key)]
    own = set(REQUIRED_KEYS[channel]) | set(ANY_CHANNEL_KEYS)
    foreign = sorted(k for k in evidence if k not in own)
    problems += [f"{key} does not belong to {channel} evidence" for key in foreign]
    if channel == "app" and evidence.get("device") not in (None, *APP_DEVICES):
        problems.append(f"an app consent comes from {' or '.join(APP_DEVICES)}, not {evidence.get('device')!r}")
    return problems


def synthetic_evidence(channel: str, rng: random.Random, *, at: datetime, ip: str | None = None, device: str | None = None) -> dict:
    """Evidence that fits `channel`, for the synthetic book: `ip` and `device` when the caller
    already drew them (an app device other than ios/android is redrawn)."""
    ip = ip or f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if channel == "app":
        return {"device": device if device in APP_DEVICES else rng.choice(APP_DEVICES), "app_version": rng.choice(APP_VERSIONS), "ip": ip}
    if channel == "web":
        return {"ip": ip, "user_agent": rng.choice(USER_AGENTS)}
    if channel == "call_center":
        return {"recording_ref": f"REC-{at:%Y%m%d}-{rng.randint(0, 999_999):06d}", "agent": f"agent-{rng.randint(1, 40):02d}"}
    if channel == "branch":
        return {"signed_document_ref": f"DOC-{at:%Y%m%d}-{rng.randint(0, 999_999):06d}", "branch": f"BR-{rng.randint(1, 60):03d}"}
    raise ValueError(f"unknown channel {channel!r}")

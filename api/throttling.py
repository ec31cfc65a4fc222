"""Throttling per client, at the rate stored on the client: a sliding-window counter.

The counters live in Django's cache (`CACHES["default"]`): locmem in one process by default, and
Redis when `CACHE_URL` is set (settings.py), which every gunicorn worker then shares. Staff
sessions reading through the API share one rate per user (`API_STAFF_THROTTLE_RATE`).

Why not DRF's `SimpleRateThrottle`: it keeps the timestamp of every request of the window in one
cache entry and reads, filters, pickles and writes the whole list on every request, so its cost
grows with the rate it allows. At 200 draw checks/s under a 1,000,000/min rate the list held
12,000 floats; through Redis that is ~100 kB each way per request. This one keeps two integers
per client: the count of the current fixed window and of the one before, and estimates the
sliding window as `previous × (share of it still inside the window) + current` (the
approximation Cloudflare and nginx-style limiters use): O(1) per request, one `incr` and one
`get` (Django's Redis backend makes its `incr` an EXISTS then an atomic INCR), never a
read-modify-write race between workers.
"""

import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from .authentication import ApiPrincipal

# A bad stored rate never opens the gate: this one applies instead.
FALLBACK_RATE = "600/min"


def rate_parse(rate: str) -> tuple[int, int]:
    """(requests, seconds) of a rate such as "600/min"; DRF's syntax, so the admin's check holds."""
    try:
        count, duration = SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        count, duration = SimpleRateThrottle.parse_rate(None, FALLBACK_RATE)  # type: ignore[arg-type]
    return max(1, count), duration


def sliding_estimate(previous: int, current: int, elapsed: float, duration: int) -> float:
    """Requests in the last `duration` seconds, `elapsed` seconds into the current window."""
    return previous * (1 - elapsed / duration) + current


class ClientRateThrottle(BaseThrottle):
    timer = time.time

    def __init__(self) -> None:
        self.wait_for: float | None = None

    def rate_for(self, request: Request) -> str:
        user = request.user
        if isinstance(user, ApiPrincipal):
            return user.client.throttle_rate
        return getattr(settings, "API_STAFF_THROTTLE_RATE", "300/min")

    def get_ident_key(self, request: Request) -> str | None:
        user = request.user
        if isinstance(user, ApiPrincipal):
            return f"throttle:api_client:{user.client.pk}"
        if user is not None and user.is_authenticated:
            return f"throttle:api_user:{user.pk}"
        return None  # anonymous requests are refused by authentication, never counted

    def allow_request(self, request: Request, view) -> bool:
        ident = self.get_ident_key(request)
        if ident is None:
            return True
        limit, duration = rate_parse(self.rate_for(request))
        now = self.timer()
        window = int(now // duration)
        elapsed = now - window * duration
        current_key, previous_key = f"{ident}:{duration}:{window}", f"{ident}:{duration}:{window - 1}"
        current = _increment(current_key, timeout=2 * duration + 1)
        previous = cache.get(previous_key) or 0
        if sliding_estimate(previous, current, elapsed, duration) <= limit:
            return True
        # Refused: the request is not counted, as DRF's throttles do not count one, so a client
        # that backs off for Retry-After seconds is let in again.
        _decrement(current_key)
        current -= 1
        self.wait_for = _retry_after(previous, current, elapsed, limit, duration)
        return False

    def wait(self) -> float | None:
        return self.wait_for


def _retry_after(previous: int, current: int, elapsed: float, limit: int, duration: int) -> float:
    """Seconds until one more request is under `limit`, at least 1 (Retry-After is whole seconds)."""
    if current + 1 > limit:
        # The current window alone is full: wait for the next one, where this window becomes the
        # previous one and weighs current × (1 − t / duration) + 1 ≤ limit.
        t = duration * (1 - (limit - 1) / current) if current else 0.0
        return max(1.0, math.ceil(duration - elapsed + t))
    # previous × (1 − t / duration) + current + 1 ≤ limit, for the earliest t after `elapsed`.
    t = duration * (1 - (limit - current - 1) / previous) if previous else elapsed
    return max(1.0, math.ceil(t - elapsed))


def _increment(key: str, *, timeout: int) -> int:
    """Add one to a counter and return it: atomic in Redis (INCR) and in locmem (under its lock).
    The window's first request creates the counter, every later one is a single `incr`."""
    try:
        return cache.incr(key)
    except ValueError:  # no counter yet for this window
        if cache.add(key, 1, timeout=timeout):
            return 1
        return cache.incr(key)  # another worker created it first


def _decrement(key: str) -> None:
    try:
        cache.decr(key)
    except ValueError:
        pass

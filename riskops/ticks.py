"""One run per sweep and tick, however many beats send it.

Two beats running by mistake (a second `celery beat`, a `--beat` worker beside the real beat)
send every periodic task twice: the hourly expiry sweep then recomputed the same customers twice.
`tick_claim` takes a Redis key per (sweep, tick) with SET NX, the tick being the time floored to
the sweep's period (the hour for an hourly sweep, the 15 s slot for the recovery sweep): the first
delivery of the tick runs, any other returns at once. The key expires after a few periods.

The broker's Redis holds the keys. Only a message a worker took is locked: a direct or eager call
(a command, the demo without a broker, a test) always runs. A Redis that cannot be reached lets the sweep run: the sweeps are safe
to run twice (their own locks and clocks), the lock only spares the repeated work.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import wraps
from typing import Callable

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)

KEY_PREFIX = "riskops:tick"


def _redis():
    import redis

    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2)


def tick_of(now: datetime, period: float) -> int:
    return int(now.timestamp() // period)


def tick_claim(*, name: str, period: float, now: datetime | None = None) -> bool:
    """True for the first claim of `name` in the current tick (the time floored to `period`)."""
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return True
    tick = tick_of(now or timezone.now(), period)
    try:
        return bool(_redis().set(f"{KEY_PREFIX}:{name}:{tick}", "1", nx=True, ex=max(int(period * 3), 10)))
    except Exception:  # the sweep is safe twice; never skip it for want of its lock
        logger.warning("tick lock for %s unavailable; running the sweep anyway", name, exc_info=True)
        return True


def _on_a_worker() -> bool:
    """A message a worker took (what beat sends), not a direct or eager call (a command, a test)."""
    from celery import current_task

    request = getattr(current_task, "request", None)
    return request is not None and not request.called_directly and not request.is_eager


def once_per_tick(period: float | Callable[[], float]) -> Callable:
    """Decorate a beat task: a second delivery within the same tick returns None without running.
    `period` in seconds, or a callable reading it from settings when the task runs."""

    def decorate(func: Callable) -> Callable:
        @wraps(func)
        def wrapper(*args, **kwargs):
            if not _on_a_worker():
                return func(*args, **kwargs)
            seconds = period() if callable(period) else period
            if not tick_claim(name=func.__qualname__, period=seconds):
                logger.info("%s: already run in this tick (another beat?), skipped", func.__qualname__)
                return None
            return func(*args, **kwargs)

        return wrapper

    return decorate

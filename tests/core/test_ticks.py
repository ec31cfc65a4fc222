"""Two beats, one sweep per tick (riskops/ticks.py) — on the Redis broker when there is one."""

import uuid
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.conf import settings

from riskops.ticks import tick_claim, tick_of

AT = datetime(2026, 3, 1, 10, 5, 3, tzinfo=dt_timezone.utc)


def test_a_tick_is_the_time_floored_to_the_period():
    assert tick_of(AT, 3600) == tick_of(AT.replace(minute=59, second=59), 3600)  # both beats fire in the hour
    assert tick_of(AT, 3600) + 1 == tick_of(AT + timedelta(hours=1), 3600)
    assert tick_of(AT, 15) != tick_of(AT + timedelta(seconds=15), 15)


@pytest.mark.redis
def test_the_second_claim_of_a_tick_is_refused_and_the_next_tick_is_free():
    assert settings.CELERY_BROKER_URL
    name = f"test-{uuid.uuid4().hex[:8]}"
    assert tick_claim(name=name, period=3600, now=AT) is True  # the first beat's message
    assert tick_claim(name=name, period=3600, now=AT + timedelta(minutes=1)) is False  # the second beat's, same hour
    assert tick_claim(name=name, period=3600, now=AT + timedelta(hours=1)) is True
    assert tick_claim(name=f"{name}-other", period=3600, now=AT) is True  # one lock per sweep


def test_without_a_redis_broker_every_claim_runs(settings):
    settings.CELERY_BROKER_URL = ""
    assert tick_claim(name="x", period=60, now=AT) and tick_claim(name="x", period=60, now=AT)

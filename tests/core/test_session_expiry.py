"""Staff sessions: an idle timeout (30 minutes) and an absolute lifetime (12 hours), by the clock.

Each test logs in through the login page (as a person does), then moves the clock with
time-machine and asks for a staff page: still the page, or the login page.
"""

from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
import time_machine
from django.urls import reverse

pytestmark = pytest.mark.django_db

START = datetime(2025, 3, 3, 9, 0, tzinfo=dt_timezone.utc)
OVERVIEW = "decisions:overview"


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def signed_in(client, analyst, clock):
    response = client.post(reverse("login"), {"username": analyst.username, "password": "pw-ana-123"}, REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(analyst.pk)
    return client


def _still_signed_in(client) -> bool:
    response = client.get(reverse(OVERVIEW))
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and response.url.startswith(reverse("login")), response.status_code
    return False


def test_defaults_are_thirty_minutes_idle_and_twelve_hours_in_all(settings):
    assert settings.RISKOPS_SESSION_IDLE_SECONDS == 30 * 60
    assert settings.RISKOPS_SESSION_LIFETIME_SECONDS == 12 * 3600


def test_a_session_idle_past_the_timeout_is_logged_out(signed_in, clock):
    assert _still_signed_in(signed_in)
    clock.shift(timedelta(minutes=31))

    assert not _still_signed_in(signed_in)
    assert "_auth_user_id" not in signed_in.session
    # Logging in again works, and says nothing about the old session's end any more.
    page = signed_in.get(reverse("login")).content.decode()
    assert "You were logged out after a period without activity." in page


def test_a_session_used_every_twenty_minutes_stays_for_hours(signed_in, clock):
    for _ in range(3 * 11):  # 11 hours in 20-minute steps
        clock.shift(timedelta(minutes=20))
        assert _still_signed_in(signed_in)


def test_an_active_session_older_than_the_lifetime_is_logged_out(signed_in, clock):
    for _ in range(3 * 12 - 1):  # 11 h 40 min in 20-minute steps, never idle
        clock.shift(timedelta(minutes=20))
        assert _still_signed_in(signed_in)
    clock.shift(timedelta(minutes=21))  # 12 h 01 min after the login

    assert not _still_signed_in(signed_in)


def test_the_lifetime_is_checked_even_when_the_session_row_would_live_on(signed_in, clock):
    """Not only the session row's expiry: a row kept longer (Django's two weeks, a session from
    before these limits) still ends at the lifetime."""
    session = signed_in.session
    session.set_expiry(timedelta(days=14))
    session.save()
    for _ in range(3 * 12 - 1):
        clock.shift(timedelta(minutes=20))
        assert _still_signed_in(signed_in)
    clock.shift(timedelta(minutes=21))

    assert not _still_signed_in(signed_in)


def test_both_limits_are_configurable(signed_in, clock, settings):
    settings.RISKOPS_SESSION_IDLE_SECONDS = 5 * 60
    clock.shift(timedelta(minutes=4))
    assert _still_signed_in(signed_in)
    clock.shift(timedelta(minutes=6))

    assert not _still_signed_in(signed_in)


def test_a_new_login_starts_the_clocks_again(client, analyst, clock):
    credentials = {"username": analyst.username, "password": "pw-ana-123"}
    client.post(reverse("login"), credentials, REMOTE_ADDR="10.0.0.9")
    for _ in range(3 * 11):
        clock.shift(timedelta(minutes=20))
        assert _still_signed_in(client)
    client.post(reverse("login"), credentials, REMOTE_ADDR="10.0.0.9")  # the same person, 11 h later
    for _ in range(3 * 3):  # to 14 h after the first login, 3 h after the second
        clock.shift(timedelta(minutes=20))
        assert _still_signed_in(client)

"""Login lockout per account (from any address) beside the lock per account and address, and a
lockout audited once per account and cool-off window rather than on every refused attempt."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from riskops.core.models import AuditEvent

pytestmark = pytest.mark.django_db

ADDRESSES = [f"203.0.113.{n}" for n in range(1, 7)]  # six source addresses


def _login(client, username: str, password: str, address: str):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def _guess(client, username: str, address: str, times: int) -> list[int]:
    return [_login(client, username, "wrong", address).status_code for _ in range(times)]


def _lockout_events(username: str):
    return AuditEvent.objects.filter(action="login.locked_out", target_id=username)


def test_the_limits_as_configured(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.RISKOPS_LOGIN_ACCOUNT_FAILURE_LIMIT == 20


def test_guesses_from_six_addresses_lock_the_account_and_the_right_password_is_then_refused(client, analyst):
    """The review's case: 4 guesses from each of six addresses stayed under the per-address lock."""
    statuses = [status for address in ADDRESSES for status in _guess(client, analyst.username, address, 4)]

    assert statuses[:19] == [200] * 19  # the form again, with its error
    assert set(statuses[19:]) == {429}  # the 20th failure locks the account everywhere
    for address in [*ADDRESSES, "198.51.100.77"]:  # a seventh, fresh address too
        response = _login(client, analyst.username, "pw-ana-123", address)
        assert response.status_code == 429
        assert "from several computers" in response.content.decode()
    assert "_auth_user_id" not in client.session
    event = _lockout_events(analyst.username).get()
    assert event.after["scope"] == "account" and event.after["failure_limit"] == 20


def test_another_account_from_the_same_addresses_is_still_allowed_under_the_per_address_limit(client, analyst, make_user):
    colleague = make_user("colin", "analyst")
    for address in ADDRESSES:
        _guess(client, analyst.username, address, 4)

    # Four wrong guesses from each of the same addresses: under the per-address limit of five.
    for address in ADDRESSES[:4]:
        assert _guess(client, colleague.username, address, 4) == [200] * 4
    response = _login(client, colleague.username, "pw-colin-123", ADDRESSES[0])

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(colleague.pk)


def test_the_per_address_lock_still_comes_first(client, analyst):
    assert _guess(client, analyst.username, ADDRESSES[0], 5) == [200] * 4 + [429]

    refused = _login(client, analyst.username, "pw-ana-123", ADDRESSES[0])
    allowed = _login(client, analyst.username, "pw-ana-123", ADDRESSES[1])

    assert refused.status_code == 429 and "from this computer" in refused.content.decode()
    assert allowed.status_code == 302
    assert _lockout_events(analyst.username).get().after["scope"] == "account_and_address"


def test_sixty_refused_posts_write_one_event_per_account_and_window(client, analyst, make_user):
    colleague = make_user("colin", "analyst")
    statuses = []
    for n in range(60):
        statuses.append(_login(client, analyst.username, "wrong", ADDRESSES[n % 6]).status_code)
    for _ in range(30):
        statuses.append(_login(client, colleague.username, "wrong", ADDRESSES[0]).status_code)

    assert statuses.count(429) == (60 - 19) + (30 - 4)
    assert _lockout_events(analyst.username).count() == 1
    assert _lockout_events(colleague.username).count() == 1
    assert AuditEvent.objects.filter(action="login.locked_out").count() == 2


def test_a_lockout_in_the_next_window_is_recorded_again(client, analyst):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _guess(client, analyst.username, ADDRESSES[0], 8)
        clock.shift(timedelta(minutes=10))
        _guess(client, analyst.username, ADDRESSES[0], 3)  # still locked (each refusal extends it), same window
        assert _lockout_events(analyst.username).count() == 1

        clock.shift(timedelta(minutes=16))  # the cool-off has passed: the lock is lifted
        assert _guess(client, analyst.username, ADDRESSES[0], 5) == [200] * 4 + [429]

    assert _lockout_events(analyst.username).count() == 2

"""A new API token is shown once, on a page of its own in the response that creates it: never
in a cookie (the `messages` cookie carried it, signed but readable) nor in the session; a later
request, a reload of the token's pages, does not show it again."""

import re

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from django.urls import reverse

from api.models import ApiToken
from api.services import api_token_create
from api.tokens import secret_matches, token_split
from riskops.core.models import AuditEvent

from .factories import ApiClientFactory

pytestmark = pytest.mark.django_db
TOKEN = re.compile(r"rk_[0-9a-f]{8}_[A-Za-z0-9_\-]+")


def _cookies_carry(response, secret: str) -> list[str]:
    """The Set-Cookie headers of `response` that carry `secret`, read as the browser would get
    them and, for the messages cookie, decoded (it is compressed and signed, not encrypted)."""
    found = []
    for name, morsel in response.cookies.items():
        if secret in morsel.OutputString():
            found.append(name)
        if name == "messages" and morsel.value:
            decoded = CookieStorage(RequestFactory().get("/"))._decode(morsel.value) or []
            if any(secret in str(m.message) for m in decoded):
                found.append(name)
    return found


def test_a_new_token_is_shown_once_on_its_own_page_and_never_in_a_cookie_or_the_session(client, risk_admin, settings):
    # Whatever the deployment's storage, the token never goes through the messages framework.
    settings.MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"
    client.force_login(risk_admin)
    api_client = ApiClientFactory(name="payments")
    responses = [client.post(reverse("admin:api_apitoken_add"), {"client": api_client.pk})]
    created = responses[0]
    assert created.status_code == 200, "the token is rendered in the response that creates it, not after a redirect"
    shown = TOKEN.findall(created.content.decode())
    assert len(shown) == 1, "the page shows the token once"
    [full] = shown
    prefix, secret = token_split(full)
    token = ApiToken.objects.get()
    assert token.prefix == prefix and secret_matches(secret, token.secret_hash)
    assert "no-store" in created["Cache-Control"]  # no copy kept by the browser or a proxy
    assert AuditEvent.objects.filter(action="api_token.create").count() == 1

    # Going on: the token's page, the list, the add page again; nothing shows it any more.
    for url in (reverse("admin:api_apitoken_change", args=[token.pk]), reverse("admin:api_apitoken_changelist"),
                reverse("admin:api_apitoken_add"), reverse("admin:index")):
        response = client.get(url)
        assert response.status_code == 200
        assert secret not in response.content.decode()
        responses.append(response)

    for response in responses:
        assert _cookies_carry(response, secret) == []
    session = SessionStore(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)
    assert secret not in repr(session.load())
    assert ApiToken.objects.count() == 1


def test_messages_are_kept_in_the_session_not_in_a_cookie(settings):
    assert settings.MESSAGE_STORAGE == "django.contrib.messages.storage.session.SessionStorage"


def test_other_admin_messages_still_show_and_travel_in_no_cookie(client, risk_admin):
    client.force_login(risk_admin)
    token, _ = api_token_create(client=ApiClientFactory(), actor=risk_admin)
    revoked = client.post(reverse("admin:api_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]})
    assert revoked.status_code == 302 and "messages" not in revoked.cookies
    page = client.get(revoked["Location"])
    assert "1 token(s) revoked." in page.content.decode() and "messages" not in page.cookies
    token.refresh_from_db()
    assert token.revoked_at is not None

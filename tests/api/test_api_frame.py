"""The frame around the endpoints: staff pages ignore tokens, throttling per client, the admin
(tokens created with the secret shown once, revoked, audited), the schema and its docs page."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from api.models import ApiClient, ApiToken
from api.services import api_client_create, api_client_update, api_token_create
from riskops.core.exceptions import ValidationFailed
from riskops.core.models import AuditEvent
from tests.factories import CustomerFactory

from .factories import ApiClientFactory, api_client_with, bearer, token_for

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("url", ["/", "/queue/", "/admin/", "/compliance/audit/", "/admin/api/apitoken/"])
def test_a_token_cannot_open_staff_pages(url):
    _, auth = api_client_with()
    response = Client().get(url, **auth)
    assert response.status_code in (302, 404)
    if response.status_code == 302:
        assert "login" in response["Location"]


def test_throttle_is_per_client_at_the_clients_rate():
    CustomerFactory(external_id="C-1")
    _, slow = api_client_with(throttle_rate="3/min")
    _, other = api_client_with(throttle_rate="3/min")
    http = Client()
    codes = [http.get("/api/v1/customers/C-1/decision", **slow).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    last = http.get("/api/v1/customers/C-1/decision", **slow)
    assert last.status_code == 429 and int(last["Retry-After"]) > 0 and last.json()["code"] == "throttled"
    assert http.get("/api/v1/customers/C-1/decision", **other).status_code == 200  # its own counter
    cache.clear()
    assert http.get("/api/v1/customers/C-1/decision", **slow).status_code == 200


def test_client_services_validate_and_audit(risk_admin):
    with pytest.raises(ValidationFailed) as exc:
        api_client_create(name="x", scopes=["everything"], actor=risk_admin)
    assert exc.value.field == "scopes"
    with pytest.raises(ValidationFailed) as exc:
        api_client_create(name="x", scopes=[], throttle_rate="lots", actor=risk_admin)
    assert exc.value.field == "throttle_rate"
    client = api_client_create(name="payments", scopes=["events:write", "draws:check"], actor=risk_admin)
    api_client_update(client=client, actor=risk_admin, scopes=["draws:check", "events:write"])  # same set: no change
    api_client_update(client=client, actor=risk_admin, active=False)
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["api_client.create", "api_client.update"]
    token, secret = api_token_create(client=client, actor=risk_admin)
    assert secret not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    assert AuditEvent.objects.filter(action="api_token.create").count() == 1


def test_admin_creates_a_token_and_shows_the_secret_once(client, risk_admin):
    client.force_login(risk_admin)
    api_client = ApiClientFactory(name="loan-system")
    response = client.post(reverse("admin:api_apitoken_add"), {"client": api_client.pk}, follow=True)
    assert response.status_code == 200
    shown = re.findall(r"rk_[0-9a-f]{8}_[A-Za-z0-9_\-]+", response.content.decode())
    assert len(shown) == 1
    token = ApiToken.objects.get(client=api_client)
    assert shown[0].startswith(f"rk_{token.prefix}_") and token.created_by == risk_admin
    # the token works, and the secret is not on any later page
    CustomerFactory(external_id="C-1")
    assert Client().get("/api/v1/customers/C-1/decision", **bearer(shown[0])).status_code == 200
    page = client.get(reverse("admin:api_apitoken_change", args=[token.pk])).content.decode()
    assert shown[0] not in page and token.prefix in page
    # revoke through the admin action
    client.post(reverse("admin:api_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert Client().get("/api/v1/customers/C-1/decision", **bearer(shown[0])).status_code == 401
    assert list(AuditEvent.objects.filter(action__startswith="api_token").order_by("id").values_list("action", flat=True)) == [
        "api_token.create", "api_token.revoke",
    ]


def test_admin_creates_a_client_through_the_service(client, risk_admin):
    client.force_login(risk_admin)
    response = client.post(
        reverse("admin:api_apiclient_add"),
        {"name": "payments", "scopes": ["events:write", "draws:check"], "throttle_rate": "100/min", "active": "on",
         "tokens-TOTAL_FORMS": "0", "tokens-INITIAL_FORMS": "0", "tokens-MIN_NUM_FORMS": "0", "tokens-MAX_NUM_FORMS": "0"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    made = ApiClient.objects.get(name="payments")
    assert made.scopes == ["draws:check", "events:write"] and made.created_by == risk_admin
    assert AuditEvent.objects.filter(action="api_client.create").count() == 1


def test_analyst_cannot_manage_tokens(client, analyst):
    client.force_login(analyst)
    assert client.get(reverse("admin:api_apitoken_add")).status_code in (302, 403)


def test_schema_builds_without_warnings_and_validates():
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--fail-on-warn", "--validate", "--file", "/dev/null"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stderr


def test_schema_and_docs_are_served(client, analyst):
    client.force_login(analyst)  # who may read them: tests/api/test_schema_access.py
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ["/api/v1/transactions/", "/api/v1/transactions/batch/", "/api/v1/consents/", "/api/v1/alerts/",
                 "/api/v1/customers/{external_id}/decision", "/api/v1/disclosure-acknowledgements/"]:
        assert path in paths
    assert schema.json()["components"]["securitySchemes"]["ApiToken"]["scheme"] == "bearer"
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui-dist/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    assert not re.search(r"<script>(?!\s*</script>)", html)  # no inline script: the CSP allows none

"""The OpenAPI schema (/api/schema/) and its Swagger UI (/api/docs/) are for staff and service
clients: anonymous callers are refused (the schema with a 401, the page with a redirect to the
login), with DEBUG off as in production; API_SCHEMA_PUBLIC opens both to anyone."""

import pytest
from django.test import Client
from django.urls import reverse

from api.services import api_token_revoke

from .factories import ApiClientFactory, bearer, token_for

pytestmark = pytest.mark.django_db
SCHEMA, DOCS = "/api/schema/", "/api/docs/"
OPENAPI_JSON = {"HTTP_ACCEPT": "application/vnd.oai.openapi+json"}


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False
    settings.API_SCHEMA_PUBLIC = False


def test_an_anonymous_client_gets_no_schema():
    response = Client().get(SCHEMA, **OPENAPI_JSON)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated" and "paths" not in response.json()
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("url", [DOCS, DOCS + "?script="])
def test_an_anonymous_browser_is_sent_to_the_login_for_the_docs_page(url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=" + url.replace("?", "%3F").replace("=", "%3D")
    assert b"swagger" not in response.content.lower()


def test_a_bad_or_revoked_token_gets_no_schema(risk_admin):
    client = ApiClientFactory(scopes=[])
    token = token_for(client)
    assert Client().get(SCHEMA, **OPENAPI_JSON, **bearer("rk_00000000_nope")).status_code == 401
    api_token_revoke(token=client.tokens.get(), actor=risk_admin)
    assert Client().get(SCHEMA, **OPENAPI_JSON, **bearer(token)).status_code == 401


def test_any_valid_token_reads_the_schema_and_the_docs_page():
    token = token_for(ApiClientFactory(scopes=[]))  # no scope needed: the schema is the contract, not data
    schema = Client().get(SCHEMA, **OPENAPI_JSON, **bearer(token))
    assert schema.status_code == 200 and "/api/v1/transactions/" in schema.json()["paths"]
    assert Client().get(DOCS, **bearer(token)).status_code == 200


@pytest.mark.parametrize("role", ["analyst", "compliance", "risk_admin"])
def test_staff_read_the_schema_and_the_docs_page(client, make_user, role):
    client.force_login(make_user("staff", role))
    assert client.get(SCHEMA, **OPENAPI_JSON).status_code == 200
    page = client.get(DOCS)
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.content.decode()
    assert client.get(DOCS + "?script=").status_code == 200


def test_a_login_without_a_role_is_refused(client, make_user):
    client.force_login(make_user("nobody"))
    assert client.get(SCHEMA, **OPENAPI_JSON).status_code == 403
    assert client.get(DOCS).status_code == 403


def test_the_setting_makes_both_public(settings):
    settings.API_SCHEMA_PUBLIC = True
    schema = Client().get(SCHEMA, **OPENAPI_JSON)
    assert schema.status_code == 200 and "/api/v1/alerts/" in schema.json()["paths"]
    assert Client().get(DOCS).status_code == 200
    assert Client().get(DOCS + "?script=").status_code == 200


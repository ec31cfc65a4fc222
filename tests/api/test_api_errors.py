"""Errors under /api/ are JSON in the API's form (`code`, `message`, `field`), the unknown path
and the bad cursor included; the staff pages keep their HTML 404."""

import base64
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Transaction
from tests.factories import CustomerFactory, RiskAlertFactory

pytestmark = pytest.mark.django_db

UNKNOWN = [
    "/api/v1/nope/",
    "/api/v1/nope",
    "/api/",
    "/api/v2/customers/C-1/decision",
    "/api/v1/customers/C-1/decision/extra",
    "/api/v1/customers//decision",
    "/api/v1/alerts/1/",
    "/api/v1/a%0Ab/",  # a newline in the path
    "/api/v1/" + "x" * 3000 + "/",
]


def _is_api_404(response) -> dict:
    assert response.status_code == 404, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "not_found" and body["field"] == "path" and body["message"]
    assert len(body["message"]) < 500  # a long path is not echoed whole
    return body


@pytest.mark.parametrize("url", UNKNOWN)
def test_an_unknown_path_under_api_is_a_json_404(get, url):
    # given a client with every scope, when it asks for a path no endpoint serves
    # then the answer is the API's JSON error, not the staff pages' HTML
    _is_api_404(get(url))


@pytest.mark.parametrize("url", ["/api/v1/nope/", "/api/v1/customers/C-1/decision/"])
def test_the_json_404_needs_no_token_and_no_csrf_token(url):
    csrf_checking = Client(enforce_csrf_checks=True)
    _is_api_404(csrf_checking.get(url))
    _is_api_404(csrf_checking.post(url, data="{}", content_type="application/json"))
    _is_api_404(csrf_checking.delete(url))


def test_a_trailing_slash_on_the_decision_path_names_the_endpoint(get):
    CustomerFactory(external_id="C-1")
    body = _is_api_404(get("/api/v1/customers/C-1/decision/"))
    assert body["message"] == "There is no endpoint at /api/v1/customers/C-1/decision/. Did you mean /api/v1/customers/C-1/decision?"
    assert get("/api/v1/customers/C-1/decision").status_code == 200


def test_a_post_without_the_trailing_slash_is_a_json_404_naming_the_endpoint(post):
    CustomerFactory(external_id="C-1")
    body = {"customer": "C-1", "external_id": "t-1", "kind": "purchase", "amount": "5.00", "currency": "CNY",
            "occurred_at": (timezone.now() - timedelta(minutes=1)).isoformat()}
    answer = _is_api_404(post("/api/v1/transactions", body))
    assert answer["message"].endswith("Did you mean /api/v1/transactions/?")
    assert Transaction.objects.count() == 0
    assert post("/api/v1/transactions/", body).status_code == 201


def test_a_get_without_the_trailing_slash_still_redirects(get):
    # APPEND_SLASH as before the catch-all: a GET is safe to follow, the query string kept
    response = get("/api/v1/alerts", customer="C-1")
    assert response.status_code == 301 and response["Location"] == "/api/v1/alerts/?customer=C-1"


def test_the_json_404_does_not_depend_on_debug(settings, get):
    settings.DEBUG = True  # Django's technical 404 page would be HTML
    _is_api_404(get("/api/v1/nope/"))


@pytest.mark.parametrize("url", ["/nope/", "/apix/", "/queue/nope/", "/customers/nobody/"])
def test_staff_pages_keep_their_html_404(analyst_client, url):
    response = analyst_client.get(url)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "Page not found" in response.content.decode()


def test_known_api_404s_keep_naming_their_field(get):
    response = get("/api/v1/customers/nobody/decision")
    assert response.status_code == 404 and response.json()["field"] == "customer"


# --- cursors ---------------------------------------------------------------------------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


BAD_CURSORS = [
    "!!!",  # not base64 (DRF's decoder drops the characters and serves page one)
    "cD0",  # truncated: bad padding
    "é",
    _b64("o=-1"),
    _b64("o=abc"),
    _b64("r=x"),
    _b64("p=abc"),  # reached `id__lt='abc'`: a 500
    _b64("p=1.5"),
    _b64("p=-5"),
    _b64("p=" + "9" * 30),  # beyond a bigint
    _b64("p=9223372036854775808"),
    _b64("p=\x00"),
    _b64("p=１２"),  # fullwidth digits: not ASCII
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
@pytest.mark.parametrize("url", ["/api/v1/customers/C-1/decisions/", "/api/v1/alerts/"])
def test_an_invalid_cursor_is_400_naming_cursor(get, url, cursor):
    CustomerFactory(external_id="C-1")
    response = get(url, cursor=cursor)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "invalid" and body["field"] == "cursor" and body["message"]


def test_the_cursors_the_api_gives_out_still_work(service):
    # given more alerts than a page
    http, auth, _ = service
    alerts = RiskAlertFactory.create_batch(5)
    # when the client follows `next` to the end, and `previous` from the second page
    first = http.get("/api/v1/alerts/", {"page_size": 2}, **auth).json()
    pages, url = [first], first["next"]
    while url:
        pages.append(http.get(url, **auth).json())
        url = pages[-1]["next"]
    back = http.get(pages[1]["previous"], **auth).json()
    # then every alert is served once, and the way back is the first page
    assert sorted(a["id"] for p in pages for a in p["results"]) == sorted(a.pk for a in alerts)
    assert [a["id"] for a in back["results"]] == [a["id"] for a in first["results"]]

"""/api/docs/: Swagger UI from local assets renders the schema under the strict CSP, for staff
(an anonymous visitor is sent to the login first and comes back to it)."""

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_with_no_csp_violation_and_no_outside_request(page, live_server, login, analyst):
    blocked, errors, outside = [], [], []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(live_server.url) and not req.url.startswith("data:") else None)
    page.goto(live_server.url + "/api/docs/")
    assert page.url.split("?")[0] == live_server.url + reverse("login")  # not for anonymous visitors
    login(page, live_server, analyst, next_url="/api/docs/")
    assert page.url == live_server.url + "/api/docs/"
    page.wait_for_selector(".swagger-ui .opblock", timeout=15_000)
    assert page.locator(".opblock").count() >= 15  # every operation of the schema is listed
    assert page.get_by_text("/api/v1/transactions/batch/").count() >= 1
    assert blocked == [] and errors == [] and outside == []

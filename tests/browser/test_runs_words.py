"""Words, not codes, in a real browser (issue 22, item 6): a full recompute asks first on its own
page; the 403 page names the role a page needs; axe on each."""

import pytest
from django.urls import reverse

from decisions.models import RecomputeRun
from tests.decisions.scenarios import make_customer

from .helpers import assert_no_serious_axe_violations
from .test_queue import ensure_active_policy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_full_recompute_is_confirmed_on_its_own_page(page, live_server, login, risk_admin):
    ensure_active_policy()
    make_customer()
    login(page, live_server, risk_admin, next_url=reverse("decisions:runs"))
    page.goto(live_server.url + reverse("decisions:runs"))
    with page.expect_navigation():
        page.get_by_role("link", name="Start a full recompute…").click()
    # the question, what it covers, and nothing started yet
    page.get_by_role("heading", name="Start a full recompute?").wait_for()
    assert "1 customer." in page.locator("[data-run-start-summary]").inner_text()
    assert not RecomputeRun.objects.exists()
    assert_no_serious_axe_violations(page)
    # Cancel goes back without starting anything
    with page.expect_navigation():
        page.get_by_role("link", name="Cancel").click()
    assert not RecomputeRun.objects.exists()
    # confirming starts it
    page.goto(live_server.url + reverse("decisions:run-start"))
    with page.expect_navigation():
        page.get_by_role("button", name="Yes, start the full recompute").click()
    assert RecomputeRun.objects.count() == 1
    page.get_by_text("started over 1 customer").wait_for()


def test_the_403_page_names_the_role_the_page_needs(page, live_server, login, analyst):
    login(page, live_server, analyst)
    response = page.goto(live_server.url + reverse("decisions:run-start"))
    assert response.status == 403
    text = page.locator("main").inner_text()
    assert "This page is for the role: risk admin." in text and "Your role is analyst." in text
    assert "no role" not in text.lower()
    assert_no_serious_axe_violations(page)

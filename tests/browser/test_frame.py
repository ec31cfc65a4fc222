"""The frame in a real browser: logging in, navigation by role, language, accessibility, lockout."""

import pytest
from django.urls import reverse

from riskops.core.models import AuditEvent

from .helpers import BROWSER_PASSWORD, assert_no_serious_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _nav_labels(page) -> list[str]:
    return [t.strip() for t in page.locator("nav.mainnav a").all_inner_texts()]


def test_analyst_logs_in_through_the_form_and_lands_on_the_overview(page, live_server, login, analyst):
    login(page, live_server, analyst)

    assert page.locator("h1").first.is_visible()
    assert "Overview" in _nav_labels(page)
    assert page.locator("summary", has_text="ana").is_visible()


def test_login_page_has_no_serious_accessibility_violations(page, live_server):
    page.goto(live_server.url + reverse("login"))

    assert_no_serious_axe_violations(page)

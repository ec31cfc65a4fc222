"""Chinese in a real browser: Plotly draws in its zh-CN locale (mode bar, dates), loaded as a
static file under the strict CSP, and short labels keep Chinese words whole."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from decisions.casework.services.book_stats import book_stats_refresh, utc_today
from tests.factories import CreditLineFactory, RiskAlertFactory

from .helpers import assert_no_serious_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def book():
    lines = [CreditLineFactory(limit_amount=Decimal("1200.00")), CreditLineFactory(access="limited", limit_amount=Decimal("250.00"), band="D")]
    RiskAlertFactory(customer=lines[0].customer, raised_at=timezone.now())
    for day in range(3):
        book_stats_refresh(day=utc_today() - timedelta(days=day))
    return lines


def test_charts_and_labels_in_chinese(page, live_server, login, analyst, book):
    blocked: list[str] = []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    login(page, live_server, analyst)
    page.get_by_role("button", name="简体中文").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.locator(".js-plotly-plot .modebar-btn").first.wait_for(state="attached")

    # The mode bar speaks Chinese: its buttons' titles come from the zh-CN locale.
    titles = page.locator(".js-plotly-plot .modebar-btn").evaluate_all("els => els.map(e => e.getAttribute('data-title'))")
    assert "下载图表为PNG格式" in titles, titles
    assert not [t for t in titles if t and t.isascii()], titles  # and no "Share chart..." to Plotly's cloud
    # Plotly registered the locale and formats dates with it (a month name, as on a date axis).
    month = page.evaluate(
        "() => { const el = document.querySelector('.js-plotly-plot'); return el._fullLayout._d3locale.timeFormat('%B')(new Date(Date.UTC(2026, 2, 15))); }"
    )
    assert month == "三月"
    assert not blocked, blocked

    # Column headings and badges keep Chinese words whole in narrow columns.
    page.goto(live_server.url + reverse("decisions:queue"))
    styles = page.evaluate(
        "() => [...document.querySelectorAll('th, .badge')].map(e => getComputedStyle(e).wordBreak)"
    )
    assert styles and set(styles) == {"keep-all"}, styles
    assert_no_serious_axe_violations(page)

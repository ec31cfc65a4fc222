"""The overview and the risk profile in a real browser: charts drawn, no serious axe violation."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from decisions.casework.services.book_stats import book_stats_refresh, utc_today
from tests.decisions.test_profile import scored_customer
from tests.factories import CreditLineFactory, RiskAlertFactory

from .helpers import assert_no_serious_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_profile_draws_its_charts_and_passes_axe(page, live_server, login, analyst):
    # Given a customer with a history; when an analyst opens the profile
    customer = scored_customer(history=6)
    login(page, live_server, analyst)
    page.goto(live_server.url + reverse("decisions:customer", kwargs={"external_id": customer.external_id}))
    # then each chart is drawn by Plotly as SVG
    page.wait_for_selector("[data-chart='chart-limit-history'] .main-svg")
    for chart_id in ("chart-score-history", "chart-cash-flow", "chart-dpd", "chart-limit-history"):
        assert page.locator(f"[data-chart='{chart_id}'] .main-svg").count() >= 1
    assert page.locator("h1").inner_text().endswith(customer.external_id)
    assert_no_serious_axe_violations(page)


@pytest.mark.clock
def test_overview_draws_its_charts_and_passes_axe(page, live_server, login, analyst):
    # Given a small book whose daily figures were refreshed (yesterday's too: before 02:00 UTC
    # the alert raised 2 hours ago lies on yesterday)
    now = timezone.now()
    lines = [CreditLineFactory(score=700 - 30 * n, band="ABCDE"[n], limit_amount=Decimal("400.00")) for n in range(4)]
    RiskAlertFactory(customer=lines[0].customer, raised_at=now - timedelta(hours=2))
    book_stats_refresh(day=utc_today() - timedelta(days=1))
    book_stats_refresh(day=utc_today())
    # when an analyst logs in (the overview is where the login lands)
    login(page, live_server, analyst)
    page.goto(live_server.url + reverse("decisions:overview"))
    # then the charts are drawn
    page.wait_for_selector("[data-chart='chart-score-distribution'] .main-svg")
    assert page.locator("[data-chart='chart-access-mix'] .main-svg").count() >= 1
    assert page.locator("[data-chart='chart-alerts-per-rule'] .main-svg").count() >= 1
    assert_no_serious_axe_violations(page)


def test_empty_overview_passes_axe(page, live_server, login, compliance_officer):
    login(page, live_server, compliance_officer)
    page.goto(live_server.url + reverse("decisions:overview"))
    assert page.locator("h1").inner_text() == "Overview"
    assert_no_serious_axe_violations(page)


def test_the_outcomes_panel_reads_in_chinese_and_passes_axe(page, live_server, login, analyst):
    from datetime import date

    from tests.modelling.factories import OutcomeFactory

    # Given a scored customer with a matured bad month and an open one
    customer = scored_customer(history=3)
    OutcomeFactory(customer=customer, observation_date=date(2024, 2, 1), worst_dpd=97)
    OutcomeFactory(customer=customer, observation_date=date(2025, 11, 1), as_of=date(2025, 12, 6), worst_dpd=0)
    # when an analyst reading Chinese opens the profile
    login(page, live_server, analyst)
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    page.goto(live_server.url + reverse("decisions:customer", kwargs={"external_id": customer.external_id}))
    # then the outcomes are there, in Chinese, bad and open told apart in words
    panel = page.locator("section[aria-labelledby='h-outcomes']")
    assert panel.locator("h2").inner_text() == "信用结果"
    text = panel.inner_text()
    assert "坏" in text and "未定，至 2026-11-01" in text and "12 个月内逾期 90 天以上 · 策略 v1" in text
    assert_no_serious_axe_violations(page)

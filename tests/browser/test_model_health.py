"""Model health in a real browser: a drifted night's alert on the overview, the health page's
charts drawn, the alert acknowledged with a note (refused without one), axe on both pages."""

from datetime import timedelta

import pytest
from django.urls import reverse

from modelling.drift import SCORE
from modelling.models import ModelAlert
from modelling.services.monitoring import model_monitor
from tests.modelling.monitoring_factories import NIGHT, book_customers, scored_night

from .helpers import assert_no_serious_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _drifted_book():
    people = book_customers(200)
    scored_night(people, day=NIGHT, seed=1)
    model_monitor(as_of=NIGHT)
    scored_night(people, day=NIGHT + timedelta(days=1), seed=2, shift=2.0)
    model_monitor(as_of=NIGHT + timedelta(days=1))


def test_a_risk_admin_sees_the_alert_and_acknowledges_it(page, live_server, login, risk_admin):
    _drifted_book()
    score_alert = ModelAlert.objects.get(metric=SCORE)
    # The overview (where the login lands) tells the risk admin
    login(page, live_server, risk_admin)
    page.goto(live_server.url + reverse("decisions:overview"))
    panel = page.locator("section[aria-labelledby='h-overview-model-alerts']")
    assert "open model alerts" in panel.locator("h2").inner_text()
    assert "Score (PSI) at" in panel.locator("li").first.inner_text()
    assert_no_serious_axe_violations(page)

    # The health page: the trend drawn, the levels in words, axe clean
    with page.expect_navigation():
        panel.locator("a", has_text="Open model health").click()
    assert page.url.endswith(reverse("modelling:health"))
    page.wait_for_selector("[data-chart='chart-stability'] .main-svg")
    assert "alert: not the population the model was developed on" in page.locator("section[aria-labelledby='h-latest']").inner_text()
    assert_no_serious_axe_violations(page)

    # Acknowledge without a note: the browser's own check stops the form (required), nothing sent
    form = page.locator(f"form[action='{reverse('modelling:health-acknowledge', args=[score_alert.pk])}']")
    form.locator("button[type=submit]").click()
    assert form.locator("textarea:invalid").count() == 1
    score_alert.refresh_from_db()
    assert score_alert.status == ModelAlert.Status.OPEN

    # With a note: acknowledged, said so, listed with the note
    form.locator("textarea").fill("Partner launch: a younger population. Recalibration planned.")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "Model alert on Score (PSI) acknowledged." in page.locator(".messages").inner_text()
    assert "Recalibration planned." in page.locator("section[aria-labelledby='h-model-alerts']").inner_text()
    score_alert.refresh_from_db()
    assert score_alert.status == ModelAlert.Status.ACKNOWLEDGED and score_alert.acknowledged_by == risk_admin
    assert_no_serious_axe_violations(page)


def test_an_analyst_sees_no_model_alert_and_no_health_page(page, live_server, login, analyst):
    _drifted_book()
    login(page, live_server, analyst)
    page.goto(live_server.url + reverse("decisions:overview"))
    assert page.locator("section[aria-labelledby='h-overview-model-alerts']").count() == 0
    response = page.goto(live_server.url + reverse("modelling:health"))
    assert response.status == 403

"""The scorecard pages in a real browser: a risk admin opens /models/, clicks into a fitted draft's
validation report, sees its charts drawn and its model card, presses "Validate again", and the
pages pass axe."""

import pytest
from django.urls import reverse

from modelling.models import ScorecardDevelopment
from modelling.services.development import scorecard_develop
from modelling.validation import SplitSettings
from riskops.core.models import AuditEvent
from tests.modelling.book_factories import modelling_book

from .helpers import assert_no_serious_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_risk_admin_reads_a_fitted_scorecards_report_and_validates_it_again(page, live_server, login, risk_admin):
    modelling_book(customers=400, dates=4)
    result = scorecard_develop(actor=risk_admin, split=SplitSettings(oot_months=1))
    version = result.version.version
    first_report = result.development.report_sha256

    login(page, live_server, risk_admin)
    page.goto(live_server.url + reverse("modelling:index"))
    assert page.locator("nav.mainnav a[aria-current=page]").inner_text() == "Models"
    assert f"{result.development.report['parts']['test']['auc']['value']:.3f}" in page.inner_text("main")
    assert_no_serious_axe_violations(page)

    with page.expect_navigation():
        page.click(f"text=Report of v{version}")
    assert page.url.endswith(reverse("modelling:report", args=[version]))
    # Every chart is drawn by Plotly (an SVG inside each figure), and the model card is there.
    page.wait_for_selector("[data-chart='model-roc'] .main-svg")
    for chart in ("model-roc", "model-ks", "model-calibration-test", "model-calibration-oot", "model-iv"):
        page.wait_for_selector(f"[data-chart='{chart}'] .main-svg")
    card = page.locator("dl.facts").first.inner_text()
    assert "Definition of bad" in card and "90+ days past due" in card and risk_admin.username in card
    assert page.locator("#bins-bureau_score table").count() == 1
    assert result.development.sample_sha256 in page.inner_text("[data-digest=sample]")
    assert_no_serious_axe_violations(page)

    with page.expect_navigation():
        page.click("button:has-text('Validate again')")
    assert page.url.endswith(reverse("modelling:report", args=[version]))
    assert "validated on" in page.locator(".messages").inner_text()
    development = ScorecardDevelopment.objects.get(policy_version__version=version)
    assert development.validated_by == risk_admin
    assert AuditEvent.objects.get(action="scorecard.validate").after["report"] == development.report_sha256
    assert development.report_sha256 in page.inner_text("[data-digest=report]")
    assert first_report == AuditEvent.objects.get(action="scorecard.validate").before["report"]
    page.wait_for_selector("[data-chart='model-iv'] .main-svg")
    assert_no_serious_axe_violations(page)

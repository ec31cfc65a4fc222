"""The scorecard pages: /models/ (the list), the validation report of one version and its JSON,
"Validate again"; who may see them; the sign-off panel on the policy version's admin page."""

import copy
import json

import pytest
from django.urls import reverse

from decisions.governance.evidence_panels import evidence_for
from modelling.models import ScorecardDevelopment
from modelling.services.development import scorecard_develop
from modelling.validation import SplitSettings, scorecard_digest
from riskops.core.models import AuditEvent
from tests.decisions.policy_factories import active_version, edited_draft, stricter_body
from tests.modelling.book_factories import modelling_book

pytestmark = pytest.mark.django_db


@pytest.fixture
def fitted(risk_admin):
    modelling_book(customers=400, dates=4)
    return scorecard_develop(actor=risk_admin, split=SplitSettings(oot_months=1))


def _steeper_bureau(body: dict) -> dict:
    body = copy.deepcopy(body)
    for b in body["scorecard"]["features"]["bureau_score"]["bins"]:
        b["points"] *= 2
    return body


def _urls(version: int) -> list[str]:
    return [
        reverse("modelling:index"),
        reverse("modelling:report", args=[version]),
        reverse("modelling:report-json", args=[version]),
    ]


def test_the_urls_are_where_the_docs_say():
    assert reverse("modelling:index") == "/models/"
    assert reverse("modelling:report", args=[7]) == "/models/policies/7/report/"
    assert reverse("modelling:report-json", args=[7]) == "/models/policies/7/report.json"


@pytest.mark.parametrize("who", ["analyst", "compliance_officer"])
def test_analysts_and_compliance_are_refused(client, request, fitted, who):
    client.force_login(request.getfixturevalue(who))
    for url in _urls(fitted.version.version):
        assert client.get(url).status_code == 403, url
    response = client.post(reverse("modelling:validate", args=[fitted.version.version]))
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="scorecard.validate").exists()


def test_anonymous_visitors_go_to_the_login_page(client, fitted):
    for url in [*_urls(fitted.version.version), reverse("modelling:validate", args=[fitted.version.version])]:
        response = client.get(url) if not url.endswith("validate/") else client.post(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


def test_the_index_lists_each_scorecard_with_its_figures_and_the_drafts_waiting_for_a_report(client, risk_admin, fitted):
    hand = edited_draft(actor=risk_admin, body=_steeper_bureau(active_version().body))
    limits_only = edited_draft(actor=risk_admin, body=stricter_body(active_version().body))
    client.force_login(risk_admin)
    response = client.get(reverse("modelling:index"))
    assert response.status_code == 200
    page = response.content.decode()
    report = fitted.development.report
    version = fitted.version.version
    assert reverse("modelling:report", args=[version]) in page and reverse("modelling:report-json", args=[version]) in page
    assert f"{report['parts']['test']['auc']['value']:.3f}" in page and f"{report['parts']['oot']['auc']['value']:.3f}" in page
    assert "2024-01-01 – 2024-04-01" in page and f"{fitted.development.sample_digest['rows']:,}" in page
    # The hand-edited draft waits for a report; the limits-only draft does not need one.
    assert reverse("modelling:report", args=[hand.version]) in page
    assert reverse("modelling:report", args=[limits_only.version]) not in page
    # The top bar links the page for risk admins, marked as the current one.
    assert f'href="{reverse("modelling:index")}" aria-current="page"' in page


def test_the_index_links_health_and_challenger_pages_only_when_they_exist(client, risk_admin):
    from django.urls import NoReverseMatch

    client.force_login(risk_admin)
    page = client.get(reverse("modelling:index")).content.decode()
    for name in ("modelling:health", "modelling:challenger"):
        try:
            assert reverse(name) in page
        except NoReverseMatch:
            pass  # not built yet: simply not shown (the page rendered all the same)
    assert "No scorecard has been fitted" in page


def test_the_report_page_shows_the_card_the_figures_the_charts_the_tables_and_the_digests(client, risk_admin, fitted):
    client.force_login(risk_admin)
    development = fitted.development
    report = development.report
    response = client.get(reverse("modelling:report", args=[fitted.version.version]))
    assert response.status_code == 200
    page = response.content.decode()
    # Model card
    for label in ("Data period", "Bad rate", "Definition of bad", "no scoring consent", "no recent snapshot", "Owner", "Split", "Libraries"):
        assert label in page, label
    assert "90+ days past due within 12 months" in page
    assert report["model_card"]["limitations"][0] in page
    # Ranking per part, with intervals and the champion
    for part in ("train", "test", "oot"):
        assert f'data-part="{part}"' in page
    test = report["parts"]["test"]
    assert f"{test['auc']['value']:.3f}" in page and f"{test['auc']['ci95'][0]:.3f} – {test['auc']['ci95'][1]:.3f}" in page
    assert f"{report['champion']['test']:.3f}" in page
    # Charts: ROC, KS, calibration per part, IV (figures handed over by json_script)
    for chart in ("model-roc", "model-ks", "model-calibration-test", "model-calibration-oot", "model-iv"):
        assert f'data-chart="{chart}"' in page and f'id="{chart}"' in page, chart
    figures = response.context["page"].charts
    roc = next(c for c in figures if c["id"] == "model-roc")["figure"]
    assert [t["x"] for t in roc["data"][1:]] == [report["curves"][p]["roc"]["fpr"] for p in ("train", "test", "oot")]
    # Calibration verdicts and p-values
    assert "consistent" in page and "p-value" in page
    # Binning tables for every feature, and the monotonicity check in words
    for feature in report["features"]:
        assert f'id="bins-{feature["name"]}"' in page
    assert "policy&#x27;s trend" in page or "policy's trend" in page
    # Stability levels, the diff against the active version, the digests
    assert "score PSI" in page and "level-" in page
    assert "scorecard.features." in page
    assert development.report_sha256 in page and development.sample_sha256 in page
    # A draft: "Validate again" is offered and enabled
    assert "Validate again" in page and " disabled" not in page.split("Validate again")[0].rsplit("<button", 1)[1]


def test_the_report_page_query_budget(client, risk_admin, fitted, django_assert_max_num_queries):
    client.force_login(risk_admin)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("modelling:report", args=[fitted.version.version])).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("modelling:index")).status_code == 200


def test_the_json_is_the_stored_report_with_its_digests(client, risk_admin, fitted):
    client.force_login(risk_admin)
    response = client.get(reverse("modelling:report-json", args=[fitted.version.version]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json" and response["Cache-Control"] == "no-store"
    document = json.loads(response.content)
    development = ScorecardDevelopment.objects.get(pk=fitted.development.pk)
    assert document["report"] == development.report
    assert document["report_sha256"] == development.report_sha256
    assert document["sample_sha256"] == development.sample_sha256
    assert document["scorecard_sha256"] == document["current_scorecard_sha256"] == scorecard_digest(fitted.version.body)


def test_the_json_of_a_version_without_a_report_is_404(client, risk_admin):
    client.force_login(risk_admin)
    assert client.get(reverse("modelling:report-json", args=[1])).status_code == 404
    assert client.get(reverse("modelling:report", args=[99])).status_code == 404


def test_validate_again_replaces_the_report_and_is_audited(client, risk_admin, fitted):
    client.force_login(risk_admin)
    version = fitted.version.version
    response = client.post(reverse("modelling:validate", args=[version]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("modelling:report", args=[version])
    development = ScorecardDevelopment.objects.get(pk=fitted.development.pk)
    assert development.validated_by == risk_admin and development.fitted  # unchanged scorecard: still as fitted
    assert f"report {development.report_sha256[:12]}" in response.content.decode()
    assert AuditEvent.objects.get(action="scorecard.validate").after["report"] == development.report_sha256
    assert client.get(reverse("modelling:validate", args=[version])).status_code == 405


def test_a_hand_edited_draft_has_an_empty_report_page_with_the_validate_button(client, risk_admin):
    modelling_book(customers=400, dates=4)
    draft = edited_draft(actor=risk_admin, body=_steeper_bureau(active_version().body))
    client.force_login(risk_admin)
    page = client.get(reverse("modelling:report", args=[draft.version])).content.decode()
    assert "No validation report yet" in page and "its activation is refused until it is validated" in page
    assert "data-chart" not in page and "plotly" not in page
    client.post(reverse("modelling:validate", args=[draft.version]))
    page = client.get(reverse("modelling:report", args=[draft.version])).content.decode()
    assert 'data-chart="model-roc"' in page and "Not fitted" in page


def test_validating_a_non_draft_is_refused_with_a_message_and_the_button_is_disabled(client, risk_admin):
    client.force_login(risk_admin)
    response = client.post(reverse("modelling:validate", args=[1]), follow=True)
    page = response.content.decode()
    assert "only a draft can be changed" in page
    assert not AuditEvent.objects.filter(action="scorecard.validate").exists()
    button = page.split('action="/models/policies/1/validate/"', 1)[1].split("</button>", 1)[0]
    assert "disabled" in button


def _admin_change(version):
    return reverse("admin:decisions_policyversion_change", args=[version.pk])


def test_the_admin_page_of_a_fitted_draft_links_its_report_with_the_headline_figures(client, risk_admin, fitted):
    client.force_login(risk_admin)
    page = client.get(_admin_change(fitted.version)).content.decode()
    report = fitted.development.report
    assert reverse("modelling:report", args=[fitted.version.version]) in page
    assert "Test AUC" in page and f"{report['parts']['test']['auc']['value']:.3f}" in page
    assert "Champion AUC" in page and f"{report['champion']['test']:.3f}" in page
    assert "PSI level" in page
    # The confirmation page of the request shows it too.
    confirm = client.get(reverse("admin:decisions_policyversion_request", args=[fitted.version.pk])).content.decode()
    assert "Test AUC" in confirm and reverse("modelling:report", args=[fitted.version.version]) in confirm


def test_the_admin_page_says_when_a_scorecard_change_has_no_report_and_says_nothing_for_limits(client, risk_admin):
    hand = edited_draft(actor=risk_admin, body=_steeper_bureau(active_version().body))
    limits_only = edited_draft(actor=risk_admin, body=stricter_body(active_version().body))
    client.force_login(risk_admin)
    page = client.get(_admin_change(hand)).content.decode()
    assert "has no validation report" in page and reverse("modelling:report", args=[hand.version]) in page
    assert evidence_for(limits_only) == []
    assert reverse("modelling:report", args=[limits_only.version]) not in client.get(_admin_change(limits_only)).content.decode()


def test_a_draft_fitted_from_a_csv_has_its_own_card_on_the_pages(client, risk_admin, tmp_path):
    """A CSV has no observation dates, definition of bad or exclusions: the card says what it has
    (the file, the target column) and leaves the rest out instead of showing empty facts."""
    import numpy as np
    import pandas as pd
    from modelling.services.csv_development import scorecard_fit_csv

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"bureau_score": rng.normal(650, 60, 800).round(), "max_dpd_12m": rng.choice([0, 0, 0, 5, 40, 100], 800)})
    frame["bad"] = (rng.random(800) < 1 / (1 + np.exp(1.5 + (frame["bureau_score"] - 650) / 50 - 0.02 * frame["max_dpd_12m"]))).astype(int)
    path = tmp_path / "book.csv"
    frame.to_csv(path, index=False)
    version = scorecard_fit_csv(path=path, target="bad", bad_value="1", draft=True, actor=risk_admin).draft.version
    client.force_login(risk_admin)
    index = client.get(reverse("modelling:index")).content.decode()
    assert "file book.csv" in index and "a CSV file" in index
    response = client.get(reverse("modelling:report", args=[version.version]))
    facts = dict(response.context["page"].card)
    assert facts["File"] == "book.csv" and facts["Definition of bad"] == "column bad equal to 1"
    assert "Data period (observation dates)" not in facts and "Excluded: no scoring consent" not in facts
    assert facts["Split"].startswith("30% of the sample held out for test")
    assert 'data-part="oot"' not in response.content.decode() and 'data-chart="model-calibration-test"' in response.content.decode()


def test_a_fit_by_a_system_job_shows_system_as_its_author(client, risk_admin):
    """`manage.py scorecard_fit` without --as records no user: the pages say "system"."""
    modelling_book(customers=400, dates=4)
    result = scorecard_develop(actor=None, split=SplitSettings(oot_months=1))
    client.force_login(risk_admin)
    for url in (reverse("modelling:index"), reverse("modelling:report", args=[result.version.version])):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "system" in response.content.decode()

"""A compliance officer, in a real browser: from a customer's consent to the decisions that used
it, exports them as CSV, and finds the export in the audit trail."""

import csv
import io

import pytest
from django.urls import reverse

from tests.factories import ConsentEventFactory, ConsentFactory, CreditDecisionFactory, CustomerFactory, ScoreSnapshotFactory

from .helpers import assert_no_serious_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_consent_to_decisions_to_csv_to_audit_trail(page, live_server, login, compliance_officer):
    # Given a customer whose credit_scoring consent was used by a snapshot and two decisions
    customer = CustomerFactory()
    consent = ConsentFactory(customer=customer)
    ConsentEventFactory(consent=consent)
    snapshot = ScoreSnapshotFactory(customer=customer, consents_used=[consent])
    decisions = [
        CreditDecisionFactory(customer=customer, snapshot=snapshot, policy_version=snapshot.policy_version),
        CreditDecisionFactory(customer=customer, snapshot=snapshot, policy_version=snapshot.policy_version, access="limited"),
    ]
    CreditDecisionFactory()  # another customer's, which did not use it

    # When the officer opens the customer's consents and follows the consent
    login(page, live_server, compliance_officer)
    page.goto(live_server.url + reverse("compliance:customer-consents", args=[customer.external_id]))
    with page.expect_navigation():
        page.click(f"a[href='{reverse('compliance:consent', args=[consent.pk])}']")
    # then the consent page lists the decisions that used it
    for decision in decisions:
        assert page.locator(f"[data-decision='{decision.pk}']").count() == 1

    # When they export those decisions as CSV from there
    export_link = page.locator("a[href*='exports/decisions.csv']").first
    assert f"consent={consent.pk}" in export_link.get_attribute("href")
    with page.expect_download() as download_info:
        export_link.click()
    download = download_info.value
    body = open(download.path(), encoding="utf-8-sig").read()
    rows = list(csv.DictReader(io.StringIO(body)))
    # then the file holds exactly those decisions, with their provenance
    assert sorted(int(r["decision_id"]) for r in rows) == sorted(d.pk for d in decisions)
    assert {r["consents_used"] for r in rows} == {f"{consent.pk}:credit_scoring"}

    # When they open the audit trail filtered on exports
    page.goto(live_server.url + reverse("compliance:audit") + "?action=export.csv")
    # then the export is there, by them, and its page shows the filter and the row count
    row = page.locator("table.audit-events tbody tr").first
    assert "export:decisions" in row.inner_text() and compliance_officer.username in row.inner_text()
    assert_no_serious_axe_violations(page)
    with page.expect_navigation():
        row.locator("a").first.click()
    assert page.locator("[data-path='filters.consent']").inner_text().count(str(consent.pk)) == 1
    assert page.locator("[data-path='rows'] td").last.inner_text() == "2"
    assert page.locator("[data-path='complete'] td").last.inner_text() == "true"
    assert_no_serious_axe_violations(page)


def test_report_lookup_from_the_index_and_the_report_pass_axe(page, live_server, login, compliance_officer):
    # Given a customer with a consent and a decision
    consent = ConsentFactory()
    CreditDecisionFactory(customer=consent.customer)
    login(page, live_server, compliance_officer)
    # when the officer asks for the customer's report from the compliance landing page
    page.goto(live_server.url + reverse("compliance:index"))
    assert_no_serious_axe_violations(page)
    page.fill("#report-customer", consent.customer.external_id)
    with page.expect_navigation():
        page.click("form[action$='/reports/subject/'] button[type=submit]")
    # then the printable report opens, identity in full for compliance (audited), with its sections
    assert page.url.endswith(reverse("compliance:subject-report", args=[consent.customer.external_id]))
    assert page.locator("[data-section='decisions']").get_attribute("data-total") == "1"
    assert page.locator("[data-pii='national_id']").inner_text() == consent.customer.national_id
    assert_no_serious_axe_violations(page)
    # and printed ("Save as PDF"): no navigation or buttons on the paper, tables within the page
    page.emulate_media(media="print")
    assert not page.locator(".report-actions").is_visible() and not page.locator(".breadcrumbs").is_visible()
    page_width = page.evaluate("document.querySelector('.report').getBoundingClientRect().width")
    widest = page.evaluate("Math.max(...[...document.querySelectorAll('.report table')].map(t => t.getBoundingClientRect().width))")
    assert widest <= page_width + 1
    assert_no_serious_axe_violations(page)

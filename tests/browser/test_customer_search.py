"""The header's customer search in a real browser: a compliance officer finds an unflagged
customer by part of its id (a results page), then one by phone digits (straight to the profile);
axe is clean on the results page."""

import pytest
from django.urls import reverse

from tests.factories import CreditLineFactory, CustomerFactory

from .helpers import assert_no_serious_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_compliance_finds_any_customer_from_the_header(page, live_server, login, compliance_officer):
    CreditLineFactory(customer=CustomerFactory(external_id="FIND-100", phone="+15550000111"))
    CreditLineFactory(customer=CustomerFactory(external_id="find-200", phone="+15550000987"))
    login(page, live_server, compliance_officer, next_url=reverse("decisions:overview"))

    page.fill("#top-q", "find")
    with page.expect_navigation():
        page.get_by_role("button", name="Find", exact=True).click()
    rows = page.locator("table[data-search-results] tbody tr").evaluate_all("rows => rows.map(r => r.dataset.customer)")
    assert rows == ["FIND-100", "find-200"]
    assert "+15550000987" not in page.content()
    assert_no_serious_axe_violations(page)

    page.fill("#top-q", "987")
    with page.expect_navigation():
        page.press("#top-q", "Enter")
    assert page.url.endswith(reverse("decisions:customer", kwargs={"external_id": "find-200"}))

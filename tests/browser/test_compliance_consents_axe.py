"""The consents, disclosures and notices pages in a real browser, as a compliance officer: they
render, the charts draw (no inline script under the strict CSP), and axe-core finds no serious
or critical violation. In Chinese too."""

import pytest
from django.urls import reverse

from accounts.events import consent_withdraw
from accounts.models import Consent, Customer
from decisions.models import CustomerNotice
from decisions.engine.services.recompute import decision_recompute
from tests.decisions.scenarios import make_customer
from tests.factories import DisclosureFactory

from .helpers import assert_no_serious_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def book(db):
    DisclosureFactory(kind="risk_disclosure", version=1)
    good = make_customer()
    suspended = make_customer(overdue_days=35)
    Customer.objects.filter(pk=suspended.pk).update(language="zh-hans")
    for c in (good, suspended):
        decision_recompute(customer=c, trigger="manual")
    consent = Consent.objects.get(customer=good, purpose="bureau_query")
    consent_withdraw(consent=consent)
    return {"good": good, "suspended": suspended, "withdrawn": consent}


def test_compliance_pages_are_accessible_and_draw_their_charts(page, live_server, login, compliance_officer, book):
    login(page, live_server, compliance_officer)

    page.goto(live_server.url + reverse("compliance:index"))
    page.wait_for_selector("[data-chart='chart-consent-coverage'] .main-svg")
    page.wait_for_selector("[data-chart='chart-consent-weekly'] .main-svg")
    assert_no_serious_axe_violations(page)

    # from the list to a customer's ledger to a withdrawn consent and its proof
    page.goto(live_server.url + reverse("compliance:consents") + "?state=withdrawn")
    with page.expect_navigation():
        page.click(f"a[href='{reverse('compliance:consent', args=[book['withdrawn'].pk])}']")
    assert page.locator("[data-proof='holds']").count() == 1
    assert_no_serious_axe_violations(page)

    for url in (
        reverse("compliance:consents"),
        reverse("compliance:customer-consents", args=[book["good"].external_id]),
        reverse("compliance:disclosures"),
        reverse("compliance:notices"),
        reverse("decisions:customer", args=[book["suspended"].external_id]),
    ):
        page.goto(live_server.url + url)
        assert_no_serious_axe_violations(page)


def test_the_notice_list_in_chinese(page, live_server, login, compliance_officer, book):
    login(page, live_server, compliance_officer)
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    page.goto(live_server.url + reverse("compliance:notices"))
    notice = CustomerNotice.objects.get(customer=book["suspended"])
    assert page.locator("h1").inner_text() == "客户通知"
    assert notice.reasons[0]["text"] in page.locator(f"[data-notice='{notice.pk}']").inner_text()
    assert_no_serious_axe_violations(page)

"""The queue's select-all and bulk dismiss in a real browser; axe is clean with the bulk form."""

import pytest
from django.urls import reverse

from decisions.models import RiskAlert
from tests.factories import CreditLineFactory, RiskAlertFactory

from .helpers import assert_no_serious_axe_violations
from .test_queue import ensure_active_policy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_analyst_selects_all_and_dismisses_with_one_note(page, live_server, login, analyst):
    ensure_active_policy()
    alerts = [RiskAlertFactory(customer=CreditLineFactory(customer__external_id=f"SEL-{n}").customer) for n in range(2)]
    login(page, live_server, analyst, next_url=reverse("decisions:queue"))
    assert_no_serious_axe_violations(page)

    page.check("[data-select-all]")
    assert page.locator("[data-select-row]:checked").count() == 2
    page.uncheck("[data-select-row] >> nth=0")
    assert page.locator("[data-select-all]").evaluate("box => box.indeterminate") is True
    page.check("[data-select-all]")

    page.fill("#bulk-note", "same false positive")
    with page.expect_navigation():
        page.click("[data-bulk-dismiss]")
    assert "2 accounts dismissed." in page.content()
    assert set(RiskAlert.objects.filter(pk__in=[a.pk for a in alerts]).values_list("status", flat=True)) == {"dismissed"}

"""The risk profile shows a customer's outcomes to analysts and risk admins, through the panel
`modelling` registers (decisions never imports modelling)."""

from datetime import date

import pytest
from django.urls import reverse

from tests.factories import CreditLineFactory

from .factories import OutcomeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    customer = CreditLineFactory().customer
    OutcomeFactory(customer=customer, observation_date=date(2024, 1, 1), worst_dpd=3)
    OutcomeFactory(customer=customer, observation_date=date(2024, 2, 1), worst_dpd=97)
    OutcomeFactory(customer=customer, observation_date=date(2025, 11, 1), as_of=date(2025, 12, 6), worst_dpd=0)
    return customer


def _page(client, customer) -> str:
    response = client.get(reverse("decisions:customer", args=[customer.external_id]))
    assert response.status_code == 200
    return response.content.decode()


def test_analysts_see_good_bad_and_open_outcomes_newest_first(analyst_client, customer):
    html = _page(analyst_client, customer)
    section = html[html.index('id="h-outcomes"') :]
    assert section.index("2025-11-01") < section.index("2024-02-01") < section.index("2024-01-01")
    assert "Bad" in section and "Good" in section and "Open until 2026-11-01" in section
    assert "90+ days past due within 12 months · policy v1" in section


def test_a_risk_admin_sees_them_too(client, risk_admin, customer):
    client.force_login(risk_admin)
    assert 'id="h-outcomes"' in _page(client, customer)


def test_compliance_does_not(client, compliance_officer, customer):
    client.force_login(compliance_officer)
    html = _page(client, customer)
    assert 'id="h-outcomes"' not in html
    assert 'id="h-draw-denials"' in html  # the draws panel is for every staff role


def test_no_outcome_yet_says_how_they_come(analyst_client):
    customer = CreditLineFactory().customer
    assert "No outcome yet" in _page(analyst_client, customer)

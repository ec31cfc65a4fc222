"""Reads: the effective decision, history (cursor-paginated), open alerts; staff sessions read too."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from decisions.models import CustomerNotice
from tests.factories import (
    CreditDecisionFactory, CreditLineFactory, CustomerFactory, OverrideFactory, RepaymentInstallmentFactory, RiskAlertFactory,
    DisclosureFactory, TransactionFactory, UserFactory,
)

from .factories import api_client_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    return CustomerFactory(external_id="C-1")


def test_effective_decision_with_drawn_balance_override_and_notice(get, customer, risk_admin, analyst):
    decision = CreditDecisionFactory(customer=customer, limit_amount=Decimal("500.00"),
                                     reasons=[{"code": "SCORE_BAND", "text": "Band B"}])
    CreditLineFactory(customer=customer, limit_amount=Decimal("500.00"), last_decision=decision, band="B", score=701)
    draw = TransactionFactory(credit_draw=True, customer=customer, occurred_at=timezone.now() - timedelta(days=3))
    RepaymentInstallmentFactory(draw=draw, amount_due=Decimal("100.00"), amount_paid=Decimal("30.00"))
    RepaymentInstallmentFactory(draw=draw, paid=True)  # paid: not drawn any more
    override = OverrideFactory(customer=customer, state="approved", requested_by=analyst, decided_by=risk_admin,
                               decided_at=timezone.now())
    notice = CustomerNotice.objects.create(customer=customer, decision=decision, kind="limited", language="en",
                                           reasons=[{"code": "X", "text": "Because."}], review_text="Call us.",
                                           created_at=timezone.now())
    response = get("/api/v1/customers/C-1/decision")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["access"] == "open" and body["limit"] == "500.00"
    assert body["drawn"] == "70.00" and body["available"] == "430.00"
    assert body["band"] == "B" and body["score"] == 701
    assert body["reasons"][0]["code"] == "SCORE_BAND" and body["reasons"][0]["text"]
    assert body["override"]["id"] == override.pk and body["override"]["until"]
    assert body["model"] == {"access": "open", "limit": "500.00"}
    assert body["notice"]["id"] == notice.pk and body["notice"]["review_text"] == "Call us."
    assert body["notice"]["decision"] == decision.pk and body["notice"]["risk_disclosure_version"] is None


def test_the_notice_is_the_one_of_the_decision_in_force_and_history_carries_each(get, customer):
    # given an adverse decision with its notice, then a later decision (in force) that had none
    risk = DisclosureFactory(kind="risk_disclosure", version=4)
    cut = CreditDecisionFactory(customer=customer, decided_at=timezone.now() - timedelta(days=2))
    CustomerNotice.objects.create(customer=customer, decision=cut, kind="limit_cut", language="zh-hans", disclosure=risk,
                                  reasons=[{"code": "X", "text": "因为。"}], review_text="致电我们。", created_at=cut.decided_at)
    reopened = CreditDecisionFactory(customer=customer, decided_at=timezone.now() - timedelta(days=1))
    line = CreditLineFactory(customer=customer, last_decision=reopened)

    # then the decision read carries no notice: the one on record explains an older decision
    assert get("/api/v1/customers/C-1/decision").json()["notice"] is None
    # and the history carries each decision's own notice, with the risk disclosure in force
    history = {d["id"]: d["notice"] for d in get("/api/v1/customers/C-1/decisions/").json()["results"]}
    assert history[reopened.pk] is None
    assert (history[cut.pk]["decision"], history[cut.pk]["risk_disclosure_version"], history[cut.pk]["language"]) == (cut.pk, 4, "zh-hans")
    # when the cut is the decision in force, its notice is the decision's
    line.last_decision = cut
    line.save(update_fields=["last_decision"])
    assert get("/api/v1/customers/C-1/decision").json()["notice"]["decision"] == cut.pk


def test_decision_never_computed_is_not_offered(get, customer):
    body = get("/api/v1/customers/C-1/decision").json()
    assert body["access"] == "not_offered" and body["available"] == "0.00" and body["override"] is None


def test_suspended_line_has_nothing_available(get, customer):
    CreditLineFactory(customer=customer, suspended=True)
    assert get("/api/v1/customers/C-1/decision").json()["available"] == "0.00"


def test_unknown_customer_is_404(get):
    response = get("/api/v1/customers/nobody/decision")
    assert response.status_code == 404 and response.json()["field"] == "customer"
    assert get("/api/v1/customers/nobody/decisions/").status_code == 404


def test_history_is_cursor_paginated(service, customer):
    http, auth, _ = service
    made = [CreditDecisionFactory(customer=customer, decided_at=timezone.now() - timedelta(days=i)) for i in range(7)]
    CreditDecisionFactory()  # someone else's
    first = http.get("/api/v1/customers/C-1/decisions/", {"page_size": 3}, **auth).json()
    assert [d["id"] for d in first["results"]] == sorted((d.pk for d in made), reverse=True)[:3]
    assert first["previous"] is None and "cursor=" in first["next"]
    seen = [d["id"] for d in first["results"]]
    url = first["next"]
    while url:
        page = http.get(url, **auth).json()
        seen += [d["id"] for d in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(d.pk for d in made)  # every decision once, none of the other customer's


def test_open_alerts_only_and_filter(get, customer):
    open_alert = RiskAlertFactory(customer=customer)
    RiskAlertFactory(customer=customer, rule="SPENDING_SPIKE", in_review=True)
    RiskAlertFactory(customer=customer, rule="OVERDUE_30", dismissed=True)
    other = RiskAlertFactory()
    body = get("/api/v1/alerts/").json()
    assert {a["status"] for a in body["results"]} == {"open", "in_review"}
    assert len(body["results"]) == 3
    mine = get("/api/v1/alerts/", customer="C-1").json()["results"]
    assert {a["customer"] for a in mine} == {"C-1"} and len(mine) == 2
    assert open_alert.pk in [a["id"] for a in mine] and other.pk not in [a["id"] for a in mine]
    assert get("/api/v1/alerts/", customer="nobody").status_code == 404


def test_staff_session_reads(client, analyst, customer):
    client.force_login(analyst)
    assert client.get("/api/v1/customers/C-1/decision").status_code == 200
    assert client.get("/api/v1/alerts/").status_code == 200


def test_staff_session_cannot_write(client, risk_admin, customer):
    client.force_login(risk_admin)
    response = client.post("/api/v1/transactions/", data={}, content_type="application/json")
    assert response.status_code == 403


def test_scopes_are_enforced_per_endpoint(customer):
    _, auth = api_client_with(scopes=["events:write"])
    http = Client()
    assert http.get("/api/v1/customers/C-1/decision", **auth).status_code == 403
    assert http.get("/api/v1/alerts/", **auth).status_code == 403
    assert http.post("/api/v1/consents/", data={}, content_type="application/json", **auth).status_code == 403
    assert http.post("/api/v1/draw-checks/", data={}, content_type="application/json", **auth).status_code == 403
    _, read = api_client_with(scopes=["decisions:read"])
    assert http.get("/api/v1/customers/C-1/decision", **read).status_code == 200
    assert http.get("/api/v1/alerts/", **read).status_code == 403
    response = http.post("/api/v1/transactions/", data={}, content_type="application/json", **read)
    assert response.status_code == 403 and "events:write" in response.json()["message"]


def test_anonymous_is_401(customer):
    response = Client().get("/api/v1/customers/C-1/decision")
    assert response.status_code == 401 and response.json()["field"] == "Authorization"


def test_decision_query_budget(get, customer, django_assert_max_num_queries):
    decision = CreditDecisionFactory(customer=customer)
    CreditLineFactory(customer=customer, last_decision=decision)
    # token+client, last_used update, customer, line (+decision, snapshot joined), drawn, override, notice
    with django_assert_max_num_queries(8):
        assert get("/api/v1/customers/C-1/decision").status_code == 200


def test_alert_list_query_budget(get, django_assert_max_num_queries):
    for _ in range(30):
        RiskAlertFactory()
    # token+client, last_used update, the page (customer joined)
    with django_assert_max_num_queries(4):
        assert len(get("/api/v1/alerts/").json()["results"]) == 30

"""The risk profile `/customers/<external_id>/`: what the engine decided about one customer and why."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from decisions.presentation import charts
from decisions.presentation.palette import ACCESS_COLOURS, BAND_COLOURS, PLOTLY_CONFIG
from decisions.casework.profile_selectors import PAGE, customer_profile
from tests.factories import (
    CaseNoteFactory,
    ConsentFactory,
    CreditDecisionFactory,
    CreditLineFactory,
    CustomerFactory,
    DisclosureAcknowledgementFactory,
    OverrideFactory,
    RepaymentInstallmentFactory,
    RiskAlertFactory,
    ScoreSnapshotFactory,
    TransactionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    # LocaleMiddleware leaves the request's language active in the thread; start each test in
    # English and leave no Chinese behind for the next one.
    with translation.override("en"):
        yield


def _url(customer) -> str:
    return reverse("decisions:customer", kwargs={"external_id": customer.external_id})


def _figure(content: bytes, chart_id: str) -> dict:
    html = content.decode()
    tag = f'<script id="{chart_id}" type="application/json">'
    start = html.index(tag) + len(tag)
    return json.loads(html[start : html.index("</script>", start)])


def scored_customer(*, history: int = 1):
    """A customer with every consent, `history` rows of each kind of history, and a line."""
    now = timezone.now()
    customer = CustomerFactory(national_id="110101199001011234", phone="13812345678")
    consents = [ConsentFactory(customer=customer, purpose=p) for p in ("credit_scoring", "transaction_analysis", "bureau_query")]
    DisclosureAcknowledgementFactory(customer=customer)
    snapshot = None
    for n in range(history):
        snapshot = ScoreSnapshotFactory(
            customer=customer, computed_at=now - timedelta(days=history - n), score=640 + n % 40, band="B",
            reason_codes=[{"code": "HIGH_UTILISATION", "text": "You are using most of your credit limit.", "points_lost": 20}],
            consents_used=consents[:2],
        )
        CreditDecisionFactory(
            customer=customer, snapshot=snapshot, decided_at=now - timedelta(days=history - n),
            limit_amount=Decimal("500.00") + n, previous_limit=Decimal("500.00") + n - 1 if n else None,
            reasons=[{"code": "BAND", "text": "Score 650, band B.", "score": 650, "band": "B"}],
        )
        TransactionFactory(customer=customer, income=True, occurred_at=now - timedelta(days=n % 300))
        TransactionFactory(customer=customer, occurred_at=now - timedelta(days=n % 300))
        RepaymentInstallmentFactory(draw__customer=customer, draw__occurred_at=now - timedelta(days=60 + n), sequence=1)
        CaseNoteFactory(customer=customer, body=f"note {n}")
        RiskAlertFactory(customer=customer, rule="SPENDING_SPIKE", dismissed=True, raised_at=now - timedelta(days=n + 1),
                         evidence={"spend_7d": "900.00", "avg_monthly_spend_3m": "250.00", "spike_ratio": "3.6", "min_spike_ratio": "3"})
    RiskAlertFactory(customer=customer, rule="OVER_BORROWING", severity=3,
                     evidence={"external_lenders": 6, "max_external_lenders": 4, "debt_to_income": "3.4", "max_debt_to_income": "3"})
    CreditLineFactory(customer=customer, access="open", limit_amount=Decimal("500.00") + history - 1, score=snapshot.score, band="B", last_snapshot=snapshot)
    return customer


def test_profile_shows_masked_identity_access_score_and_reasons(analyst_client):
    customer = scored_customer()
    response = analyst_client.get(_url(customer))
    assert response.status_code == 200
    html = response.content.decode()
    assert customer.national_id not in html and customer.phone not in html
    assert customer.national_id_masked in html and customer.phone_masked in html
    assert "Most of the credit limit is in use." in html and "HIGH_UTILISATION" in html  # text + code
    assert "Score 650, band B." in html and "<code>BAND</code>" in html
    assert "6 lenders with open credit (the limit is 4)." in html  # evidence against the threshold
    assert "Spent ¥900.00 in 7 days" in html
    assert "¥500.00" in html  # the limit, with the currency and two decimals
    assert "policy v" in html and "transactions" in html  # provenance
    for chart_id in ("chart-score-history", "chart-cash-flow", "chart-dpd", "chart-limit-history"):
        assert f'data-chart="{chart_id}"' in html
    assert "Queue" in html or "breadcrumbs" in html


def test_drawn_and_available_follow_the_unpaid_installments():
    customer = scored_customer()
    # One 100.00 installment unpaid from the fixture; the limit is 500.00.
    profile = customer_profile(external_id=customer.external_id)
    assert profile.drawn == "¥100.00"
    assert profile.available == "¥400.00"


def test_profile_figures_carry_data_and_palette():
    customer = scored_customer(history=3)
    figures = {c["id"]: c for c in customer_profile(external_id=customer.external_id).charts}
    score = figures["chart-score-history"]["figure"]
    assert score["config"] == PLOTLY_CONFIG
    assert score["data"][0]["y"] == [640, 641, 642]
    assert score["data"][0]["marker"]["color"] == [BAND_COLOURS["B"]] * 3
    limit = figures["chart-limit-history"]["figure"]
    assert limit["data"][0]["line"]["shape"] == "hv"  # a step: the limit holds until the next decision
    assert limit["data"][1]["marker"]["color"] == [ACCESS_COLOURS["open"]] * 3
    assert limit["layout"]["yaxis"]["title"]["text"] == "Limit (¥)"
    cash = figures["chart-cash-flow"]["figure"]
    assert [t["name"] for t in cash["data"]] == ["Income", "Spend", "Repayments"]
    assert sum(v for v in cash["data"][0]["y"]) == 4500.0
    assert cash["data"][0]["marker"]["color"] == charts.INCOME_COLOUR
    dpd = figures["chart-dpd"]["figure"]
    assert len(dpd["data"][0]["y"]) == 3


def test_never_scored_customer_renders_and_says_why(analyst_client):
    customer = CustomerFactory()
    response = analyst_client.get(_url(customer))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Never scored" in html
    assert "No consent on file" in html
    assert 'data-chart="chart-score-history"' not in html
    assert 'data-chart="chart-cash-flow"' not in html and "No transaction-analysis consent" in html
    assert "No decision yet" in html


def test_customer_without_consent_renders_without_data_charts(analyst_client):
    customer = CustomerFactory()
    ConsentFactory(customer=customer, withdrawn=True)
    snapshot = ScoreSnapshotFactory(customer=customer, unscored=True)
    CreditDecisionFactory(customer=customer, access="not_offered", snapshot=snapshot,
                          reasons=[{"code": "NO_CONSENT", "text": "No credit-scoring consent: no data was read and no score computed."}])
    CreditLineFactory(customer=customer, not_offered=True, last_snapshot=snapshot)
    TransactionFactory(customer=customer)  # there is data, but no consent to read it
    response = analyst_client.get(_url(customer))
    assert response.status_code == 200
    html = response.content.decode()
    assert "No credit-scoring consent: repayment history is not read" in html
    assert 'data-chart="chart-cash-flow"' not in html and 'data-chart="chart-dpd"' not in html
    assert "<code>NO_CONSENT</code>" in html
    assert 'data-chart="chart-limit-history"' in html  # the lender's own decisions are always shown


def test_unknown_customer_is_a_framed_404(analyst_client):
    response = analyst_client.get(reverse("decisions:customer", kwargs={"external_id": "NOPE"}))
    assert response.status_code == 404
    assert b'class="topbar"' in response.content  # the app's frame, not a bare error or a trace
    assert b"Traceback" not in response.content


def test_override_in_force_is_shown(analyst_client):
    customer = scored_customer()
    OverrideFactory(customer=customer, approved=True)
    assert "In force:" in analyst_client.get(_url(customer)).content.decode()


def test_long_lists_are_capped_with_show_more(analyst_client):
    customer = scored_customer(history=PAGE + 5)
    html = analyst_client.get(_url(customer)).content.decode()
    assert "Show more notes" in html and "Show more decisions" in html and "Show more alerts" in html
    assert "note 0<" not in html  # the oldest note is beyond the first page
    html = analyst_client.get(_url(customer) + "?notes=40").content.decode()
    assert "note 0<" in html and "Show more notes" not in html


@pytest.mark.parametrize("role,acts", [("analyst", True), ("risk_admin", True), ("compliance", False)])
def test_action_controls_by_role(client, make_user, role, acts):
    # Given a customer with an open alert; when each role opens the profile
    customer = scored_customer()
    client.force_login(make_user("u", role))
    response = client.get(_url(customer))
    assert response.status_code == 200
    html = response.content.decode()
    # then only analysts and risk admins see the recompute button, the note form and the alert actions
    recompute = reverse("decisions:customer-recompute", kwargs={"external_id": customer.external_id})
    note = reverse("decisions:note-add", kwargs={"external_id": customer.external_id})
    assert (f'action="{recompute}"' in html) is acts
    assert (f'action="{note}"' in html) is acts
    assert ("data-alert-actions" in html) is acts
    assert ("Dismiss: false positive" in html) is acts


def test_no_role_is_refused_and_anonymous_goes_to_login(client, make_user):
    customer = CustomerFactory()
    assert client.get(_url(customer)).url.startswith(reverse("login"))
    client.force_login(make_user("nobody"))
    assert client.get(_url(customer)).status_code == 403


@pytest.mark.parametrize("history", [1, 40])
def test_profile_query_budget(analyst_client, django_assert_max_num_queries, history):
    customer = scored_customer(history=history)
    OverrideFactory(customer=customer, approved=True)
    # 1 session, 2 user, 3 groups (roles); then the profile (decisions/casework/profile_selectors.py):
    # 4 customer + line + last snapshot + policy, 5 override in force, 6 consents, 7 acknowledgements,
    # 8 score history, 9 last snapshot's consents, 10 monthly cash flow (GROUP BY), 11 installments,
    # 12 drawn balance (aggregate), 13 limit history, 14 decision page, 15 their snapshots' consents
    # (prefetch), 16 alerts page, 17 notes page, 18 active policy (overdue thresholds), 19 its body
    # (parsed once per process, so only on a cold cache), 20 active policy again for the dismiss
    # form's suppression bounds (only for roles that act), 21 the overrides panel's rows
    # (decisions/governance/override_selectors.py), 22 active policy for the override form's bounds (roles that request),
    # 23 denied draw checks (draws panel), 24 customer notices (notices panel)
    with django_assert_max_num_queries(24):
        assert analyst_client.get(_url(customer)).status_code == 200


def test_profile_in_chinese_shows_translated_reasons_with_the_code(analyst_client):
    # Given a scored customer; when the analyst reads the profile in Simplified Chinese
    customer = scored_customer()
    analyst_client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    html = analyst_client.get(_url(customer)).content.decode()
    # then the reason and the rule read in Chinese, the codes stay visible, the English record is not shown
    assert "信用额度大部分已被使用。" in html and "<code>HIGH_UTILISATION</code>" in html
    assert "过度借贷" in html and "<code>OVER_BORROWING</code>" in html
    assert "You are using most of your credit limit." not in html


def test_limit_history_marks_the_alerts_raised_since_the_first_decision():
    # Given a customer whose open alert was raised after the first decision
    customer = scored_customer(history=2)
    figure = {c["id"]: c for c in customer_profile(external_id=customer.external_id).charts}["chart-limit-history"]["figure"]
    alerts = next(t for t in figure["data"] if t["name"] == "Alerts")
    # then each alert is a triangle on the axis in its severity's colour
    from decisions.presentation.palette import SEVERITY_COLOURS

    assert alerts["marker"]["symbol"] == "triangle-up"
    assert set(alerts["marker"]["color"]) <= set(SEVERITY_COLOURS.values())
    assert len(alerts["x"]) == 3  # the open over-borrowing alert and the two dismissed spikes, none before the first decision

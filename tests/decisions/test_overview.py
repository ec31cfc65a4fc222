"""The overview `/`: KPIs and book-wide charts from the daily aggregates, never a scan per view."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from decisions.casework.overview_selectors import book_overview, open_alert_counts
from decisions.presentation.palette import ACCESS_COLOURS, BAND_COLOURS, PLOTLY_CONFIG
from decisions.casework.services.book_stats import book_stats_refresh, utc_today
from tests.factories import (
    CreditDecisionFactory,
    CreditLineFactory,
    RecomputeRunFactory,
    RiskAlertFactory,
    TransactionFactory,
)

pytestmark = pytest.mark.django_db
URL = "decisions:overview"


@pytest.fixture(autouse=True)
def _english():
    # Labels are translated when a figure is built; a request in another language earlier in the
    # same thread must not leak into these assertions.
    with translation.override("en"):
        yield


@pytest.fixture
def book():
    # Alerts 5 hours old lie on yesterday between 00:00 and 05:00 UTC: every day the book's
    # events touch is refreshed, as the hourly task does (today and yesterday).
    now = timezone.now()
    lines = [
        CreditLineFactory(access="open", limit_amount=Decimal("1200.00"), score=705, band="A"),
        CreditLineFactory(access="open", limit_amount=Decimal("300.00"), score=690, band="A"),
        CreditLineFactory(access="limited", limit_amount=Decimal("250.00"), score=560, band="D"),
        CreditLineFactory(closed=True, score=500, band="E"),
    ]
    RiskAlertFactory(customer=lines[0].customer, rule="OVER_BORROWING", raised_at=now)
    RiskAlertFactory(customer=lines[3].customer, rule="OVERDUE_90", close=True, raised_at=now - timedelta(hours=5))
    CreditDecisionFactory(customer=lines[0].customer, decided_at=now, limit_amount=Decimal("1200.00"), previous_limit=Decimal("1000.00"))
    book_stats_refresh(day=utc_today() - timedelta(days=1))
    book_stats_refresh(day=utc_today())
    return lines


def _figure(content: bytes, chart_id: str) -> dict:
    html = content.decode()
    start = html.index(f'<script id="{chart_id}" type="application/json">') + len(f'<script id="{chart_id}" type="application/json">')
    return json.loads(html[start : html.index("</script>", start)])


def test_selector_reads_kpis_from_the_latest_daily_row(book):
    overview = book_overview()
    counts = {c["access"]: c["count"] for c in overview.customers}
    assert counts == {"open": 2, "limited": 1, "suspended": 0, "closed": 1, "not_offered": 0}
    assert overview.customers_total == 4
    assert overview.exposure == "¥1,750.00"
    assert overview.drawn == "¥0.00"
    assert overview.as_of == utc_today()


def test_open_alerts_by_severity_and_past_sla():
    # Given a severity-5 alert 5 h old (SLA 4 h) and a severity-3 alert 1 h old (SLA 24 h)
    now = timezone.now()
    RiskAlertFactory(severity=5, raised_at=now - timedelta(hours=5))
    RiskAlertFactory(severity=3, raised_at=now - timedelta(hours=1))
    RiskAlertFactory(severity=3, dismissed=True, raised_at=now - timedelta(days=5))  # closed: not counted
    counts = open_alert_counts(now=now)
    by = {row["severity"]: row for row in counts.by_severity}
    assert counts.total == 2 and counts.past_sla == 1
    assert by[5]["open"] == 1 and by[5]["past_sla"] == 1 and by[5]["sla_hours"] == 4
    assert by[3]["open"] == 1 and by[3]["past_sla"] == 0


@pytest.mark.clock
def test_figures_carry_data_and_the_palette(book):
    charts = {c["id"]: c for c in book_overview().charts}
    score = charts["chart-score-distribution"]["figure"]
    assert score["config"] == PLOTLY_CONFIG
    by_name = {t["name"]: t for t in score["data"]}
    assert by_name["Band A"]["marker"]["color"] == BAND_COLOURS["A"]
    assert sum(by_name["Band A"]["y"]) == 2
    assert score["layout"]["xaxis"]["title"]["text"] == "Score (points)"
    mix = charts["chart-access-mix"]["figure"]
    assert {t["name"]: t["line"]["color"] for t in mix["data"]}["Open"] == ACCESS_COLOURS["open"]
    assert [t["y"][-1] for t in mix["data"] if t["name"] == "Open"] == [2]
    alerts = charts["chart-alerts-per-rule"]["figure"]
    assert {t["name"] for t in alerts["data"]} == {"Over-borrowing", "Overdue 90+ days"}
    limits = charts["chart-limit-changes"]["figure"]
    assert sum(limits["data"][0]["y"]) == 1 and sum(limits["data"][1]["y"]) == 0
    assert all(c["caption"] for c in charts.values())


def test_page_shows_kpis_and_charts(analyst_client, book):
    RecomputeRunFactory(succeeded=True, total_customers=4, done_customers=4)
    response = analyst_client.get(reverse(URL))
    assert response.status_code == 200
    html = response.content.decode()
    assert "¥1,750.00" in html
    assert 'data-chart="chart-score-distribution"' in html
    assert "plotly/plotly.min.js" in html and "js/charts.js" in html
    assert "Succeeded" in html
    assert _figure(response.content, "chart-access-mix")["data"]


def test_empty_book_says_why_instead_of_drawing(analyst_client):
    response = analyst_client.get(reverse(URL))
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-chart=" not in html
    assert "No book figures yet" in html
    assert "No recompute has run yet." in html


def test_overview_never_reads_transactions_or_the_book(analyst_client, book):
    TransactionFactory.create_batch(3)
    with CaptureQueriesContext(connection) as queries:
        assert analyst_client.get(reverse(URL)).status_code == 200
    sql = " ".join(q["sql"] for q in queries.captured_queries).lower()
    for table in ("accounts_transaction", "decisions_creditline", "accounts_repaymentinstallment", "decisions_creditdecision"):
        assert table not in sql


@pytest.mark.parametrize("role", ["analyst", "compliance", "risk_admin"])
def test_every_role_sees_the_overview(client, make_user, role):
    client.force_login(make_user("u", role))
    assert client.get(reverse(URL)).status_code == 200


def test_no_role_is_refused_and_anonymous_goes_to_login(client, make_user):
    assert client.get(reverse(URL)).url.startswith(reverse("login"))
    client.force_login(make_user("nobody"))
    assert client.get(reverse(URL)).status_code == 403


@pytest.mark.parametrize("days", [1, 90])
def test_overview_query_budget(analyst_client, django_assert_max_num_queries, days, book):
    # Given daily rows for `days` days and many alerts (the budget must not grow with either)
    from decisions.models import BookDailyStat

    today = utc_today()
    for n in range(1, days):
        book_stats_refresh(day=today - timedelta(days=n))
        BookDailyStat.objects.bulk_create(
            [BookDailyStat(day=today - timedelta(days=n), metric="customers_by_access", key="open", value=n, computed_at=timezone.now())],
            ignore_conflicts=True,
        )
    RiskAlertFactory.create_batch(30, severity=4)
    RecomputeRunFactory.create_batch(3)
    # 1 session, 2 user, 3 user's groups (roles), 4 latest snapshot rows, 5 90 days of history
    # rows, 6 active policy row (SLA hours), 7 its body (parsed once per process, so only on a
    # cold cache), 8 open alerts by severity (one conditional aggregate), 9 last run with policy,
    # requester and its latest chunk activity (one grouped query, for "stalled")
    with django_assert_max_num_queries(9):
        assert analyst_client.get(reverse(URL)).status_code == 200


def test_money_keeps_thousands_separators_in_chinese():
    from decisions.presentation.formats import money

    with translation.override("zh-hans"):
        assert money(Decimal("1234567.5")) == "¥1,234,567.50"


def test_a_stalled_last_run_is_said_in_words(analyst_client, settings):
    # Given a running run with no chunk activity for longer than the stale threshold
    RecomputeRunFactory(running=True, started_at=timezone.now() - timedelta(seconds=settings.RISKOPS_CHUNK_STALE_SECONDS + 120))
    html = analyst_client.get(reverse(URL)).content.decode()
    assert "Stalled: no progress for" in html

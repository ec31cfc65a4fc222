"""Chart builders: plain data in, a Plotly figure dict out."""

from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal

from decisions.presentation import charts

T0 = datetime(2026, 11, 20, 9, 30, tzinfo=dt_timezone.utc)


def test_a_single_score_shows_the_days_around_it_not_milliseconds():
    fig = charts.score_history_figure([{"computed_at": T0, "score": 640, "band": "B"}])

    axis = fig["layout"]["xaxis"]
    assert axis["type"] == "date"
    assert axis["range"] == [charts._local(T0 - timedelta(days=1)), charts._local(T0 + timedelta(days=1))]
    assert axis["title"]["text"] == "Computed at"  # the base layout's title is kept


def test_scores_spread_over_weeks_let_plotly_fit_the_axis():
    points = [{"computed_at": T0 + timedelta(days=7 * i), "score": 600 + i, "band": "C"} for i in range(4)]

    assert "range" not in charts.score_history_figure(points)["layout"]["xaxis"]


def test_the_limit_history_of_one_decision_and_one_alert_is_widened_too():
    fig = charts.limit_history_figure(
        [{"decided_at": T0, "limit": Decimal("0"), "access": "not_offered", "reason": "NO_CONSENT"}],
        "¥",
        alerts=[{"raised_at": T0 + timedelta(minutes=1), "severity": 2, "rule": "Spending spike"}],
    )

    assert "range" in fig["layout"]["xaxis"]
    assert fig["layout"]["yaxis"]["title"]["text"] == "Limit (¥)"


def test_alert_evidence_reads_as_money_and_two_decimal_ratios():
    from decisions.presentation.texts import alert_evidence_lines

    (spike,) = alert_evidence_lines("SPENDING_SPIKE", {"spend_7d": "7986.96", "avg_monthly_spend_3m": "4040.33", "spike_ratio": "8.4720", "min_spike_ratio": 3})
    assert spike == "Spent ¥7,986.96 in 7 days against ¥4,040.33 a month on average: 8.47× (the rule fires from 3×)."
    (overdue,) = alert_evidence_lines("OVERDUE_90", {"days_past_due": 129, "overdue_installments": 5, "outstanding": "742.44"}, threshold_days=90)
    assert overdue.startswith("129 days past due on 5 installment(s), ¥742.44 outstanding")
    # a missing number still reads, as before
    assert alert_evidence_lines("SPENDING_SPIKE", {}) == ["Spent ? in 7 days against ? a month on average: ?× (the rule fires from ?×)."]

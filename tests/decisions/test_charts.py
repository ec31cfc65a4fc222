"""Chart builders: plain data in, a Plotly figure dict out."""

from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal

from decisions import charts

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

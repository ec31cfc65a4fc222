"""Charts readable (issue 22, item 15): every figure dict the pages draw has its legend in a row
above the plot (never over an axis title), a colour of its own per series, y axes in whole units
(no ¥0.50 or 2.5 points), the 30/90-day lines labelled, and captions with their plurals."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone as dt_timezone
from decimal import Decimal

import pytest
from django.utils import translation

from compliance.charts import weekly_chart
from decisions.governance.simulation_charts import simulation_report
from decisions.models import AlertRule, PolicySimulation
from decisions.presentation import charts, palette
from modelling import health_charts

DAYS = [date(2024, 5, 1) + timedelta(days=i) for i in range(3)]
NOW = datetime(2024, 5, 3, 12, tzinfo=dt_timezone.utc)


def _figures() -> dict[str, dict]:
    rules = {rule: [1, 0, 2] for rule in AlertRule.values}
    return {
        "score distribution": charts.score_distribution_figure({"A": {700: 3}, "B": {650: 2}, "C": {600: 1}}),
        "access mix": charts.access_mix_figure(DAYS, {s: [1, 2, 3] for s in palette.ACCESS_COLOURS}),
        "alerts per rule": charts.alerts_per_rule_figure(DAYS, rules),
        "limit changes": charts.limit_changes_figure(DAYS, [1, 0, 2], [0, 1, 1]),
        "score history": charts.score_history_figure([{"computed_at": NOW - timedelta(days=2), "score": 640, "band": "C"}, {"computed_at": NOW, "score": 702, "band": "B"}]),
        "cash flow": charts.cash_flow_figure(DAYS, [Decimal("1.50")] * 3, [Decimal("2.25")] * 3, [Decimal("0.75")] * 3, "¥"),
        "dpd": charts.dpd_timeline_figure([{"due_on": d, "dpd": n, "amount_due": Decimal("100"), "paid": False} for d, n in zip(DAYS, (0, 45, 95))], "¥"),
        "limit history": charts.limit_history_figure(
            [{"decided_at": NOW - timedelta(days=1), "limit": Decimal("3.00"), "access": "open", "reason": "r"}], "¥",
            alerts=[{"raised_at": NOW, "severity": 4, "rule": "Overdue"}],
        ),
        "stability": health_charts.stability_figure([], {}),
    }


def _legends(fig: dict) -> list[str]:
    return [t.get("name") for t in fig["data"] if t.get("showlegend", True) and t.get("name")]


@pytest.mark.parametrize("name", list(_figures()))
def test_the_legend_sits_in_a_row_above_the_plot(name):
    layout = _figures()[name]["layout"]
    if layout.get("showlegend") is False:
        return
    legend = layout["legend"]
    assert legend["orientation"] == "h"
    assert legend["y"] >= 1 and legend["yanchor"] == "bottom", "above the plot, not over the x axis's title"
    assert layout["margin"]["t"] >= charts.LEGEND_MARGIN_TOP


def test_a_chart_of_one_series_has_no_legend():
    fig = charts.figure([{"type": "bar", "name": "Only", "x": [1], "y": [1]}], charts._layout(x_title="x", y_title="y"))
    assert fig["layout"]["showlegend"] is False
    assert "showlegend" not in charts.limit_changes_figure(DAYS, [1, 0, 2], [0, 1, 1])["layout"]


@pytest.mark.parametrize("name", ["alerts per rule", "access mix", "limit changes", "cash flow", "score distribution"])
def test_every_series_has_a_colour_of_its_own(name):
    fig = _figures()[name]
    colours = []
    for trace in fig["data"]:
        colour = trace.get("marker", {}).get("color") if trace.get("type") == "bar" else trace.get("line", {}).get("color")
        if isinstance(colour, str):
            colours.append(colour.lower())
    assert len(colours) >= 2
    assert len(set(colours)) == len(colours), f"{name}: {colours}"


def test_every_rule_and_every_access_state_has_a_distinct_colour():
    assert set(palette.RULE_COLOURS) == set(AlertRule.values)
    assert len(set(palette.RULE_COLOURS.values())) == len(palette.RULE_COLOURS)
    assert len(set(palette.ACCESS_COLOURS.values())) == len(palette.ACCESS_COLOURS)
    assert len({palette.INCOME_COLOUR, palette.SPEND_COLOUR, palette.REPAYMENT_COLOUR}) == 3


@pytest.mark.parametrize("name, key", [("cash flow", "yaxis"), ("limit history", "yaxis")])
def test_money_axes_show_whole_currency_units(name, key):
    axis = _figures()[name]["layout"][key]
    assert axis["tickformat"] == ",d" and axis["tickprefix"] == "¥"
    assert axis["dtick"] == 1, "a small range ticks every ¥1, never ¥0.50"


def test_a_large_money_axis_lets_plotly_choose_whole_steps():
    axis = charts.money_axis([Decimal("12000"), Decimal("0")])
    assert axis == {"tickformat": ",d", "rangemode": "tozero", "tickprefix": "¥"}


@pytest.mark.parametrize("name", ["score distribution", "access mix", "alerts per rule", "limit changes", "dpd"])
def test_count_axes_show_whole_numbers(name):
    axis = _figures()[name]["layout"]["yaxis"]
    assert axis["tickformat"] == ",d"


def test_score_axes_have_no_decimals_of_points():
    assert _figures()["score history"]["layout"]["yaxis"]["tickformat"] == "d"
    assert _figures()["score distribution"]["layout"]["xaxis"]["tickformat"] == "d"


def test_the_30_and_90_day_lines_are_labelled():
    layout = _figures()["dpd"]["layout"]
    lines = sorted(shape["y0"] for shape in layout["shapes"])
    labels = {note["y"]: note["text"] for note in layout["annotations"]}
    assert lines == [30, 90]
    assert labels == {30: "30 days past due", 90: "90 days past due"}
    for note in layout["annotations"]:
        assert note["showarrow"] is False and note["xref"] == "paper"


def test_the_day_lines_are_labelled_in_chinese_too():
    with translation.override("zh-hans"):
        layout = _figures()["dpd"]["layout"]
    assert len(layout["annotations"]) == 2 and all(note["text"] for note in layout["annotations"])


def test_no_day_line_without_a_late_installment_near_it():
    fig = charts.dpd_timeline_figure([{"due_on": DAYS[0], "dpd": 0, "amount_due": Decimal("1"), "paid": True}], "¥")
    assert fig["layout"]["shapes"] == [] and fig["layout"]["annotations"] == []


def _simulation(moved: int, up: int, down: int, same: int) -> PolicySimulation:
    access = {"open": {"open": 5, "closed": moved}}
    result = {
        "customers": 5 + moved, "changed": moved, "transitions": access, "limit_changes": {"0": same},
        "exposure_now": "12345.00", "exposure_draft": "12000.50",
        "exposure_by_band_now": {"A": "12345.00"}, "exposure_by_band_draft": {"A": "12000.50"},
        "limit_up": up, "limit_down": down, "limit_same": same, "limit_up_sum": "0", "limit_down_sum": "0",
        "rules_now": {"OVERDUE_30": 1}, "rules_draft": {"OVERDUE_30": 2}, "sample": [],
    }
    return PolicySimulation(status=PolicySimulation.Status.SUCCEEDED, result=result)


def test_simulation_captions_have_their_plurals_and_money_its_currency():
    one = {c["id"]: c for c in simulation_report(simulation=_simulation(1, 1, 1, 1))["charts"]}
    many = {c["id"]: c for c in simulation_report(simulation=_simulation(1200, 2, 3, 4))["charts"]}
    assert one["sim-transitions"]["caption"].startswith("1 customer changes access state")
    assert many["sim-transitions"]["caption"].startswith("1,200 customers change access state")
    assert one["sim-limit-changes"]["caption"] == "1 limit rises, 1 falls, 1 stays the same."
    assert many["sim-limit-changes"]["caption"] == "2 limits rise, 3 fall, 4 stay the same."
    assert "¥12,345.00 → ¥12,000.50" in one["sim-exposure-band"]["caption"]
    axis = one["sim-exposure-band"]["figure"]["layout"]["yaxis"]
    assert axis["tickformat"] == ",d" and axis["tickprefix"] == "¥"
    assert one["sim-limit-changes"]["figure"]["layout"]["yaxis"]["tickformat"] == ",d"


def test_compliance_weekly_caption_has_its_plurals():
    class Figures:
        weeks = ["2024-04-29", "2024-05-06"]
        grants = [1, 0]
        withdrawals = [0, 0]

    chart = weekly_chart(Figures())
    assert chart["caption"] == "1 grant and 0 withdrawals in the last 1 week."
    assert chart["figure"]["layout"]["yaxis"]["tickformat"] == ",d"
    assert chart["figure"]["layout"]["legend"]["y"] >= 1

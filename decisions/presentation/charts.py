"""Plotly figure builders: plain data in, a figure dict out ({"data", "layout", "config"}).

The dict goes to the template through `json_script` and `static/js/charts.js` draws it, so no
inline script is needed (strict CSP). Colours come from `decisions.presentation.palette`, the same as the
badges next to the chart. Money is Decimal everywhere else; it becomes a float only here, at the
edge, because Plotly plots numbers. Labels are translated when the figure is built (in the
request, so in the viewer's language).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone as dt_timezone
from decimal import Decimal
from typing import Any, Iterable

from django.utils import timezone
from django.utils.translation import gettext as _, ngettext

from .formats import currency_symbol
from .palette import (  # noqa: F401  (the series colours are re-exported for the other charts)
    ACCENT,
    ACCESS_COLOURS,
    BAND_COLOURS,
    CUT_COLOUR,
    INCOME_COLOUR,
    INCREASE_COLOUR,
    PLOTLY_CONFIG,
    REPAYMENT_COLOUR,
    RULE_COLOURS,
    SEVERITY_COLOURS,
    SPEND_COLOUR,
)
from .texts import access_name, rule_name

SMALL_HEIGHT = 280
# The legend sits in a row above the plot, left-aligned: below it, it covered the x axis's title
# (and on a narrow chart the tick labels too). The top margin leaves it room.
LEGEND = {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom", "traceorder": "normal"}
LEGEND_MARGIN_TOP = 36


def _num(value: Decimal | int | float | None) -> float | None:
    return None if value is None else float(value)


def _local(dt: datetime) -> str:
    """The viewer's zone for the axis (a naive ISO string: Plotly would otherwise show UTC)."""
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M")


def _utc(dt: datetime) -> str:
    return dt.astimezone(dt_timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _layout(*, x_title: str, y_title: str, **extra: Any) -> dict:
    layout = {
        "height": SMALL_HEIGHT,
        "margin": {"t": LEGEND_MARGIN_TOP, "r": 10, "b": 50, "l": 60},
        "xaxis": {"title": {"text": x_title}, "automargin": True},
        "yaxis": {"title": {"text": y_title}, "automargin": True, "rangemode": "tozero"},
        # Stacked traces list their legend in reverse by default (traceorder normal keeps the
        # palette's order).
        "legend": dict(LEGEND),
        "hovermode": "closest",
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def _count_axis(values: Iterable[float | int | None]) -> dict:
    """A y axis for counts: whole-number ticks (Plotly would label 0.5 customers on a small range)."""
    top = max((abs(v) for v in values if v is not None), default=0)
    return {"tickformat": ",d", "rangemode": "tozero", **({"dtick": 1} if top <= 5 else {})}


def money_axis(values: Iterable[float | Decimal | None], *, symbol: str | None = None) -> dict:
    """A y axis for money: whole currency units with comma thousands and the currency before them
    (¥12,000), never ¥0.5 on a small range (a tick every 1 then)."""
    return {**_count_axis(_num(v) for v in values), "tickprefix": currency_symbol() if symbol is None else symbol}


def points_axis() -> dict:
    """A score axis: whole points (a score has no decimals)."""
    return {"tickformat": "d"}


def level_annotation(y: float, text: str, colour: str) -> dict:
    """The label of a horizontal reference line, at the plot's right edge just above the line."""
    return {
        "xref": "paper", "x": 1, "xanchor": "right", "y": y, "yanchor": "bottom", "text": text,
        "showarrow": False, "font": {"color": colour, "size": 11},
    }


def _time_axis(moments: list[datetime]) -> dict:
    """A date x axis. When every point falls within an hour (one decision so far, or a burst on
    one day), Plotly would zoom to milliseconds ("19:42:59.999"); show the day around them."""
    axis: dict = {"type": "date"}
    if moments and max(moments) - min(moments) < timedelta(hours=1):
        middle = min(moments)
        axis.update(range=[_local(middle - timedelta(days=1)), _local(middle + timedelta(days=1))])
    return axis


def figure(data: list[dict], layout: dict) -> dict:
    """A figure dict. A chart of one series shows no legend (its title says what it is): no row
    of legend above a lone bar chart."""
    named = [trace for trace in data if trace.get("showlegend", True)]
    if len(named) <= 1 and "showlegend" not in layout:
        layout = {**layout, "showlegend": False}
    return {"data": data, "layout": layout, "config": PLOTLY_CONFIG}


# --- overview -----------------------------------------------------------------------------------


def score_distribution_figure(buckets: dict[str, dict[int, int]]) -> dict:
    """Customers per 10-point score bucket, one stacked trace per band. `buckets[band][start] = n`."""
    data = []
    for band, colour in BAND_COLOURS.items():
        points = sorted(buckets.get(band, {}).items())
        if not points:
            continue
        data.append({
            "type": "bar", "name": _("Band %(band)s") % {"band": band},
            "x": [start + 5 for start, _n in points], "y": [n for _s, n in points], "width": 9,
            "marker": {"color": colour},
            "hovertemplate": _("Score %{x:.0f}±5: %{y:,} customers") + f"<extra>{band}</extra>",
        })
    per_bucket: dict[int, int] = {}
    for points in buckets.values():
        for start, n in points.items():
            per_bucket[start] = per_bucket.get(start, 0) + n
    return figure(data, _layout(
        x_title=_("Score (points)"), y_title=_("Customers"), barmode="stack", xaxis=points_axis(), yaxis=_count_axis(per_bucket.values()),
    ))


def access_mix_figure(days: list[date], counts: dict[str, list[int]]) -> dict:
    """Customers per access state per day, stacked areas in the access colours."""
    x = [d.isoformat() for d in days]
    data = [
        {
            # Markers too: a mix with a single day's picture is still visible.
            "type": "scatter", "mode": "lines+markers" if len(days) < 10 else "lines", "stackgroup": "access", "name": access_name(state),
            "x": x, "y": counts.get(state, [0] * len(days)), "line": {"color": colour, "width": 1},
            "fillcolor": colour, "hovertemplate": "%{x}: %{y:,}" + f"<extra>{access_name(state)}</extra>",
        }
        for state, colour in ACCESS_COLOURS.items()
    ]
    totals = [sum(col) for col in zip(*counts.values())] if counts else []
    xaxis: dict = {"type": "date"}
    if len(days) == 1:  # one picture: a day either side, or Plotly zooms to milliseconds
        xaxis.update(range=[(days[0] - timedelta(days=1)).isoformat(), (days[0] + timedelta(days=1)).isoformat()], dtick=86_400_000)
    return figure(data, _layout(x_title=_("Day (UTC)"), y_title=_("Customers"), xaxis=xaxis, yaxis=_count_axis(totals)))


def alerts_per_rule_figure(days: list[date], counts: dict[str, list[int]]) -> dict:
    x = [d.isoformat() for d in days]
    data = [
        {
            "type": "bar", "name": rule_name(rule), "x": x, "y": counts[rule], "marker": {"color": RULE_COLOURS.get(rule, ACCENT)},
            "hovertemplate": "%{x}: %{y:,}" + f"<extra>{rule_name(rule)}</extra>",
        }
        for rule in counts
        if any(counts[rule])
    ]
    totals = [sum(col) for col in zip(*counts.values())] if counts else []
    return figure(data, _layout(x_title=_("Day (UTC)"), y_title=_("Alerts raised"), barmode="stack", xaxis={"type": "date"}, yaxis=_count_axis(totals)))


def limit_changes_figure(days: list[date], increases: list[int], cuts: list[int]) -> dict:
    x = [d.isoformat() for d in days]
    data = [
        {"type": "bar", "name": _("Increases"), "x": x, "y": increases, "marker": {"color": INCREASE_COLOUR},
         "hovertemplate": "%{x}: %{y:,}" + "<extra>" + _("Increases") + "</extra>"},
        {"type": "bar", "name": _("Cuts"), "x": x, "y": cuts, "marker": {"color": CUT_COLOUR},
         "hovertemplate": "%{x}: %{y:,}" + "<extra>" + _("Cuts") + "</extra>"},
    ]
    return figure(data, _layout(x_title=_("Day (UTC)"), y_title=_("Decisions"), barmode="group", xaxis={"type": "date"}, yaxis=_count_axis(increases + cuts)))


# --- risk profile -------------------------------------------------------------------------------


def score_history_figure(points: Iterable[dict]) -> dict:
    """Score over time; each marker in its band's colour. `points`: computed_at, score, band."""
    points = list(points)
    data = [{
        "type": "scatter", "mode": "lines+markers", "name": _("Score"),
        "x": [_local(p["computed_at"]) for p in points], "y": [p["score"] for p in points],
        "customdata": [[p["band"], _utc(p["computed_at"])] for p in points],
        "line": {"color": ACCENT, "width": 1.5},
        "marker": {"color": [BAND_COLOURS.get(p["band"], ACCENT) for p in points], "size": 8, "line": {"color": "#1d2330", "width": 0.5}},
        "hovertemplate": _("Score %{y} · band %{customdata[0]}") + "<br>%{customdata[1]}<extra></extra>",
    }]
    return figure(data, _layout(
        x_title=_("Computed at"), y_title=_("Score (points)"), yaxis={**points_axis(), "rangemode": "normal"},
        xaxis=_time_axis([p["computed_at"] for p in points]),
    ))


def cash_flow_figure(months: list[date], income: list[Decimal], spend: list[Decimal], repayments: list[Decimal], currency: str) -> dict:
    x = [m.strftime("%Y-%m") for m in months]
    series = ((_("Income"), income, INCOME_COLOUR), (_("Spend"), spend, SPEND_COLOUR), (_("Repayments"), repayments, REPAYMENT_COLOUR))
    data = [
        {"type": "bar", "name": name, "x": x, "y": [_num(v) for v in values], "marker": {"color": colour},
         "hovertemplate": "%{x}: " + currency + "%{y:,.2f}" + f"<extra>{name}</extra>"}
        for name, values, colour in series
    ]
    return figure(data, _layout(
        x_title=_("Month (UTC)"), y_title=_("Amount (%(currency)s)") % {"currency": currency}, barmode="group",
        yaxis=money_axis([*income, *spend, *repayments], symbol=currency),
    ))


def dpd_colour(days: int) -> str:
    if days >= 90:
        return SEVERITY_COLOURS[5]
    if days >= 30:
        return SEVERITY_COLOURS[4]
    if days >= 1:
        return SEVERITY_COLOURS[2]
    return ACCESS_COLOURS["open"]


def dpd_timeline_figure(installments: Iterable[dict], currency: str) -> dict:
    """Days past due per installment, by due date: paid ones as the days they were late, unpaid
    ones as the days they are late today. `installments`: due_on, dpd, amount_due, paid."""
    rows = list(installments)
    data = [{
        "type": "bar", "name": _("Days past due"),
        "x": [r["due_on"].isoformat() for r in rows], "y": [r["dpd"] for r in rows],
        "marker": {"color": [dpd_colour(r["dpd"]) for r in rows]},
        "customdata": [[f"{currency}{r['amount_due']:,.2f}", _("paid") if r["paid"] else _("unpaid")] for r in rows],
        "hovertemplate": _("Due %{x}: %{y} days past due") + "<br>%{customdata[0]} · %{customdata[1]}<extra></extra>",
    }]
    levels = [(days, SEVERITY_COLOURS[sev]) for days, sev in ((30, 4), (90, 5)) if any(r["dpd"] >= days * 0.5 for r in rows)]
    shapes = [
        {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": days, "y1": days, "line": {"color": colour, "dash": "dot", "width": 1}}
        for days, colour in levels
    ]
    # Each line says what it is: the 30- and 90-day marks of the overdue rules.
    annotations = [
        level_annotation(days, ngettext("%(n)s day past due", "%(n)s days past due", days) % {"n": days}, colour)
        for days, colour in levels
    ]
    return figure(data, _layout(
        x_title=_("Due date"), y_title=_("Days past due"), shapes=shapes, annotations=annotations,
        yaxis=_count_axis([r["dpd"] for r in rows] + [days for days, _c in levels]),
    ))


def limit_history_figure(decisions: Iterable[dict], currency: str, *, alerts: Iterable[dict] = ()) -> dict:
    """The limit as a step line (it holds until the next decision), with a marker per decision in
    the colour of the access state it set, and the alerts raised meanwhile as triangles on the
    axis in their severity's colour. `decisions`: decided_at, limit, access, reason; `alerts`:
    raised_at, severity, rule (its display name)."""
    rows = list(decisions)
    events = list(alerts)
    x = [_local(r["decided_at"]) for r in rows]
    y = [_num(r["limit"]) for r in rows]
    # The step holds up to now, so the line ends at today rather than at the last decision.
    line_x, line_y = (x + [_local(timezone.now())], y + y[-1:]) if rows else (x, y)
    data = [
        {"type": "scatter", "mode": "lines", "name": _("Limit"), "x": line_x, "y": line_y,
         "line": {"shape": "hv", "color": ACCENT, "width": 2}, "hoverinfo": "skip"},
        {"type": "scatter", "mode": "markers", "name": _("Decisions"), "x": x, "y": y,
         "marker": {"color": [ACCESS_COLOURS.get(r["access"], ACCENT) for r in rows], "size": 10, "symbol": "diamond",
                    "line": {"color": "#1d2330", "width": 0.5}},
         "customdata": [[access_name(r["access"]), r["reason"], _utc(r["decided_at"])] for r in rows],
         "hovertemplate": "%{customdata[0]} · " + currency + "%{y:,.2f}<br>%{customdata[1]}<br>%{customdata[2]}<extra></extra>"},
    ]
    if events:
        data.append({
            "type": "scatter", "mode": "markers", "name": _("Alerts"), "x": [_local(e["raised_at"]) for e in events], "y": [0] * len(events),
            "marker": {"color": [SEVERITY_COLOURS.get(e["severity"], ACCENT) for e in events], "size": 11, "symbol": "triangle-up",
                       "line": {"color": "#1d2330", "width": 0.5}},
            "customdata": [[e["rule"], e["severity"], _utc(e["raised_at"])] for e in events],
            "hovertemplate": _("Alert: %{customdata[0]} (severity %{customdata[1]})") + "<br>%{customdata[2]}<extra></extra>",
        })
    return figure(data, _layout(
        x_title=_("Decided at"), y_title=_("Limit (%(currency)s)") % {"currency": currency},
        xaxis=_time_axis([r["decided_at"] for r in rows] + [e["raised_at"] for e in events]), yaxis=money_axis(y, symbol=currency),
    ))

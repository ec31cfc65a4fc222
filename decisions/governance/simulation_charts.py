"""The simulation page's figures and tables, built from a finished `PolicySimulation.result`.

Selectors: plain data in, dicts out; the figures are drawn by static/js/charts.js from
json_script (no inline script). Money stays Decimal until the figure, where Plotly needs floats.
Labels are translated here, in the request, so in the viewer's language.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _, ngettext

from decisions.presentation.charts import CUT_COLOUR, INCREASE_COLOUR, _count_axis, _layout, figure, money_axis
from decisions.presentation.formats import count, money
from decisions.models import Access, PolicySimulation
from decisions.presentation.palette import ACCENT, ACCESS_COLOURS, BAND_COLOURS
from .services.simulation import NO_BAND, limit_change_buckets
from decisions.presentation.texts import access_name, rule_name

NOW_COLOUR = ACCESS_COLOURS["not_offered"]  # grey: as things stand
DRAFT_COLOUR = ACCENT  # the draft
BANDS = [*BAND_COLOURS, NO_BAND]


def _band_label(band: str) -> str:
    return _("no score") if band == NO_BAND else _("Band %(band)s") % {"band": band}


def transition_figure(result: dict) -> dict:
    """Heatmap: rows = access now, columns = access under the draft, cells = customers."""
    states = list(Access.values)
    z = [[result["transitions"].get(a, {}).get(b, 0) for b in states] for a in states]
    names = [access_name(s) for s in states]
    data = [{
        # White (nobody) to the accent (most): the eye goes to where the customers are.
        "type": "heatmap", "z": z, "x": names, "y": names, "colorscale": [[0, "#ffffff"], [1, ACCENT]], "texttemplate": "%{z:,}",
        "xgap": 1, "ygap": 1,
        "hovertemplate": _("%{y} → %{x}: %{z:,} customers") + "<extra></extra>", "showscale": False,
    }]
    layout = _layout(x_title=_("Access under the draft"), y_title=_("Access now"), height=340)
    layout["yaxis"] = {**layout["yaxis"], "autorange": "reversed", "rangemode": "normal"}
    layout["plot_bgcolor"] = "#d0d5dd"  # shows through the gaps: a grid between white cells
    return figure(data, layout)


def limit_change_figure(result: dict) -> dict:
    labels = limit_change_buckets()
    counts = [result["limit_changes"].get(label, 0) for label in labels]
    colours = [CUT_COLOUR if label.startswith(("<", "-")) else INCREASE_COLOUR if label != "0" else NOW_COLOUR for label in labels]
    data = [{
        "type": "bar", "x": labels, "y": counts, "marker": {"color": colours},
        "hovertemplate": "%{x}: %{y:,}<extra></extra>",
    }]
    return figure(data, _layout(x_title=_("Limit change (currency units)"), y_title=_("Customers"), yaxis=_count_axis(counts)))


def exposure_by_band_figure(result: dict) -> dict:
    x = [_band_label(b) for b in BANDS]
    series = {key: [float(Decimal(result[key].get(b, "0"))) for b in BANDS] for key in ("exposure_by_band_now", "exposure_by_band_draft")}
    data = [
        {
            "type": "bar", "name": name, "x": x, "y": series[key],
            "marker": {"color": colour}, "hovertemplate": "%{x}: %{y:,.2f}" + f"<extra>{name}</extra>",
        }
        for key, name, colour in (
            ("exposure_by_band_now", _("Now"), NOW_COLOUR), ("exposure_by_band_draft", _("Under the draft"), DRAFT_COLOUR),
        )
    ]
    return figure(data, _layout(x_title=_("Band"), y_title=_("Total limits"), barmode="group", yaxis=money_axis([v for ys in series.values() for v in ys])))


def rule_hits_figure(result: dict) -> dict:
    rules = sorted(set(result["rules_now"]) | set(result["rules_draft"]))
    y = [rule_name(r) for r in rules]
    data = [
        {
            "type": "bar", "orientation": "h", "name": name, "y": y, "x": [result[key].get(r, 0) for r in rules],
            "marker": {"color": colour}, "hovertemplate": "%{y}: %{x:,}" + f"<extra>{name}</extra>",
        }
        for key, name, colour in (("rules_now", _("Now"), NOW_COLOUR), ("rules_draft", _("Under the draft"), DRAFT_COLOUR))
    ]
    counts = [v for trace in data for v in trace["x"]]
    return figure(data, _layout(x_title=_("Customers the rule fires for"), y_title="", barmode="group", xaxis=_count_axis(counts)))


def _pct(part: Decimal, whole: Decimal) -> str:
    return f"{(100 * part / whole):+.1f} %" if whole else "—"


def simulation_report(*, simulation: PolicySimulation) -> dict | None:
    """Figures, key figures and tables of a succeeded simulation; None before that."""
    result = simulation.result
    if simulation.status != PolicySimulation.Status.SUCCEEDED or not result:
        return None
    now, draft = Decimal(result["exposure_now"]), Decimal(result["exposure_draft"])
    moved = sum(n for a, row in result["transitions"].items() for b, n in row.items() if a != b)
    rule_rows = [
        {"rule": r, "name": rule_name(r), "now": result["rules_now"].get(r, 0), "draft": result["rules_draft"].get(r, 0),
         "delta": result["rules_draft"].get(r, 0) - result["rules_now"].get(r, 0)}
        for r in sorted(set(result["rules_now"]) | set(result["rules_draft"]))
    ]
    charts = [
        {"id": "sim-transitions", "title": _("Access now → under the draft"), "figure": transition_figure(result),
         "caption": ngettext(
             "%(moved)s customer changes access state; the diagonal stays where it is.",
             "%(moved)s customers change access state; the diagonal stays where it is.",
             moved,
         ) % {"moved": count(moved)}},
        {"id": "sim-limit-changes", "title": _("Limit changes"), "figure": limit_change_figure(result),
         "caption": _("%(up)s, %(down)s, %(same)s.") % {
             "up": ngettext("%(n)s limit rises", "%(n)s limits rise", result["limit_up"]) % {"n": count(result["limit_up"])},
             "down": ngettext("%(n)s falls", "%(n)s fall", result["limit_down"]) % {"n": count(result["limit_down"])},
             "same": ngettext("%(n)s stays the same", "%(n)s stay the same", result["limit_same"]) % {"n": count(result["limit_same"])},
         }},
        {"id": "sim-exposure-band", "title": _("Exposure by band, now and under the draft"), "figure": exposure_by_band_figure(result),
         "caption": _("Total exposure %(now)s → %(draft)s (%(pct)s).") % {"now": money(now), "draft": money(draft), "pct": _pct(draft - now, now)}},
        {"id": "sim-rule-hits", "title": _("Rule hits, now and under the draft"), "figure": rule_hits_figure(result),
         "caption": _("How many customers each rule fires for at the simulation's clock, under each policy.")},
    ]
    for chart in charts:
        chart["empty"] = result["customers"] == 0
        chart["empty_text"] = _("The book is empty.")
    return {
        "charts": charts,
        "customers": result["customers"],
        "changed": result["changed"],
        "moved": moved,
        "exposure_now": now,
        "exposure_draft": draft,
        "exposure_change": draft - now,
        "exposure_change_pct": _pct(draft - now, now),
        "limit_up": result["limit_up"], "limit_down": result["limit_down"], "limit_same": result["limit_same"],
        "limit_up_sum": Decimal(result["limit_up_sum"]), "limit_down_sum": Decimal(result["limit_down_sum"]),
        "rules": rule_rows,
        "sample": [
            {**s, "limit_now": Decimal(s["limit_now"]), "limit_draft": Decimal(s["limit_draft"]), "delta": Decimal(s["delta"]),
             "access_now_name": access_name(s["access_now"]), "access_draft_name": access_name(s["access_draft"])}
            for s in result["sample"]
        ],
        "seconds": result.get("seconds"),
    }

"""The champion-and-challenger page's figures, from `challenger_selectors.Swaps`: plain data in,
Plotly figure dicts out, drawn by static/js/charts.js from json_script (no inline script). Labels
are translated here, in the request; money becomes a float only inside the figure."""

from __future__ import annotations

from django.utils.translation import gettext as _, ngettext

from decisions.models import ACCESS_VALUES, BAND_VALUES
from decisions.presentation.charts import CUT_COLOUR, INCREASE_COLOUR, _layout, figure
from decisions.presentation.palette import ACCENT, ACCESS_COLOURS
from decisions.presentation.texts import access_name

from .challenger_selectors import Swaps

SAME_COLOUR = ACCESS_COLOURS["not_offered"]  # grey: no change


def _heatmap(z: list[list[int]], x: list[str], y: list[str], *, x_title: str, y_title: str, hover: str) -> dict:
    """Rows: the champion; columns: the challenger; cells: customers. White (nobody) to the accent."""
    data = [{
        "type": "heatmap", "z": z, "x": x, "y": y, "colorscale": [[0, "#ffffff"], [1, ACCENT]], "texttemplate": "%{z:,}",
        "xgap": 1, "ygap": 1, "hovertemplate": hover + "<extra></extra>", "showscale": False,
    }]
    layout = _layout(x_title=x_title, y_title=y_title, height=340)
    layout["yaxis"] = {**layout["yaxis"], "autorange": "reversed", "rangemode": "normal"}
    layout["plot_bgcolor"] = "#d0d5dd"  # shows through the gaps: a grid between white cells
    return figure(data, layout)


def band_swap_figure(swaps: Swaps) -> dict:
    labels = [_("Band %(band)s") % {"band": b} for b in BAND_VALUES]
    return _heatmap(
        swaps.bands, labels, labels, x_title=_("Challenger's band"), y_title=_("Champion's band"),
        hover=_("%{y} → %{x}: %{z:,} customers"),
    )


def access_swap_figure(swaps: Swaps) -> dict:
    names = [access_name(a) for a in ACCESS_VALUES]
    return _heatmap(
        swaps.access, names, names, x_title=_("Challenger's access"), y_title=_("Champion's access"),
        hover=_("%{y} → %{x}: %{z:,} customers"),
    )


def limit_difference_figure(swaps: Swaps) -> dict:
    labels = [label for label, _n in swaps.limit_buckets]
    counts = [n for _label, n in swaps.limit_buckets]
    colours = [CUT_COLOUR if label.startswith(("<", "-")) else INCREASE_COLOUR if label != "0" else SAME_COLOUR for label in labels]
    data = [{"type": "bar", "x": labels, "y": counts, "marker": {"color": colours}, "hovertemplate": "%{x}: %{y:,}<extra></extra>"}]
    return figure(data, _layout(x_title=_("Challenger's limit − champion's limit (currency units)"), y_title=_("Customers"), yaxis={"tickformat": ",d"}))


def challenger_charts(swaps: Swaps) -> list[dict]:
    """The page's charts, in the shape templates/decisions/_chart.html draws."""
    moved_bands = swaps.band_better + swaps.band_worse
    moved_access = sum(s["customers"] for s in swaps.access_swaps)
    charts = [
        {"id": "challenger-bands", "title": _("Swap set by band: champion → challenger"), "figure": band_swap_figure(swaps),
         "caption": ngettext(
             "%(moved)s customer changes band (%(better)s better, %(worse)s worse); the diagonal stays.",
             "%(moved)s customers change band (%(better)s better, %(worse)s worse); the diagonal stays.",
             moved_bands,
         ) % {"moved": f"{moved_bands:,}", "better": f"{swaps.band_better:,}", "worse": f"{swaps.band_worse:,}"}},
        {"id": "challenger-access", "title": _("Access: champion → challenger"), "figure": access_swap_figure(swaps),
         "caption": ngettext(
             "%(moved)s customer would have another access state under the challenger.",
             "%(moved)s customers would have another access state under the challenger.",
             moved_access,
         ) % {"moved": f"{moved_access:,}"}},
        {"id": "challenger-limits", "title": _("Limit differences"), "figure": limit_difference_figure(swaps),
         "caption": _("Limits under the challenger: %(up)s higher, %(down)s lower, %(same)s the same.")
         % {"up": f"{swaps.limit_up:,}", "down": f"{swaps.limit_down:,}", "same": f"{swaps.limit_same:,}"}},
    ]
    for chart in charts:
        chart["empty"] = swaps.customers == 0
        chart["empty_text"] = _("No customer was scored in shadow.")
    return charts

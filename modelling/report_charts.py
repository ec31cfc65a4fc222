"""Plotly figures of a scorecard's validation report: ROC curves per part, the KS chart,
calibration per band, IV per feature.

Plain data (the stored report's sections) in, figure dicts out, drawn by static/js/charts.js from
json_script (no inline script). The layout, the config and the colours are the shared ones of
decisions/presentation (charts.py, palette.py), so these charts look like every other page's.
Labels are translated here, in the request, so in the viewer's language.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from decisions.presentation.charts import _layout, figure
from decisions.presentation.palette import ACCENT, ACCESS_COLOURS, BAND_COLOURS, SEVERITY_COLOURS

from .validation import OOT, PARTS, TEST, TRAIN

PART_COLOURS = {TRAIN: ACCESS_COLOURS["not_offered"], TEST: ACCENT, OOT: SEVERITY_COLOURS[3]}
BADS_COLOUR = ACCESS_COLOURS["closed"]
GOODS_COLOUR = ACCESS_COLOURS["open"]
PREDICTED_COLOUR = BAND_COLOURS["B"]
OBSERVED_COLOUR = SEVERITY_COLOURS[3]
REFERENCE_COLOUR = "#98a2b3"  # the diagonal of a random ranking
# The usual reading of a feature's information value (modelling/fitting.py: DEFAULT_MIN_IV).
IV_LEVELS = ((0.02, "#98a2b3"), (0.1, BAND_COLOURS["C"]), (0.3, BAND_COLOURS["B"]), (float("inf"), BAND_COLOURS["A"]))


def part_name(part: str) -> str:
    return {TRAIN: _("Training"), TEST: _("Test (holdout)"), OOT: _("Out of time")}.get(part, part)


def band_name(band: str) -> str:
    return _("Band %(band)s") % {"band": band} if band in BAND_COLOURS else _("Decile %(n)s") % {"n": band}


def roc_figure(curves: dict, aucs: dict[str, float]) -> dict:
    """True positive rate (bads caught) against false positive rate (goods refused), one curve a
    part, the diagonal of a random ranking for reference."""
    data = [
        {
            "type": "scatter", "mode": "lines", "name": _("Random ranking"), "x": [0, 1], "y": [0, 1],
            "line": {"color": REFERENCE_COLOUR, "dash": "dot", "width": 1}, "hoverinfo": "skip",
        }
    ]
    for part in PARTS:
        if part not in curves:
            continue
        roc = curves[part]["roc"]
        name = _("%(part)s (AUC %(auc).3f)") % {"part": part_name(part), "auc": aucs.get(part, float("nan"))}
        data.append({
            "type": "scatter", "mode": "lines", "name": name, "x": roc["fpr"], "y": roc["tpr"],
            "line": {"color": PART_COLOURS[part], "width": 2},
            "hovertemplate": _("%{x:.1%} of goods refused, %{y:.1%} of bads caught") + f"<extra>{part_name(part)}</extra>",
        })
    return figure(data, _layout(
        x_title=_("False positive rate (share of goods)"), y_title=_("True positive rate (share of bads)"),
        xaxis={"range": [0, 1], "tickformat": ".0%"}, yaxis={"range": [0, 1], "tickformat": ".0%"}, height=340,
    ))


def ks_figure(curve: dict, ks: float | None) -> dict:
    """Cumulative shares of bads and goods by score ascending; KS is the widest gap between them,
    marked by a vertical line where it falls."""
    scores, bads, goods = curve["score"], curve["bads"], curve["goods"]
    data = [
        {"type": "scatter", "mode": "lines", "name": _("Bads (cumulative share)"), "x": scores, "y": bads,
         "line": {"color": BADS_COLOUR, "width": 2, "shape": "hv"},
         "hovertemplate": _("Score below or at %{x}: %{y:.1%} of bads") + "<extra></extra>"},
        {"type": "scatter", "mode": "lines", "name": _("Goods (cumulative share)"), "x": scores, "y": goods,
         "line": {"color": GOODS_COLOUR, "width": 2, "shape": "hv"},
         "hovertemplate": _("Score below or at %{x}: %{y:.1%} of goods") + "<extra></extra>"},
    ]
    shapes = []
    if scores:
        gaps = [abs(b - g) for b, g in zip(bads, goods)]
        at = gaps.index(max(gaps))
        shapes.append({
            "type": "line", "x0": scores[at], "x1": scores[at], "y0": goods[at], "y1": bads[at],
            "line": {"color": "#1d2330", "width": 2, "dash": "dash"},
        })
        if ks is not None:
            data.append({
                "type": "scatter", "mode": "markers", "name": _("KS %(ks).3f at score %(score)s") % {"ks": ks, "score": f"{scores[at]:g}"},
                "x": [scores[at]], "y": [bads[at]], "marker": {"color": "#1d2330", "size": 8}, "hoverinfo": "skip",
            })
    return figure(data, _layout(
        x_title=_("Score (points)"), y_title=_("Cumulative share"), yaxis={"range": [0, 1], "tickformat": ".0%"}, shapes=shapes, height=340,
    ))


def calibration_figure(rows: list[dict]) -> dict:
    """Per band: the mean predicted PD beside the observed bad rate (bars), the band's rows and
    binomial p-value in the hover."""
    x = [band_name(r["band"]) for r in rows]
    custom = [[r["rows"], r["bads"], r["p_value"]] for r in rows]
    hover = _("%{x}: %{y:.2%}") + "<br>" + _("%{customdata[1]} bads of %{customdata[0]} rows; p = %{customdata[2]:.3f}")
    data = [
        {"type": "bar", "name": _("Predicted PD (mean)"), "x": x, "y": [r["predicted_pd"] for r in rows],
         "marker": {"color": PREDICTED_COLOUR}, "customdata": custom, "hovertemplate": hover + "<extra>" + _("Predicted") + "</extra>"},
        {"type": "bar", "name": _("Observed bad rate"), "x": x, "y": [r["observed_rate"] for r in rows],
         "marker": {"color": OBSERVED_COLOUR}, "customdata": custom, "hovertemplate": hover + "<extra>" + _("Observed") + "</extra>"},
    ]
    return figure(data, _layout(x_title=_("Band"), y_title=_("Probability of default"), barmode="group", yaxis={"tickformat": ".0%"}))


def iv_colour(iv: float) -> str:
    return next(colour for bound, colour in IV_LEVELS if iv < bound)


def iv_figure(features: list[dict]) -> dict:
    """Information value per feature, strongest at the top; a dotted line at 0.02, below which a
    feature does not predict (dropped when fitting), and grey bars for the features not in the card."""
    ordered = sorted(features, key=lambda f: f["iv"])
    data = [{
        "type": "bar", "orientation": "h", "name": _("Information value"),
        "x": [f["iv"] for f in ordered], "y": [f["name"] for f in ordered],
        "marker": {"color": [iv_colour(f["iv"]) if f["selected"] else REFERENCE_COLOUR for f in ordered]},
        "customdata": [_("in the card") if f["selected"] else _("not in the card") for f in ordered],
        "hovertemplate": "%{y}: IV %{x:.3f} (%{customdata})<extra></extra>",
    }]
    shapes = [{"type": "line", "yref": "paper", "y0": 0, "y1": 1, "x0": 0.02, "x1": 0.02, "line": {"color": "#1d2330", "dash": "dot", "width": 1}}]
    layout = _layout(
        x_title=_("Information value (IV)"), y_title="", shapes=shapes, height=max(280, 28 * len(ordered) + 80), showlegend=False,
    )
    layout["margin"] = {**layout["margin"], "l": 140}
    return figure(data, layout)

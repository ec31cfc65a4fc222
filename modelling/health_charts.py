"""Plotly figures of the model-health page, built as dicts on the server and drawn by
static/js/charts.js (decisions/presentation/charts.py explains the pattern): the stability trend
with the warning and alert levels drawn across it, and the bad rate by band of each vintage."""

from __future__ import annotations

from datetime import timedelta

from django.utils.translation import gettext as _

from decisions.engine.policy import BANDS
from decisions.presentation.charts import LEGEND, LEGEND_MARGIN_TOP, SMALL_HEIGHT, figure
from decisions.presentation.palette import ACCENT, ACCESS_COLOURS, BAND_COLOURS

from .drift import SCORE
from .health_texts import metric_name
from .validation import PSI_ALERT, PSI_WARNING

WARNING_COLOUR = ACCESS_COLOURS["limited"]  # amber, as a limited line's badge
ALERT_COLOUR = ACCESS_COLOURS["closed"]  # red


def _layout(*, x_title: str, y_title: str, **extra) -> dict:
    return {
        "height": SMALL_HEIGHT + 80,
        "margin": {"t": LEGEND_MARGIN_TOP, "r": 10, "b": 50, "l": 60},
        "xaxis": {"title": {"text": x_title}, "automargin": True, "type": "date"},
        "yaxis": {"title": {"text": y_title}, "automargin": True, "rangemode": "tozero"},
        # Above the plot, as on every chart (decisions.presentation.charts.LEGEND): below, it covered the x axis's title.
        "legend": dict(LEGEND),
        "hovermode": "closest",
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        **extra,
    }


def _level_line(value: float, colour: str, text: str, *, right: bool) -> tuple[dict, dict]:
    shape = {
        "type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": value, "y1": value,
        "line": {"color": colour, "width": 1.5, "dash": "dash"},
    }
    note = {
        # The two labels at opposite ends: on a tall axis the lines nearly meet.
        "xref": "paper", "x": 1 if right else 0, "xanchor": "right" if right else "left", "yref": "y", "y": value, "yanchor": "bottom",
        "text": text, "showarrow": False, "font": {"color": colour, "size": 11},
    }
    return shape, note


def stability_figure(nights: list, latest_levels: dict[str, str]) -> dict:
    """The score's PSI (bold) and each feature's CSI per night, with the 0.10 and 0.25 levels.
    Features stable on the latest night start hidden (a click on the legend shows them): twelve
    lines at once read as noise."""
    x = [n.day.isoformat() for n in nights]
    names = list(nights[-1].csi) if nights else []
    data = [{
        "type": "scatter", "mode": "lines+markers", "name": metric_name(SCORE), "x": x, "y": [n.score_psi for n in nights],
        "line": {"color": ACCENT, "width": 3}, "hovertemplate": "%{x}: %{y:.4f}" + f"<extra>{metric_name(SCORE)}</extra>",
    }]
    for name in names:
        data.append({
            "type": "scatter", "mode": "lines+markers" if len(nights) < 10 else "lines", "name": name, "x": x,
            "y": [n.csi.get(name) for n in nights], "line": {"width": 1.5},
            "visible": True if latest_levels.get(name, "stable") != "stable" else "legendonly",
            "hovertemplate": "%{x}: %{y:.4f}" + f"<extra>{name}</extra>",
        })
    warning_line, warning_note = _level_line(PSI_WARNING, WARNING_COLOUR, _("warning %(v).2f") % {"v": PSI_WARNING}, right=False)
    alert_line, alert_note = _level_line(PSI_ALERT, ALERT_COLOUR, _("alert %(v).2f") % {"v": PSI_ALERT}, right=True)
    top = max([PSI_ALERT * 1.2, *[v for trace in data for v in trace["y"] if v is not None]])
    return figure(data, _layout(
        x_title=_("Night (UTC)"), y_title=_("PSI / CSI"), shapes=[warning_line, alert_line], annotations=[warning_note, alert_note],
        xaxis=_nights_axis(nights), yaxis={"title": {"text": _("PSI / CSI")}, "automargin": True, "range": [0, top * 1.05]},
    ))


def _nights_axis(nights: list) -> dict:
    """Days, not hours: with a few nights Plotly would tick every three hours between them."""
    axis: dict = {"title": {"text": _("Night (UTC)")}, "automargin": True, "type": "date", "tickformat": "%Y-%m-%d"}
    if len(nights) < 10:
        axis["dtick"] = 86_400_000
    if len(nights) == 1:
        day = nights[0].day
        axis["range"] = [(day - timedelta(days=1)).isoformat(), (day + timedelta(days=1)).isoformat()]
    return axis


def vintage_figure(vintages: list) -> dict:
    """Bad rate among matured outcomes per vintage, one line per band (open vintages left out)."""
    matured = sorted((v for v in vintages if not v.is_open), key=lambda v: v.month)
    x = [v.month.isoformat() for v in matured]
    data = []
    for i, band in enumerate(BANDS):
        rates = [v.cells[i].rate for v in matured]
        if all(r is None for r in rates):
            continue
        data.append({
            "type": "scatter", "mode": "lines+markers", "name": _("Band %(band)s") % {"band": band}, "x": x,
            "y": [None if r is None else round(100 * r, 2) for r in rates], "line": {"color": BAND_COLOURS[band], "width": 2},
            "marker": {"color": BAND_COLOURS[band]}, "hovertemplate": "%{x|%Y-%m}: %{y:.1f}%" + f"<extra>{band}</extra>",
        })
    return figure(data, _layout(
        x_title=_("Vintage (observation month)"), y_title=_("Bad rate (%)"),
        xaxis={"title": {"text": _("Vintage (observation month)")}, "automargin": True, "type": "date", "tickformat": "%Y-%m",
               **({"dtick": "M1"} if len(matured) < 13 else {})},
    ))

"""Plotly figures for the compliance pages: plain data in, a figure dict out (drawn by
static/js/charts.js from `json_script`, no inline script). Labels are translated here, in the
request, so in the viewer's language; colours come from decisions.presentation.palette."""

from __future__ import annotations

from django.utils.translation import gettext as _, ngettext, pgettext

from decisions.presentation.charts import LEGEND, LEGEND_MARGIN_TOP, _count_axis, figure
from decisions.presentation.formats import count
from decisions.presentation.palette import ACCENT, ACCESS_COLOURS

from .selectors import BookFigures

HEIGHT = 280
GRANT_COLOUR = ACCESS_COLOURS["open"]
WITHDRAW_COLOUR = ACCESS_COLOURS["closed"]


def _layout(*, x_title: str, y_title: str, **extra) -> dict:
    return {
        "height": HEIGHT,
        "margin": {"t": LEGEND_MARGIN_TOP, "r": 10, "b": 50, "l": 60},
        "xaxis": {"title": {"text": x_title}, "automargin": True},
        "yaxis": {"title": {"text": y_title}, "automargin": True, "rangemode": "tozero"},
        # Above the plot, as on every chart (decisions.presentation.charts.LEGEND): below, it covered the x axis's title.
        "legend": dict(LEGEND),
        "hovermode": "closest",
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        **extra,
    }


def coverage_chart(figures: BookFigures) -> dict:
    """Share of customers with an active consent, per purpose."""
    labels = [c.label for c in figures.coverage]
    shares = [round(c.share * 100, 1) for c in figures.coverage]
    lowest = min(figures.coverage, key=lambda c: c.share, default=None)
    caption = (
        ngettext(
            "Lowest coverage: %(purpose)s, %(share)s%% of %(n)s customer.", "Lowest coverage: %(purpose)s, %(share)s%% of %(n)s customers.", figures.customers,
        ) % {"purpose": lowest.label, "share": f"{lowest.share * 100:.1f}", "n": count(figures.customers)}
        if lowest and figures.customers else ""
    )
    data = [{
        "type": "bar", "x": labels, "y": shares, "marker": {"color": ACCENT},
        "customdata": [c.customers for c in figures.coverage],
        "hovertemplate": "%{x}: %{y:.1f}% (%{customdata:,d})<extra></extra>", "name": _("Customers with an active consent"),
    }]
    return {
        "id": "chart-consent-coverage",
        "title": _("Consent coverage per purpose"),
        "caption": caption,
        "empty": figures.customers == 0,
        "empty_text": _("No customers yet."),
        "figure": figure(data, _layout(x_title=_("Purpose"), y_title=_("Customers (%)"), yaxis={"title": {"text": _("Customers (%)")}, "range": [0, 100], "ticksuffix": "%"})),
    }


def weekly_chart(figures: BookFigures) -> dict:
    """Consents granted and withdrawn per week (week starting Monday, UTC)."""
    granted, withdrawn = sum(figures.grants), sum(figures.withdrawals)
    # "Granted" is also a column of dates; here it names a count of consents.
    granted_name = pgettext("consents counted", "Granted")
    data = [
        {"type": "bar", "x": figures.weeks, "y": figures.grants, "name": granted_name, "marker": {"color": GRANT_COLOUR},
         "hovertemplate": _("Week of %{x}") + ": %{y:,d}<extra>" + granted_name + "</extra>"},
        {"type": "bar", "x": figures.weeks, "y": figures.withdrawals, "name": _("Withdrawn"), "marker": {"color": WITHDRAW_COLOUR},
         "hovertemplate": _("Week of %{x}") + ": %{y:,d}<extra>" + _("Withdrawn") + "</extra>"},
    ]
    return {
        "id": "chart-consent-weekly",
        "title": _("Grants and withdrawals per week"),
        "caption": _("%(granted)s and %(withdrawn)s in the last %(weeks)s.") % {
            "granted": ngettext("%(n)s grant", "%(n)s grants", granted) % {"n": count(granted)},
            "withdrawn": ngettext("%(n)s withdrawal", "%(n)s withdrawals", withdrawn) % {"n": count(withdrawn)},
            "weeks": ngettext("%(n)s week", "%(n)s weeks", len(figures.weeks) - 1) % {"n": len(figures.weeks) - 1},
        },
        "empty": granted + withdrawn == 0,
        "empty_text": _("No consent was granted or withdrawn in the last 26 weeks."),
        "figure": figure(data, _layout(x_title=_("Week (UTC)"), y_title=_("Consents"), barmode="group", yaxis={"title": {"text": _("Consents")}, **_count_axis([*figures.grants, *figures.withdrawals])})),
    }

"""One colour per access state and band, the same in badges (CSS), charts and legends (docs/contributing.md, "Pages").

The CSS custom properties in static/css/riskops.css carry the same values; chart selectors take
their colours from here so a chart legend always matches the badge next to it.
"""

ACCESS_COLOURS = {
    "open": "#067647",  # green
    "limited": "#b54708",  # amber
    "suspended": "#c4320a",  # orange
    "closed": "#b42318",  # red
    "not_offered": "#667085",  # grey
}
# Bands A→E on one sequential scale (dark blue = best).
BAND_COLOURS = {"A": "#0b3d91", "B": "#2e62b5", "C": "#5b8bd0", "D": "#97b6e3", "E": "#cfdcf1"}
SEVERITY_COLOURS = {1: "#98a2b3", 2: "#fdb022", 3: "#f79009", 4: "#d92d20", 5: "#7a271a"}
ACCENT = "#1f5fbf"
# One colour per alert rule, all different (a stacked bar of rules must tell every rule apart):
# the hotter rules on the severity scale, the review rules in colours of their own.
RULE_COLOURS = {
    "OVERDUE_90": SEVERITY_COLOURS[5],
    "OVERDUE_30": SEVERITY_COLOURS[4],
    "OVER_BORROWING": SEVERITY_COLOURS[3],
    "SPENDING_SPIKE": SEVERITY_COLOURS[2],
    "FREQUENT_APPLICATIONS": ACCENT,
    "CONSENT_WITHDRAWN": ACCESS_COLOURS["not_offered"],
    "DISCLOSURE_MISSING": "#6941c6",  # violet
}
# Series that are not states: money in and out of the wallet, limit moves.
INCOME_COLOUR = ACCESS_COLOURS["open"]
SPEND_COLOUR = ACCENT
REPAYMENT_COLOUR = "#0e9384"  # teal: apart from spend's blue at a glance
INCREASE_COLOUR = ACCESS_COLOURS["open"]
CUT_COLOUR = ACCESS_COLOURS["closed"]

# Plotly config shared by every chart: no logo, a minimal mode bar.
PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d", "toggleSpikelines"],
}

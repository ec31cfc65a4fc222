"""How amounts, counts and times read on every page: ¥12,345.00, 12,345, 2024-05-01 14:05.

One formatter for the whole project lives in riskops/core/formats.py (the lowest layer, so the
accounts admin and the exports use it too); the pages' selectors import it from here."""

from riskops.core.formats import (  # noqa: F401  (re-exported for the selectors and the charts)
    BLANK,
    count,
    currency_symbol,
    money,
    utc_when,
    when,
    zone_name,
)

# The features (decisions/engine/features.py) whose values are amounts, stored in a snapshot's JSON as
# decimal strings: shown as money wherever the features are written out (the data-subject report).
MONEY_FEATURES = frozenset({"external_debt", "outstanding", "income_proxy_3m", "avg_monthly_spend_3m", "spend_7d"})

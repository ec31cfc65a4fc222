"""Dates and times as every page writes them (riskops/formats/__init__.py)."""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
YEAR_MONTH_FORMAT = "Y-m"
MONTH_DAY_FORMAT = "m-d"
DECIMAL_SEPARATOR = "."
# Comma thousands in both languages (Django's zh-hans has none, grouped by four), applied where
# a template asks for grouping (`floatformat:"0g"`) or USE_THOUSAND_SEPARATOR would.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3

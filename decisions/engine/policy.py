"""The policy document: its schema, its validation, and a typed, parsed view for the engine.

A policy is JSON so that risk admins can version it without a deploy. Numbers that are money or
ratios are strings in the JSON and `Decimal` here (never float). A bad document is refused with a
message naming the field, e.g. ``rules.OVERDUE_30.suspend_days: -1 is less than the minimum of 1``.

Every number has bounds in the schema, chosen so that whatever a valid policy says, the engine's
arithmetic stays finite and every value it derives fits its column (a policy that validated but
overflowed once made every recompute die). NaN and Infinity are refused explicitly: Python's json
module reads them, and they compare false against any bound. The bands, rule names and actions
are the `TextChoices` of `decisions.models`, the same lists the database constraints use.
"""

import json
import math
from dataclasses import dataclass, field as dataclass_field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from jsonschema import Draft202012Validator, ValidationError, validators

from riskops.core.exceptions import PolicyInvalid

from decisions.models import AlertAction, AlertRule, Band

FEATURE_NAMES = (
    "bureau_score",
    "external_lenders",
    "debt_to_income",
    "max_dpd_12m",
    "overdue_count",
    "on_time_ratio",
    "utilisation",
    "income_proxy_3m",
    "spend_spike_ratio",
    "applications_30d",
    "tenure_months",
)
BANDS = tuple(Band.values)
RULES = tuple(AlertRule.values)
ACTIONS = tuple(AlertAction.values)
RULE_PARAMS = {
    "OVER_BORROWING": {"max_external_lenders": "integer", "max_debt_to_income": "decimal"},
    "FREQUENT_APPLICATIONS": {"max_applications_7d": "integer", "max_applications_30d": "integer"},
    "SPENDING_SPIKE": {"min_spike_ratio": "decimal", "min_spend_7d": "decimal"},
    "OVERDUE_30": {"min_days_past_due": "integer"},
    "OVERDUE_90": {"min_days_past_due": "integer"},
    "CONSENT_WITHDRAWN": {},
    "DISCLOSURE_MISSING": {"grace_days": "integer"},
}
# Rules added after policy v1 (frozen in a migration) may be absent from a document: the
# defaults below apply then, so an old version keeps validating and parsing.
OPTIONAL_RULE_DEFAULTS: dict[str, dict] = {
    "DISCLOSURE_MISSING": {"enabled": True, "action": "review", "severity": 2, "grace_days": 30},
}
assert set(RULE_PARAMS) == set(RULES), "every AlertRule needs its parameters declared here"

# --- bounds -------------------------------------------------------------------------------------
# Money in a policy (limits, fallback income, spend thresholds): at most 10^9, three digits inside
# the 14-digit, 2-decimal columns (largest 999,999,999,999.99) that limits are written to, so
# income × multiplier rounded and capped by max_limit always fits.
MONEY_MAX = Decimal("1000000000")
# Days (suspend_days, cycle_days, days-past-due thresholds): ten years. Far beyond any sane
# setting, far below what overflows a datetime (10^10 days did).
DAYS_MAX = 3650
# PDO, the points that double the odds: below 1 a single point more than doubles them (1e-6
# overflowed the float in PD scaling); above 500 the score barely moves the probability.
PDO_MIN, PDO_MAX = 1, 500
# Odds good:bad at base_score: from 1:100 to 10,000:1 covers every real portfolio.
BASE_ODDS_MIN, BASE_ODDS_MAX = Decimal("0.01"), 10_000
# The bad rate's direction as a feature grows, in optbinning's vocabulary (modelling/fitting.py).
MONOTONIC_TRENDS = ("ascending", "descending", "auto", "auto_asc_desc", "peak", "valley", "convex", "concave")
SCORE_MAX = 10_000  # base_score ≤ 1000 plus 11 features × POINTS_MAX, within a smallint column
POINTS_MAX = 1_000  # per bin and for missing values, either sign
EDGE_MAX = Decimal("1000000000000")  # bin edges: features range from ratios to money sums
COUNT_MAX = 10_000  # integer thresholds on counts (lenders, applications)
RATIO_MAX = Decimal("1000")  # debt-to-income and spike-ratio thresholds
MULTIPLIER_MAX = Decimal("100")  # limit = income × multiplier
PERCENT_MAX = Decimal("1000")  # max_increase_pct
SLA_HOURS_MAX = 720  # an alert SLA longer than 30 days is not an SLA
# The PD exponent (score − base_score) / pdo must stay below this: 2**1000 × base_odds is still a
# finite float (about 10^305), 2**1024 is not.
PD_EXPONENT_MAX = 1000
DOCUMENT_MAX_BYTES = 128 * 1024  # the default is ~6 KB; a policy is never a data dump

# The optional `alerts` section (absent from policy v1, frozen in a migration): defaults.
DEFAULT_ALERT_SLA_HOURS = {1: 72, 2: 48, 3: 24, 4: 8, 5: 4}
DEFAULT_SUPPRESSION_DAYS = 14
DEFAULT_MAX_SUPPRESSION_DAYS = 90
SEVERITIES = (1, 2, 3, 4, 5)

# The optional `overrides` section (absent from policy v1): the reason categories a manual
# override request picks from, and how long an override may last. A code is stored on the
# override (`Override.reason_category`, 32 characters); the label is what staff read.
DEFAULT_OVERRIDE_REASON_CATEGORIES = (
    ("new_evidence", "New evidence the model has not seen"),
    ("data_error", "Wrong or missing data"),
    ("hardship", "Hardship arrangement"),
    ("fraud_suspected", "Suspected fraud"),
    ("retention", "Customer retention"),
    ("other", "Other"),
)
DEFAULT_OVERRIDE_MAX_DAYS = 90
DEFAULT_OVERRIDE_DEFAULT_DAYS = 30
OVERRIDE_DAYS_MAX = 365  # an override is an exception: a year at most, then the model again


def _finite(validator, enabled, instance, schema) -> Iterator[ValidationError]:
    if enabled and isinstance(instance, float) and not math.isfinite(instance):
        yield ValidationError(f"{instance!r} is not a finite number")


def _decimal_or_none(instance: Any) -> Decimal | None:
    if not isinstance(instance, str):
        return None
    try:
        value = Decimal(instance)
    except InvalidOperation:
        return None  # the pattern reports it
    return value if value.is_finite() else None


def _decimal_minimum(validator, minimum, instance, schema) -> Iterator[ValidationError]:
    value = _decimal_or_none(instance)
    if value is not None and value < Decimal(minimum):
        yield ValidationError(f"{instance!r} is less than the minimum of {minimum}")


def _decimal_maximum(validator, maximum, instance, schema) -> Iterator[ValidationError]:
    value = _decimal_or_none(instance)
    if value is not None and value > Decimal(maximum):
        yield ValidationError(f"{instance!r} is greater than the maximum of {maximum}")


# Draft 2020-12 plus three keywords: `finite` for numbers, `decimalMinimum`/`decimalMaximum` for
# the decimal strings that money and ratios are written as.
PolicyValidator = validators.extend(
    Draft202012Validator, {"finite": _finite, "decimalMinimum": _decimal_minimum, "decimalMaximum": _decimal_maximum}
)


DECIMAL_PATTERN = r"^-?\d{1,15}(\.\d{1,10})?$"
MONEY_PATTERN = r"^\d{1,12}(\.\d{1,2})?$"  # never negative, cents at most
PERCENT_PATTERN = r"^\d{1,4}(\.\d{1,4})?$"
REASON_PATTERN = "^[A-Z][A-Z0-9_]+$"
CATEGORY_CODE_PATTERN = "^[a-z][a-z0-9_]{0,31}$"
# A failed pattern said in words, per kind of field: a person editing the JSON should not have to
# read a regular expression to learn that "5000.001" has one decimal too many.
PATTERN_WORDS = {
    MONEY_PATTERN: 'must be a positive amount with at most 2 decimals and 12 digits before the point, written as a string like "5000.00"',
    PERCENT_PATTERN: 'must be a positive number with at most 4 decimals and 4 digits before the point, written as a string like "12.5"',
    DECIMAL_PATTERN: (
        'must be a number with at most 10 decimals and 15 digits before the point, written as a string like "1.25" '
        "(a point, no comma, no exponent, no spaces)"
    ),
    REASON_PATTERN: "must be a code of capital letters, digits and underscores starting with a letter, like HIGH_DPD",
    CATEGORY_CODE_PATTERN: "must be a code of small letters, digits and underscores starting with a letter, at most 32 characters, like hardship",
}


def _decimal(minimum: Decimal | int | None = None, maximum: Decimal | int | None = None, *, pattern: str = DECIMAL_PATTERN) -> dict:
    schema: dict[str, Any] = {"type": "string", "pattern": pattern}
    if minimum is not None:
        schema["decimalMinimum"] = str(minimum)
    if maximum is not None:
        schema["decimalMaximum"] = str(maximum)
    return schema


def _int(minimum: int, maximum: int) -> dict:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


def _number(minimum: Decimal | int, maximum: int) -> dict:
    return {"type": "number", "finite": True, "minimum": float(minimum), "maximum": maximum}


_MONEY = _decimal(0, MONEY_MAX, pattern=MONEY_PATTERN)
_MULTIPLIER = _decimal(None, MULTIPLIER_MAX)  # negative: refused by the semantic check, with its own message
_PERCENT = _decimal(0, PERCENT_MAX, pattern=PERCENT_PATTERN)
_POINTS = _int(-POINTS_MAX, POINTS_MAX)
_DAYS = _int(1, DAYS_MAX)
_EDGE = {"anyOf": [{"type": "null"}, _int(-int(EDGE_MAX), int(EDGE_MAX)), _decimal(-EDGE_MAX, EDGE_MAX)]}
PARAM_BOUNDS: dict[str, dict] = {
    "max_external_lenders": _int(0, COUNT_MAX),
    "max_applications_7d": _int(0, COUNT_MAX),
    "max_applications_30d": _int(0, COUNT_MAX),
    "min_days_past_due": _int(0, DAYS_MAX),  # ≥ 1 for OVERDUE_30 and the ladder order: semantic checks
    "max_debt_to_income": _decimal(0, RATIO_MAX),
    "min_spike_ratio": _decimal(0, RATIO_MAX),
    "grace_days": _int(0, DAYS_MAX),
    "min_spend_7d": _MONEY,
}


def _rule_schema(name: str) -> dict:
    params = {k: PARAM_BOUNDS[k] for k in RULE_PARAMS[name]}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["enabled", "action", "severity", *params],
        "properties": {
            "enabled": {"type": "boolean"},
            "action": {"enum": list(ACTIONS)},
            "severity": _int(1, 5),
            "suspend_days": _DAYS,
            **params,
        },
        "if": {"properties": {"action": {"const": AlertAction.SUSPEND.value}}},
        "then": {"required": ["suspend_days"]},
    }


SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["scorecard", "bands", "limits", "rules"],
    "properties": {
        "scorecard": {
            "type": "object",
            "additionalProperties": False,
            "required": ["base_score", "base_odds", "pdo", "features"],
            "properties": {
                "base_score": _int(0, 1000),
                "base_odds": _number(BASE_ODDS_MIN, BASE_ODDS_MAX),
                "pdo": _number(PDO_MIN, PDO_MAX),
                "reason_codes_max": _int(1, 10),
                "features": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": list(FEATURE_NAMES),
                    "properties": {
                        name: {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["reason", "text", "missing_points", "bins"],
                            "properties": {
                                "reason": {"type": "string", "pattern": REASON_PATTERN, "maxLength": 64},
                                "text": {"type": "string", "minLength": 1, "maxLength": 500},
                                "missing_points": _POINTS,
                                # Optional: the direction the bad rate takes as the feature grows,
                                # in optbinning's words. Fitting (modelling/) keeps it; absent, it is
                                # read off the bins' points (feature_trend below).
                                "monotonic_trend": {"enum": list(MONOTONIC_TRENDS)},
                                "bins": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 50,
                                    "items": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "required": ["below", "points"],
                                        "properties": {"below": _EDGE, "points": _POINTS},
                                    },
                                },
                            },
                        }
                        for name in FEATURE_NAMES
                    },
                },
            },
        },
        "bands": {
            "type": "array",
            "minItems": len(BANDS),
            "maxItems": len(BANDS),
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["band", "min_score"],
                "properties": {"band": {"enum": list(BANDS)}, "min_score": _int(0, SCORE_MAX)},
            },
        },
        "limits": {
            "type": "object",
            "additionalProperties": False,
            "required": ["multipliers", "fallback_income", "min_limit", "max_limit", "round_to", "max_increase_pct", "cycle_days"],
            "properties": {
                "multipliers": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": list(BANDS),
                    "properties": {b: _MULTIPLIER for b in BANDS},
                },
                "fallback_income": _MONEY,
                "min_limit": _MONEY,
                "max_limit": _MONEY,
                "round_to": _MONEY,
                "max_increase_pct": _PERCENT,
                "cycle_days": _DAYS,
            },
        },
        "rules": {
            "type": "object",
            "additionalProperties": False,
            "required": [r for r in RULES if r not in OPTIONAL_RULE_DEFAULTS],
            "properties": {name: _rule_schema(name) for name in RULES},
        },
        # Optional: the analyst queue's service levels per severity and how long a dismissed or
        # confirmed alert suppresses the same rule. Absent → the DEFAULT_* values above.
        "alerts": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "sla_hours": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": [str(s) for s in SEVERITIES],
                    "properties": {str(s): _int(1, SLA_HOURS_MAX) for s in SEVERITIES},
                },
                "default_suppression_days": _int(0, DAYS_MAX),
                "max_suppression_days": _DAYS,
            },
        },
        # Optional: manual overrides (decisions/governance/services/overrides.py). Absent → the
        # DEFAULT_OVERRIDE_* values above.
        "overrides": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "reason_categories": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 50,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["code", "label"],
                        "properties": {
                            "code": {"type": "string", "pattern": CATEGORY_CODE_PATTERN},
                            "label": {"type": "string", "minLength": 1, "maxLength": 120},
                        },
                    },
                },
                "max_days": _int(1, OVERRIDE_DAYS_MAX),
                "default_days": _int(1, OVERRIDE_DAYS_MAX),
            },
        },
    },
}
# --- draws: the optional `draws` section (real-time draw checks, draws/services.py) --------------
# Absent from policy v1 (frozen in a migration): DEFAULT_DRAWS applies. Velocity counts and sums
# the customer's draw checks that were *allowed* in the last hour and the last day; a device or
# channel not seen on an allowed check of the customer within N days asks for review (0 turns
# the rule off); `limited` says what a limited line answers for a draw within its available
# amount (review: a person looks first; allow: the reduced limit is the only brake).
# `hold_hours`: an allowed check holds its amount against the available limit for that many
# hours, less the credit draws the customer posted in the same window (the draw, once posted,
# is in the drawn balance: it must not count twice); 0 turns holds off.
DEFAULT_DRAWS: dict[str, Any] = {
    "velocity": {"hour": {"max_count": 5, "max_amount": "20000"}, "day": {"max_count": 20, "max_amount": "50000"}},
    "new_device_days": 90,
    "new_channel_days": 90,
    "limited": "review",
    "hold_hours": 24,
}
# A hold longer than 30 days outlives any authorisation a checkout would wait for; the bound also
# caps the range the draw check's read scans (draws/services.py).
DRAW_HOLD_HOURS_MAX = 720
_DRAW_WINDOW = {
    "type": "object",
    "additionalProperties": False,
    "required": ["max_count", "max_amount"],
    "properties": {"max_count": _int(1, COUNT_MAX), "max_amount": _MONEY},
}
SCHEMA["properties"]["draws"] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "velocity": {
            "type": "object",
            "additionalProperties": False,
            "required": ["hour", "day"],
            "properties": {"hour": _DRAW_WINDOW, "day": _DRAW_WINDOW},
        },
        "new_device_days": _int(0, DAYS_MAX),
        "new_channel_days": _int(0, DAYS_MAX),
        "limited": {"enum": ["review", "allow"]},
        "hold_hours": _int(0, DRAW_HOLD_HOURS_MAX),
    },
}


@dataclass(frozen=True)
class DrawRules:
    """The parsed `draws` section (defaults when absent)."""

    hour_max_count: int = DEFAULT_DRAWS["velocity"]["hour"]["max_count"]
    hour_max_amount: Decimal = Decimal(DEFAULT_DRAWS["velocity"]["hour"]["max_amount"])
    day_max_count: int = DEFAULT_DRAWS["velocity"]["day"]["max_count"]
    day_max_amount: Decimal = Decimal(DEFAULT_DRAWS["velocity"]["day"]["max_amount"])
    new_device_days: int = DEFAULT_DRAWS["new_device_days"]
    new_channel_days: int = DEFAULT_DRAWS["new_channel_days"]
    limited: str = DEFAULT_DRAWS["limited"]
    hold_hours: int = DEFAULT_DRAWS["hold_hours"]


def _validate_draws(draws: dict) -> None:
    velocity = draws.get("velocity")
    if velocity is None:
        return
    hour, day = velocity["hour"], velocity["day"]
    if hour["max_count"] > day["max_count"]:
        raise PolicyInvalid("draws.velocity.hour.max_count: more than the day's", field="draws.velocity.hour.max_count")
    if Decimal(hour["max_amount"]) > Decimal(day["max_amount"]):
        raise PolicyInvalid("draws.velocity.hour.max_amount: more than the day's", field="draws.velocity.hour.max_amount")


def parse_draws(draws: dict) -> DrawRules:
    velocity = draws.get("velocity", DEFAULT_DRAWS["velocity"])
    return DrawRules(
        hour_max_count=int(velocity["hour"]["max_count"]),
        hour_max_amount=Decimal(str(velocity["hour"]["max_amount"])),
        day_max_count=int(velocity["day"]["max_count"]),
        day_max_amount=Decimal(str(velocity["day"]["max_amount"])),
        new_device_days=int(draws.get("new_device_days", DEFAULT_DRAWS["new_device_days"])),
        new_channel_days=int(draws.get("new_channel_days", DEFAULT_DRAWS["new_channel_days"])),
        limited=draws.get("limited", DEFAULT_DRAWS["limited"]),
        hold_hours=int(draws.get("hold_hours", DEFAULT_DRAWS["hold_hours"])),
    )
# --- end of draws ---------------------------------------------------------------------------------

# --- outcome: the optional `outcome` section (the "bad" definition, modelling/services/outcomes.py) --
# Absent from policy v1 (frozen in a migration): DEFAULT_OUTCOME applies, key by key. A customer is
# "bad" at an observation date when the worst days past due reached within `horizon_months` after
# it is at least `bad_days_past_due`. A horizon longer than three years leaves too few matured
# observations to develop a model on; the threshold shares the policy's ten-year bound on days.
DEFAULT_OUTCOME: dict[str, int] = {"bad_days_past_due": 90, "horizon_months": 12}
OUTCOME_HORIZON_MONTHS_MAX = 36
SCHEMA["properties"]["outcome"] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "bad_days_past_due": _DAYS,
        "horizon_months": _int(1, OUTCOME_HORIZON_MONTHS_MAX),
    },
}


@dataclass(frozen=True)
class OutcomeDefinition:
    """The parsed `outcome` section (defaults when absent): what a bad credit outcome is."""

    bad_days_past_due: int = DEFAULT_OUTCOME["bad_days_past_due"]
    horizon_months: int = DEFAULT_OUTCOME["horizon_months"]


def parse_outcome(outcome: dict) -> OutcomeDefinition:
    return OutcomeDefinition(
        bad_days_past_due=int(outcome.get("bad_days_past_due", DEFAULT_OUTCOME["bad_days_past_due"])),
        horizon_months=int(outcome.get("horizon_months", DEFAULT_OUTCOME["horizon_months"])),
    )
# --- end of outcome -------------------------------------------------------------------------------

_VALIDATOR = PolicyValidator(SCHEMA)


def _path(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


def _not_json(value: Any, path: list) -> tuple[list, str] | None:
    """The first value that is not plain JSON (a Decimal, a datetime, a tuple, NaN…), with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return path, f"key {key!r} is not a string"
            found = _not_json(item, [*path, key])
            if found:
                return found
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _not_json(item, [*path, index])
            if found:
                return found
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return path, f"{value!r} is not a finite number"
    if value is None or isinstance(value, (str, int, float)):  # bool is an int
        return None
    return path, f"{type(value).__name__} is not a JSON value"


def _in_words(error: ValidationError) -> str:
    """jsonschema's message, except a failed pattern, which is said per kind of field."""
    if error.validator == "pattern":
        words = PATTERN_WORDS.get(error.validator_value, "is not written in the expected form")
        return f"{error.instance!r} {words}"
    return error.message


def validate_policy(body: Any) -> None:
    """Raise PolicyInvalid naming the first bad field.

    Order: plain JSON with finite numbers (with the path of the first offender), the size cap,
    the schema (shallowest error first), then the semantics the schema cannot say."""
    try:
        found = _not_json(body, [])
    except RecursionError:
        raise PolicyInvalid("(document): nested too deeply", field="(document)") from None
    if found:
        field = _path(found[0])
        raise PolicyInvalid(f"{field}: {found[1]}", field=field)
    size = len(json.dumps(body).encode())
    if size > DOCUMENT_MAX_BYTES:
        raise PolicyInvalid(f"(document): {size} bytes is more than the {DOCUMENT_MAX_BYTES} a policy may have", field="(document)")
    errors = sorted(_VALIDATOR.iter_errors(body), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        error = errors[0]
        field = _path(error.absolute_path)
        raise PolicyInvalid(f"{field}: {_in_words(error)}", field=field)
    for name in FEATURE_NAMES:
        bins = body["scorecard"]["features"][name]["bins"]
        field = f"scorecard.features.{name}.bins"
        if bins[-1]["below"] is not None:
            raise PolicyInvalid(f"{field}: the last bin must have below = null (it catches everything above)", field=field)
        if any(b["below"] is None for b in bins[:-1]):
            raise PolicyInvalid(f"{field}: only the last bin may have below = null", field=field)
        edges = [Decimal(str(b["below"])) for b in bins[:-1]]
        if edges != sorted(set(edges)):
            raise PolicyInvalid(f"{field}: bin edges must be strictly increasing, with null only last", field=field)
    card = body["scorecard"]
    # The best possible score must keep PD scaling finite: odds double every `pdo` points.
    rise = sum(max([b["points"] for b in f["bins"]] + [f["missing_points"]]) for f in card["features"].values())
    if rise / card["pdo"] > PD_EXPONENT_MAX:
        raise PolicyInvalid(
            f"scorecard.pdo: the features can add {rise} points to base_score, so pdo must be at least "
            f"{math.ceil(rise / PD_EXPONENT_MAX)} to keep the odds finite",
            field="scorecard.pdo",
        )
    bands = body["bands"]
    if [b["band"] for b in bands] != list(BANDS):
        raise PolicyInvalid(f"bands: must list {', '.join(BANDS)} in that order", field="bands")
    # Named at the band that breaks the order, so a form can say it beside that band's box.
    for i in range(1, len(bands)):
        if bands[i]["min_score"] >= bands[i - 1]["min_score"]:
            field = f"bands[{i}].min_score"
            raise PolicyInvalid(
                f"{field}: {bands[i]['min_score']} must be below band {bands[i - 1]['band']}'s {bands[i - 1]['min_score']} "
                f"(min_score must fall strictly from {BANDS[0]} to {BANDS[-1]})",
                field=field,
            )
    if bands[-1]["min_score"] != 0:
        field = f"bands[{len(bands) - 1}].min_score"
        raise PolicyInvalid(f"{field}: band {BANDS[-1]} must start at 0, the lowest score", field=field)
    limits = body["limits"]
    if Decimal(limits["min_limit"]) > Decimal(limits["max_limit"]):
        raise PolicyInvalid("limits.min_limit: must not exceed max_limit", field="limits.min_limit")
    if Decimal(limits["round_to"]) <= 0:
        raise PolicyInvalid("limits.round_to: must be positive", field="limits.round_to")
    for band in BANDS:
        if Decimal(limits["multipliers"][band]) < 0:
            field = f"limits.multipliers.{band}"
            raise PolicyInvalid(f"{field}: {limits['multipliers'][band]!r} must not be negative", field=field)
    o30, o90 = body["rules"]["OVERDUE_30"]["min_days_past_due"], body["rules"]["OVERDUE_90"]["min_days_past_due"]
    if o30 < 1:
        raise PolicyInvalid("rules.OVERDUE_30.min_days_past_due: must be at least 1", field="rules.OVERDUE_30.min_days_past_due")
    if o90 <= o30:
        raise PolicyInvalid("rules.OVERDUE_90.min_days_past_due: must be greater than OVERDUE_30's", field="rules.OVERDUE_90.min_days_past_due")
    alerts = body.get("alerts", {})
    sla = alerts.get("sla_hours")
    if sla is not None and any(sla[str(a)] < sla[str(b)] for a, b in zip(SEVERITIES, SEVERITIES[1:])):
        raise PolicyInvalid("alerts.sla_hours: a more severe alert must not get more time than a less severe one", field="alerts.sla_hours")
    default_days = alerts.get("default_suppression_days", DEFAULT_SUPPRESSION_DAYS)
    max_days = alerts.get("max_suppression_days", DEFAULT_MAX_SUPPRESSION_DAYS)
    if default_days > max_days:
        raise PolicyInvalid(
            f"alerts.default_suppression_days: {default_days} is more than max_suppression_days ({max_days})",
            field="alerts.default_suppression_days",
        )
    _validate_draws(body.get("draws", {}))
    overrides = body.get("overrides", {})
    codes = [c["code"] for c in overrides.get("reason_categories", [])]
    if len(codes) != len(set(codes)):
        duplicate = next(c for c in codes if codes.count(c) > 1)
        raise PolicyInvalid(f"overrides.reason_categories: the code {duplicate!r} is listed twice", field="overrides.reason_categories")
    override_max = overrides.get("max_days", DEFAULT_OVERRIDE_MAX_DAYS)
    override_default = overrides.get("default_days", min(DEFAULT_OVERRIDE_DEFAULT_DAYS, override_max))
    if override_default > override_max:
        raise PolicyInvalid(
            f"overrides.default_days: {override_default} is more than max_days ({override_max})", field="overrides.default_days"
        )


@dataclass(frozen=True)
class Bin:
    below: Decimal | None
    points: int


@dataclass(frozen=True)
class FeatureCard:
    name: str
    reason: str
    text: str
    missing_points: int
    bins: tuple[Bin, ...]
    monotonic_trend: str | None = None

    @property
    def trend(self) -> str:
        """The bad rate's direction as the feature grows: the declared one, else read off the
        points (points that rise with the feature mean a bad rate that falls)."""
        if self.monotonic_trend:
            return self.monotonic_trend
        points = [b.points for b in self.bins]
        if len(set(points)) > 1 and points == sorted(points):
            return "descending"
        if len(set(points)) > 1 and points == sorted(points, reverse=True):
            return "ascending"
        return "auto_asc_desc"

    @property
    def max_points(self) -> int:
        return max([b.points for b in self.bins] + [self.missing_points])

    def points_for(self, value: Decimal | int | None) -> int:
        if value is None:
            return self.missing_points
        for b in self.bins:
            if b.below is None or value < b.below:
                return b.points
        raise AssertionError("validated policies end with an open bin")


@dataclass(frozen=True)
class Rule:
    name: str
    enabled: bool
    action: str
    severity: int
    suspend_days: int | None
    params: dict[str, Any]


@dataclass(frozen=True)
class Policy:
    """A validated policy document, parsed once into typed values."""

    version_id: int | None
    base_score: int
    base_odds: Decimal
    pdo: Decimal
    reason_codes_max: int
    features: dict[str, FeatureCard]
    bands: tuple[tuple[str, int], ...]
    multipliers: dict[str, Decimal]
    fallback_income: Decimal
    min_limit: Decimal
    max_limit: Decimal
    round_to: Decimal
    max_increase_pct: Decimal
    cycle_days: int
    rules: dict[str, Rule]
    # From the optional `alerts` section; the defaults apply when it is absent (policy v1).
    alert_sla_hours: dict[int, int] = dataclass_field(default_factory=lambda: dict(DEFAULT_ALERT_SLA_HOURS))
    default_suppression_days: int = DEFAULT_SUPPRESSION_DAYS
    max_suppression_days: int = DEFAULT_MAX_SUPPRESSION_DAYS
    # From the optional `overrides` section; the defaults apply when it is absent (policy v1).
    override_reason_categories: tuple[tuple[str, str], ...] = DEFAULT_OVERRIDE_REASON_CATEGORIES
    override_max_days: int = DEFAULT_OVERRIDE_MAX_DAYS
    override_default_days: int = DEFAULT_OVERRIDE_DEFAULT_DAYS
    # From the optional `draws` section (draw checks); the defaults apply when it is absent.
    draws: DrawRules = dataclass_field(default_factory=DrawRules)
    # From the optional `outcome` section (credit outcomes); the defaults apply when it is absent.
    outcome: OutcomeDefinition = dataclass_field(default_factory=OutcomeDefinition)

    def band_for(self, score: int) -> str:
        for band, min_score in self.bands:
            if score >= min_score:
                return band
        return self.bands[-1][0]


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:  # pragma: no cover - the schema has already refused it
        raise PolicyInvalid(f"not a number: {value!r}") from exc


def parse_policy(body: dict, *, version_id: int | None = None) -> Policy:
    validate_policy(body)
    card = body["scorecard"]
    # int(): JSON Schema's "integer" also admits 30.0; the engine gets real ints.
    features = {
        name: FeatureCard(
            name=name,
            reason=spec["reason"],
            text=spec["text"],
            missing_points=int(spec["missing_points"]),
            bins=tuple(Bin(None if b["below"] is None else _dec(b["below"]), int(b["points"])) for b in spec["bins"]),
            monotonic_trend=spec.get("monotonic_trend"),
        )
        for name, spec in card["features"].items()
    }
    rules = {}
    for name, spec in {**OPTIONAL_RULE_DEFAULTS, **body["rules"]}.items():
        params = {k: (int(spec[k]) if t == "integer" else _dec(spec[k])) for k, t in RULE_PARAMS[name].items()}
        suspend_days = spec.get("suspend_days")
        rules[name] = Rule(
            name, spec["enabled"], spec["action"], int(spec["severity"]), None if suspend_days is None else int(suspend_days), params
        )
    limits = body["limits"]
    alerts = body.get("alerts", {})
    sla = alerts.get("sla_hours")
    overrides = body.get("overrides", {})
    override_max = int(overrides.get("max_days", DEFAULT_OVERRIDE_MAX_DAYS))
    return Policy(
        version_id=version_id,
        base_score=int(card["base_score"]),
        base_odds=_dec(card["base_odds"]),
        pdo=_dec(card["pdo"]),
        reason_codes_max=int(card.get("reason_codes_max", 4)),
        features=features,
        bands=tuple((b["band"], int(b["min_score"])) for b in body["bands"]),
        multipliers={b: _dec(m) for b, m in limits["multipliers"].items()},
        fallback_income=_dec(limits["fallback_income"]),
        min_limit=_dec(limits["min_limit"]),
        max_limit=_dec(limits["max_limit"]),
        round_to=_dec(limits["round_to"]),
        max_increase_pct=_dec(limits["max_increase_pct"]),
        cycle_days=int(limits["cycle_days"]),
        rules=rules,
        alert_sla_hours={s: int(sla[str(s)]) for s in SEVERITIES} if sla is not None else dict(DEFAULT_ALERT_SLA_HOURS),
        default_suppression_days=int(alerts.get("default_suppression_days", DEFAULT_SUPPRESSION_DAYS)),
        max_suppression_days=int(alerts.get("max_suppression_days", DEFAULT_MAX_SUPPRESSION_DAYS)),
        override_reason_categories=tuple((c["code"], c["label"]) for c in overrides.get("reason_categories", []))
        or DEFAULT_OVERRIDE_REASON_CATEGORIES,
        override_max_days=override_max,
        draws=parse_draws(body.get("draws", {})),
        outcome=parse_outcome(body.get("outcome", {})),
        override_default_days=int(overrides.get("default_days", min(DEFAULT_OVERRIDE_DEFAULT_DAYS, override_max))),
    )


DEFAULT_POLICY_PATH = Path(__file__).resolve().parents[1] / "default_policy.json"  # decisions/default_policy.json


@lru_cache(maxsize=1)
def default_policy_body() -> dict:
    return json.loads(DEFAULT_POLICY_PATH.read_text())

"""The policy document: its schema, its validation, and a typed, parsed view for the engine.

A policy is JSON so that risk admins can version it without a deploy. Numbers that are money or
ratios are strings in the JSON and `Decimal` here (never float). A bad document is refused with a
message naming the field, e.g. ``rules.OVERDUE_30.suspend_days: -1 is less than the minimum of 1``.
"""

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from riskops.core.exceptions import PolicyInvalid

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
BANDS = ("A", "B", "C", "D", "E")
RULES = ("OVER_BORROWING", "FREQUENT_APPLICATIONS", "SPENDING_SPIKE", "OVERDUE_30", "OVERDUE_90", "CONSENT_WITHDRAWN")
RULE_PARAMS = {
    "OVER_BORROWING": {"max_external_lenders": "integer", "max_debt_to_income": "decimal"},
    "FREQUENT_APPLICATIONS": {"max_applications_7d": "integer", "max_applications_30d": "integer"},
    "SPENDING_SPIKE": {"min_spike_ratio": "decimal", "min_spend_7d": "decimal"},
    "OVERDUE_30": {"min_days_past_due": "integer"},
    "OVERDUE_90": {"min_days_past_due": "integer"},
    "CONSENT_WITHDRAWN": {},
}

_DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
_AMOUNT = {"type": "string", "pattern": r"^\d+(\.\d+)?$"}  # money, percentages: never negative
_NUMBER_OR_DECIMAL = {"anyOf": [{"type": "integer"}, _DECIMAL]}
_INT = {"type": "integer"}
_POS_INT = {"type": "integer", "minimum": 1}


def _rule_schema(name: str) -> dict:
    params = {k: (_INT if t == "integer" else _DECIMAL) for k, t in RULE_PARAMS[name].items()}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["enabled", "action", "severity", *params],
        "properties": {
            "enabled": {"type": "boolean"},
            "action": {"enum": ["review", "suspend", "close"]},
            "severity": {"type": "integer", "minimum": 1, "maximum": 5},
            "suspend_days": _POS_INT,
            **params,
        },
        "if": {"properties": {"action": {"const": "suspend"}}},
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
                "base_score": {"type": "integer", "minimum": 0, "maximum": 1000},
                "base_odds": {"type": "number", "exclusiveMinimum": 0},
                "pdo": {"type": "number", "exclusiveMinimum": 0},
                "reason_codes_max": {"type": "integer", "minimum": 1, "maximum": 10},
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
                                "reason": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]+$"},
                                "text": {"type": "string", "minLength": 1},
                                "missing_points": _INT,
                                "bins": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "required": ["below", "points"],
                                        "properties": {
                                            "below": {"anyOf": [{"type": "null"}, _NUMBER_OR_DECIMAL]},
                                            "points": _INT,
                                        },
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
            "minItems": 5,
            "maxItems": 5,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["band", "min_score"],
                "properties": {"band": {"enum": list(BANDS)}, "min_score": {"type": "integer", "minimum": 0}},
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
                    "properties": {b: _DECIMAL for b in BANDS},
                },
                "fallback_income": _AMOUNT,
                "min_limit": _AMOUNT,
                "max_limit": _AMOUNT,
                "round_to": _AMOUNT,
                "max_increase_pct": _AMOUNT,
                "cycle_days": _POS_INT,
            },
        },
        "rules": {
            "type": "object",
            "additionalProperties": False,
            "required": list(RULES),
            "properties": {name: _rule_schema(name) for name in RULES},
        },
    },
}
_VALIDATOR = Draft202012Validator(SCHEMA)


def _path(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


def validate_policy(body: Any) -> None:
    """Raise PolicyInvalid naming the first bad field; checks the schema, then the semantics."""
    errors = sorted(_VALIDATOR.iter_errors(body), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        error = errors[0]
        field = _path(error.absolute_path)
        raise PolicyInvalid(f"{field}: {error.message}", field=field)
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
    bands = body["bands"]
    if [b["band"] for b in bands] != list(BANDS):
        raise PolicyInvalid("bands: must list A, B, C, D, E in that order", field="bands")
    scores = [b["min_score"] for b in bands]
    if scores != sorted(scores, reverse=True) or len(set(scores)) != len(scores) or scores[-1] != 0:
        raise PolicyInvalid("bands: min_score must fall strictly from A to E, and E must start at 0", field="bands")
    limits = body["limits"]
    if Decimal(limits["min_limit"]) > Decimal(limits["max_limit"]):
        raise PolicyInvalid("limits.min_limit: must not exceed max_limit", field="limits.min_limit")
    if Decimal(limits["round_to"]) <= 0:
        raise PolicyInvalid("limits.round_to: must be positive", field="limits.round_to")
    multipliers = [Decimal(limits["multipliers"][b]) for b in BANDS]
    if any(m < 0 for m in multipliers):
        raise PolicyInvalid("limits.multipliers: must not be negative", field="limits.multipliers")
    o30, o90 = body["rules"]["OVERDUE_30"]["min_days_past_due"], body["rules"]["OVERDUE_90"]["min_days_past_due"]
    if o30 < 1:
        raise PolicyInvalid("rules.OVERDUE_30.min_days_past_due: must be at least 1", field="rules.OVERDUE_30.min_days_past_due")
    if o90 <= o30:
        raise PolicyInvalid("rules.OVERDUE_90.min_days_past_due: must be greater than OVERDUE_30's", field="rules.OVERDUE_90.min_days_past_due")


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
    features = {
        name: FeatureCard(
            name=name,
            reason=spec["reason"],
            text=spec["text"],
            missing_points=spec["missing_points"],
            bins=tuple(Bin(None if b["below"] is None else _dec(b["below"]), b["points"]) for b in spec["bins"]),
        )
        for name, spec in card["features"].items()
    }
    rules = {}
    for name, spec in body["rules"].items():
        params = {k: (spec[k] if t == "integer" else _dec(spec[k])) for k, t in RULE_PARAMS[name].items()}
        rules[name] = Rule(name, spec["enabled"], spec["action"], spec["severity"], spec.get("suspend_days"), params)
    limits = body["limits"]
    return Policy(
        version_id=version_id,
        base_score=card["base_score"],
        base_odds=_dec(card["base_odds"]),
        pdo=_dec(card["pdo"]),
        reason_codes_max=card.get("reason_codes_max", 4),
        features=features,
        bands=tuple((b["band"], b["min_score"]) for b in body["bands"]),
        multipliers={b: _dec(m) for b, m in limits["multipliers"].items()},
        fallback_income=_dec(limits["fallback_income"]),
        min_limit=_dec(limits["min_limit"]),
        max_limit=_dec(limits["max_limit"]),
        round_to=_dec(limits["round_to"]),
        max_increase_pct=_dec(limits["max_increase_pct"]),
        cycle_days=limits["cycle_days"],
        rules=rules,
    )


DEFAULT_POLICY_PATH = Path(__file__).with_name("default_policy.json")


@lru_cache(maxsize=1)
def default_policy_body() -> dict:
    return json.loads(DEFAULT_POLICY_PATH.read_text())

"""From the engine's scorecard to fitting specs, and from a fitted scorecard back to the policy JSON.

The policy's scorecard is `base_score + Σ points(feature)`; optbinning's is `Σ points(feature)`,
each feature's points carrying a share of the intercept and offset. To write the fitted card in
the policy's own JSON, each selected feature's points are shifted by a whole number `q_i`, with
`Σ q_i = base_score`: every customer's total is unchanged (the points invariant, tested on every
row of a sample), and so are reason codes, which compare a feature's points with its own best bin.
A feature the IV selection dropped gets one open bin of 0 points.
"""

from __future__ import annotations

import copy
from decimal import Decimal

from decisions.engine.policy import FEATURE_NAMES, Policy

from .fitting import FeatureSpec, FittedScorecard, Scaling

# The grid each engine feature's values lie on (decisions/engine/features.py): counts and the
# bureau score are whole numbers, ratios have 4 decimals, money 2. A split rounded to this grid
# sorts every value the engine can produce the same way as the unrounded one would have, and it
# is what the policy JSON can hold exactly.
FEATURE_DECIMALS: dict[str, int] = {
    "bureau_score": 0,
    "external_lenders": 0,
    "debt_to_income": 4,
    "max_dpd_12m": 0,
    "overdue_count": 0,
    "on_time_ratio": 4,
    "utilisation": 4,
    "income_proxy_3m": 2,
    "spend_spike_ratio": 4,
    "applications_30d": 0,
    "tenure_months": 0,
}
assert set(FEATURE_DECIMALS) == set(FEATURE_NAMES)


def engine_specs(policy: Policy) -> list[FeatureSpec]:
    """One spec per engine feature: its trend as the policy states it, its grid."""
    return [
        FeatureSpec(name, "numerical", policy.features[name].trend, FEATURE_DECIMALS[name])
        for name in FEATURE_NAMES
    ]


def engine_scaling(policy: Policy) -> Scaling:
    return Scaling(policy.base_score, float(policy.base_odds), float(policy.pdo))


def _edge(value: float, decimals: int):
    if decimals == 0:
        return int(round(value))
    return str(Decimal(repr(round(value, decimals))).quantize(Decimal(1).scaleb(-decimals)).normalize())


def shares_of(total: int, parts: int) -> list[int]:
    """`total` split into `parts` whole numbers that differ by at most one and sum to it."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def scorecard_section(fitted: FittedScorecard, base: dict) -> dict:
    """The fitted card as a policy `scorecard` section, reason codes and texts kept from `base`
    (the active policy's section)."""
    section = copy.deepcopy(base)
    section["base_score"] = fitted.scaling.base_score
    section["base_odds"] = base["base_odds"]
    section["pdo"] = base["pdo"]
    selected = fitted.selected
    shifts = dict(zip((f.name for f in selected), shares_of(fitted.scaling.base_score, len(selected))))
    fitted_by_name = {f.name: f for f in fitted.features}
    for name, spec in section["features"].items():
        feature = fitted_by_name.get(name)
        if feature is None or not feature.selected:
            # Not in the data (a CSV without it) or dropped by the IV selection: no points.
            spec["missing_points"] = 0
            spec["bins"] = [{"below": None, "points": 0}]
            if feature is not None:
                spec["monotonic_trend"] = feature.monotonic_trend
            continue
        spec["monotonic_trend"] = feature.monotonic_trend
        q = shifts[name]
        decimals = FEATURE_DECIMALS[name]
        edges = [_edge(s, decimals) for s in feature.splits]
        bins: list[dict] = []
        for edge, p in zip([*edges, None], feature.bin_points()):
            if bins and edge is not None and edge == bins[-1]["below"]:
                continue  # two splits on one grid value: the bin between them holds no value
            bins.append({"below": edge, "points": p - q})
        spec["bins"] = bins
        spec["missing_points"] = feature.missing_points - q
    return section


def draft_body(fitted: FittedScorecard, active_body: dict) -> dict:
    """The active policy with its scorecard replaced by the fitted one (limits, rules, bands and
    every other section unchanged)."""
    body = copy.deepcopy(active_body)
    body["scorecard"] = scorecard_section(fitted, active_body["scorecard"])
    return body

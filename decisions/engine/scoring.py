"""The scorecard: binned points per feature, PDO scaling to a probability of default, a band,
and adverse-action reason codes (the features that lost the most points against their best bin)."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .features import Features
from .policy import Policy

PD_UNIT = Decimal("0.00001")


@dataclass(frozen=True)
class ScoreResult:
    score: int
    probability_of_default: Decimal
    band: str
    points: dict[str, int]
    reason_codes: list[dict]


def probability_of_default(score: int, policy: Policy) -> Decimal:
    # PDO scaling: odds (good:bad) are base_odds at base_score and double every `pdo` points.
    odds = float(policy.base_odds) * 2 ** ((score - policy.base_score) / float(policy.pdo))
    pd = 1 / (1 + odds)
    return Decimal(str(pd)).quantize(PD_UNIT, rounding=ROUND_HALF_UP)


def score_features(features: Features, policy: Policy) -> ScoreResult:
    points = {name: card.points_for(getattr(features, name)) for name, card in policy.features.items()}
    score = max(policy.base_score + sum(points.values()), 0)
    lost = sorted(
        ((policy.features[name].max_points - p, name) for name, p in points.items()),
        key=lambda item: (-item[0], item[1]),
    )
    reasons = [
        {
            "code": policy.features[name].reason,
            "feature": name,
            "text": policy.features[name].text,
            "points_lost": points_lost,
            "value": _json_value(getattr(features, name)),
        }
        for points_lost, name in lost[: policy.reason_codes_max]
        if points_lost > 0
    ]
    return ScoreResult(score, probability_of_default(score, policy), policy.band_for(score), points, reasons)


def _json_value(value):
    return str(value) if isinstance(value, Decimal) else value



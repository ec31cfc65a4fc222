"""Scoring a whole frame with a policy's scorecard, vectorised.

The same arithmetic as `decisions.engine.scoring.score_features` (a bin is the first whose `below`
the value is under, a missing value gets `missing_points`, the score is `base_score + Σ points`
floored at 0, the band the first whose `min_score` it reaches), on numpy columns instead of one
customer at a time; a test holds the two equal on every row of a sample. Values are compared as
floats: the engine's values lie on a grid of at most 4 decimals (modelling/policy_card.py) and
edges are written on the same grid, so the comparison orders them as the engine's Decimals do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from decisions.engine.policy import Policy
from decisions.engine.scoring import probability_of_default


def feature_points(policy: Policy, name: str, values) -> np.ndarray:
    card = policy.features[name]
    values = np.asarray(values, dtype=float)
    edges = np.array([float(b.below) for b in card.bins[:-1]], dtype=float)
    points = np.array([b.points for b in card.bins], dtype=np.int64)
    out = points[np.digitize(np.nan_to_num(values, nan=0.0), edges, right=False)]
    return np.where(np.isnan(values), card.missing_points, out)


def policy_scores(policy: Policy, frame: pd.DataFrame) -> np.ndarray:
    total = np.full(len(frame), policy.base_score, dtype=np.int64)
    for name in policy.features:
        total += feature_points(policy, name, frame[name].to_numpy())
    return np.maximum(total, 0)


def policy_bands(policy: Policy, scores: np.ndarray) -> np.ndarray:
    bands = np.full(len(scores), policy.bands[-1][0], dtype=object)
    for band, min_score in reversed(policy.bands):
        bands[scores >= min_score] = band
    return bands


def policy_pds(policy: Policy, scores: np.ndarray) -> np.ndarray:
    """The engine's PD per distinct score (rounded as the engine rounds it)."""
    distinct = np.unique(scores)
    lookup = {int(s): float(probability_of_default(int(s), policy)) for s in distinct}
    return np.array([lookup[int(s)] for s in scores], dtype=float)

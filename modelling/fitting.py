"""Fitting a scorecard with optbinning: optimal monotonic binning per feature, selection by IV,
a logistic regression on the weights of evidence, points scaled by PDO and odds.

Pure: a frame and a target in, a `FittedScorecard` out; nothing here reads or writes the database.
The scaling is the policy's own (`base_score`, `base_odds`, `pdo`): a customer with score S has
good:bad odds of `base_odds · 2^((S − base_score)/pdo)`, exactly the engine's
`decisions.engine.scoring.probability_of_default`. Points are rounded to integers (optbinning's
`rounding=True`), so a fitted score is a sum of integers and the policy JSON can carry it exactly.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from optbinning import Scorecard

# optbinning and scikit-learn are imported where a card is fitted, not at module load: they take
# over a second to import, and every process that loads the URLs (web workers, Celery workers,
# each manage.py command) would pay it.

# Bins: at most 20 pre-bins, each final bin holding at least 5% of the rows (a bin smaller than
# that is noise on a development sample), features kept when their IV reaches 0.02 (below is
# "not predictive" on the usual scale: < 0.02 useless, 0.02–0.1 weak, 0.1–0.3 medium, > 0.3 strong).
DEFAULT_MIN_IV = 0.02
DEFAULT_MAX_N_PREBINS = 20
DEFAULT_MIN_BIN_SIZE = 0.05
# Up to this many training rows the L2 strength of the regression is chosen by 5-fold
# cross-validated AUC (on a small sample it matters, and 50 fits cost little); above it the
# penalty is negligible against the data and one fit with C = 1 is what the time budget allows.
CROSS_VALIDATE_UP_TO_ROWS = 50_000
TRENDS = ("ascending", "descending", "auto", "auto_asc_desc", "peak", "valley", "convex", "concave")


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    dtype: str = "numerical"  # or "categorical"
    monotonic_trend: str = "auto"  # of the bad rate as the feature grows (optbinning's words)
    split_digits: int | None = None  # decimals kept in a split (0 for counts): the engine's grid


@dataclass(frozen=True)
class Scaling:
    base_score: int
    base_odds: float
    pdo: float


@dataclass
class BinRow:
    label: str
    count: int
    bads: int
    event_rate: float
    woe: float
    iv: float
    points: int
    kind: str = "bin"  # "bin", "special" or "missing"


@dataclass
class FittedFeature:
    name: str
    dtype: str
    iv: float
    selected: bool
    monotonic_trend: str
    splits: list = field(default_factory=list)  # numeric: the bin edges; categorical: lists of categories
    bins: list[BinRow] = field(default_factory=list)  # selected features only

    @property
    def missing_points(self) -> int:
        return next((b.points for b in self.bins if b.kind == "missing"), 0)

    def bin_points(self) -> list[int]:
        return [b.points for b in self.bins if b.kind == "bin"]


@dataclass
class FittedScorecard:
    scaling: Scaling
    features: list[FittedFeature]
    intercept: float
    coefficients: dict[str, float]
    _scorecard: "Scorecard"  # in memory only: never stored, never pickled

    @property
    def selected(self) -> list[FittedFeature]:
        return [f for f in self.features if f.selected]

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        """optbinning's own score (a sum of the rounded points), as integers."""
        return np.rint(self._scorecard.score(frame)).astype(np.int64)

    def predict_pd(self, frame: pd.DataFrame) -> np.ndarray:
        return self._scorecard.predict_proba(frame)[:, 1]


class FitRefused(ValueError):
    """The data cannot make a scorecard (no feature reaches the IV threshold, …)."""


def fit_scorecard(
    frame: pd.DataFrame,
    target: np.ndarray,
    specs: list[FeatureSpec],
    scaling: Scaling,
    *,
    min_iv: float = DEFAULT_MIN_IV,
    max_n_prebins: int = DEFAULT_MAX_N_PREBINS,
    min_bin_size: float = DEFAULT_MIN_BIN_SIZE,
) -> FittedScorecard:
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

    names = [s.name for s in specs]
    fit_params = {}
    for spec in specs:
        params: dict = {"monotonic_trend": spec.monotonic_trend} if spec.dtype == "numerical" else {}
        if spec.split_digits is not None:
            params["split_digits"] = spec.split_digits
        if params:
            fit_params[spec.name] = params
    process = BinningProcess(
        names,
        categorical_variables=[s.name for s in specs if s.dtype == "categorical"] or None,
        max_n_prebins=max_n_prebins,
        min_bin_size=min_bin_size,
        selection_criteria={"iv": {"min": min_iv}},
        binning_fit_params=fit_params or None,
    )
    if len(frame) <= CROSS_VALIDATE_UP_TO_ROWS:
        estimator = LogisticRegressionCV(Cs=10, cv=5, scoring="roc_auc", max_iter=1000)
    else:
        estimator = LogisticRegression(solver="lbfgs", max_iter=1000)
    card = Scorecard(
        binning_process=process,
        estimator=estimator,
        scaling_method="pdo_odds",
        scaling_method_params={"pdo": scaling.pdo, "odds": scaling.base_odds, "scorecard_points": scaling.base_score},
        rounding=True,
    )
    with warnings.catch_warnings():
        # optbinning and pandas talk about their own internals (dtype casts, solver notes).
        warnings.simplefilter("ignore")
        try:
            card.fit(frame[names], np.asarray(target, dtype=int), metric_missing="empirical", metric_special="empirical")
        except ValueError as exc:
            if "selected" in str(exc).lower() or "0 feature" in str(exc).lower():
                raise FitRefused(f"no feature reaches an information value of {min_iv}") from exc
            raise
    process = card.binning_process_
    support = set(process.get_support(names=True))
    if not support:
        raise FitRefused(f"no feature reaches an information value of {min_iv}")
    table = card.table(style="detailed")
    coefficients = dict(zip(process.get_support(names=True), card.estimator_.coef_.flatten().tolist()))
    features = []
    for spec in specs:
        optb = process.get_binned_variable(spec.name)
        summary = optb.binning_table.build(add_totals=False)
        iv = float(summary["IV"].sum())
        fitted = FittedFeature(
            name=spec.name,
            dtype=spec.dtype,
            iv=iv,
            selected=spec.name in support,
            monotonic_trend=spec.monotonic_trend,
            splits=[list(map(_plain, s)) for s in optb.splits] if spec.dtype == "categorical" else [float(s) for s in optb.splits],
        )
        if fitted.selected:
            rows = table[table["Variable"] == spec.name]
            fitted.bins = [_bin_row(r) for _, r in rows.iterrows()]
        features.append(fitted)
    intercept = float(np.asarray(card.estimator_.intercept_).flatten()[0])
    return FittedScorecard(scaling, features, intercept, coefficients, card)


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _bin_row(row) -> BinRow:
    label = str(row["Bin"])
    kind = "missing" if label == "Missing" else "special" if label == "Special" else "bin"
    return BinRow(
        label=label,
        count=int(row["Count"]),
        bads=int(row["Event"]),
        event_rate=float(row["Event rate"]) if not pd.isna(row["Event rate"]) else 0.0,
        woe=float(row["WoE"]),
        iv=float(row["IV"]),
        points=int(round(float(row["Points"]))),
        kind=kind,
    )

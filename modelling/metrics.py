"""Ranking and stability metrics for scorecards: AUC, Gini, KS (with bootstrap intervals), ROC and
KS curves, PSI, and calibration per band with a binomial test.

Written on score histograms rather than on rows: a scorecard's score is an integer, so a sample of
a million rows has at most a few hundred distinct scores. AUC and KS from the two histograms (bads
and goods per distinct score) are exact (ties count one half, as in the Mann-Whitney statistic and
scikit-learn's `roc_auc_score`, which a test holds them equal to), and a bootstrap replicate is a
multinomial draw of each histogram — a stratified bootstrap that keeps the number of bads and
goods, in O(distinct scores) instead of O(rows). That is why this is written here rather than
calling scikit-learn 1,000 times on resampled rows.

Every function takes a *risk* value: higher means more likely to go bad (a PD, or a score negated).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A bin with no row in one of the two distributions would make PSI infinite; the usual floor.
PSI_FLOOR = 1e-4
BOOTSTRAP_REPLICATES = 1000
CURVE_POINTS_MAX = 200


@dataclass(frozen=True)
class Histograms:
    """Bads and goods per distinct risk value, risk ascending."""

    values: np.ndarray
    bads: np.ndarray
    goods: np.ndarray

    @property
    def n_bad(self) -> int:
        return int(self.bads.sum())

    @property
    def n_good(self) -> int:
        return int(self.goods.sum())


def histograms(risk, bad) -> Histograms:
    risk = np.asarray(risk, dtype=float)
    bad = np.asarray(bad, dtype=bool)
    values, inverse = np.unique(risk, return_inverse=True)
    bads = np.bincount(inverse, weights=bad, minlength=len(values)).astype(np.int64)
    goods = np.bincount(inverse, weights=~bad, minlength=len(values)).astype(np.int64)
    return Histograms(values, bads, goods)


def _auc_from_counts(bads: np.ndarray, goods: np.ndarray) -> np.ndarray:
    """AUC for one histogram pair (1-d) or many replicates (2-d, one per row): P(risk of a bad >
    risk of a good) + ½ P(equal)."""
    n_bad = bads.sum(axis=-1)
    n_good = goods.sum(axis=-1)
    goods_below = np.cumsum(goods, axis=-1) - goods
    wins = (bads * goods_below).sum(axis=-1) + 0.5 * (bads * goods).sum(axis=-1)
    return wins / (n_bad * n_good)


def _ks_from_counts(bads: np.ndarray, goods: np.ndarray) -> np.ndarray:
    """KS: the largest gap between the cumulative shares of goods and bads (risk ascending)."""
    cum_bad = np.cumsum(bads, axis=-1) / bads.sum(axis=-1, keepdims=True)
    cum_good = np.cumsum(goods, axis=-1) / goods.sum(axis=-1, keepdims=True)
    return np.abs(cum_good - cum_bad).max(axis=-1)


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float

    def as_json(self) -> dict:
        return {"value": round(self.value, 4), "ci95": [round(self.low, 4), round(self.high, 4)]}


@dataclass(frozen=True)
class Ranking:
    rows: int
    bads: int
    auc: Interval
    gini: Interval
    ks: Interval

    def as_json(self) -> dict:
        return {
            "rows": self.rows,
            "bads": self.bads,
            "bad_rate": round(self.bads / self.rows, 6) if self.rows else None,
            "auc": self.auc.as_json(),
            "gini": self.gini.as_json(),
            "ks": self.ks.as_json(),
        }


class NotEnoughOutcomes(ValueError):
    """A part of the sample has no bad or no good row: nothing can be ranked."""


def ranking(risk, bad, *, replicates: int = BOOTSTRAP_REPLICATES, seed: int = 0) -> Ranking:
    """AUC, Gini (2·AUC − 1) and KS with 95% percentile intervals from a stratified bootstrap."""
    h = histograms(risk, bad)
    if h.n_bad == 0 or h.n_good == 0:
        raise NotEnoughOutcomes(f"{h.n_bad} bad and {h.n_good} good rows: both are needed to rank")
    auc = float(_auc_from_counts(h.bads, h.goods))
    ks = float(_ks_from_counts(h.bads, h.goods))
    rng = np.random.default_rng(seed)
    boot_bads = rng.multinomial(h.n_bad, h.bads / h.n_bad, size=replicates)
    boot_goods = rng.multinomial(h.n_good, h.goods / h.n_good, size=replicates)
    aucs = _auc_from_counts(boot_bads, boot_goods)
    kss = _ks_from_counts(boot_bads, boot_goods)
    lo, hi = np.percentile(aucs, [2.5, 97.5])
    ks_lo, ks_hi = np.percentile(kss, [2.5, 97.5])
    return Ranking(
        rows=h.n_bad + h.n_good,
        bads=h.n_bad,
        auc=Interval(auc, float(lo), float(hi)),
        gini=Interval(2 * auc - 1, float(2 * lo - 1), float(2 * hi - 1)),
        ks=Interval(ks, float(ks_lo), float(ks_hi)),
    )


def auc(risk, bad) -> float:
    h = histograms(risk, bad)
    if h.n_bad == 0 or h.n_good == 0:
        raise NotEnoughOutcomes(f"{h.n_bad} bad and {h.n_good} good rows: both are needed to rank")
    return float(_auc_from_counts(h.bads, h.goods))


def _thin(points: list, limit: int = CURVE_POINTS_MAX) -> list:
    if len(points) <= limit:
        return points
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


def roc_curve(risk, bad) -> dict:
    """False and true positive rates, cutting from the riskiest value down (at most 200 points)."""
    h = histograms(risk, bad)
    tpr = np.concatenate([[0.0], np.cumsum(h.bads[::-1]) / max(h.n_bad, 1)])
    fpr = np.concatenate([[0.0], np.cumsum(h.goods[::-1]) / max(h.n_good, 1)])
    points = _thin([(round(float(f), 5), round(float(t), 5)) for f, t in zip(fpr, tpr)])
    return {"fpr": [p[0] for p in points], "tpr": [p[1] for p in points]}


def ks_curve(score, bad) -> dict:
    """Cumulative shares of bads and goods by score ascending (a scorecard's KS chart)."""
    h = histograms(score, bad)
    cum_bad = np.cumsum(h.bads) / max(h.n_bad, 1)
    cum_good = np.cumsum(h.goods) / max(h.n_good, 1)
    points = _thin([(float(v), round(float(b), 5), round(float(g), 5)) for v, b, g in zip(h.values, cum_bad, cum_good)])
    return {"score": [p[0] for p in points], "bads": [p[1] for p in points], "goods": [p[2] for p in points]}


def psi(expected_counts, actual_counts) -> float:
    """Population stability index between two distributions over the same bins:
    Σ (a − e) · ln(a / e), shares floored at 1e-4. < 0.10 stable, 0.10–0.25 a shift, ≥ 0.25 a
    population the model was not developed on."""
    e = np.asarray(expected_counts, dtype=float)
    a = np.asarray(actual_counts, dtype=float)
    if e.sum() == 0 or a.sum() == 0:
        raise ValueError("PSI needs rows on both sides")
    e = np.maximum(e / e.sum(), PSI_FLOOR)
    a = np.maximum(a / a.sum(), PSI_FLOOR)
    return float(((a - e) * np.log(a / e)).sum())


def bin_counts(values, edges, *, include_missing: bool = True) -> list[int]:
    """Rows per bin for edges [e1, e2, …] meaning x < e1, e1 ≤ x < e2, …, x ≥ e_last; NaN counts
    in a last, missing bin (when include_missing)."""
    values = np.asarray(values, dtype=float)
    missing = np.isnan(values)
    counts = np.bincount(np.digitize(values[~missing], np.asarray(edges, dtype=float), right=False), minlength=len(edges) + 1)
    out = [int(c) for c in counts]
    return [*out, int(missing.sum())] if include_missing else out


@dataclass(frozen=True)
class BandCalibration:
    band: str
    rows: int
    bads: int
    predicted_pd: float
    observed_rate: float
    p_value: float

    def as_json(self) -> dict:
        return {
            "band": self.band,
            "rows": self.rows,
            "bads": self.bads,
            "predicted_pd": round(self.predicted_pd, 5),
            "observed_rate": round(self.observed_rate, 5),
            "p_value": round(self.p_value, 5),
            # Two-sided at 5%: the band's observed bads are unlikely under its predicted PD.
            "consistent": self.p_value >= 0.05,
        }


def calibration(bands, predicted_pd, bad, *, order: tuple[str, ...]) -> list[BandCalibration]:
    """Per band: mean predicted PD against the observed bad rate, with an exact binomial test of
    the band's bads under its mean PD."""
    from scipy.stats import binomtest  # here, not at module load: scipy.stats takes a second to import
    bands = np.asarray(bands)
    predicted_pd = np.asarray(predicted_pd, dtype=float)
    bad = np.asarray(bad, dtype=bool)
    out = []
    for band in order:
        mask = bands == band
        n = int(mask.sum())
        if n == 0:
            continue
        k = int(bad[mask].sum())
        p = float(predicted_pd[mask].mean())
        test = binomtest(k, n, min(max(p, 1e-9), 1 - 1e-9))
        out.append(BandCalibration(band, n, k, p, k / n, float(test.pvalue)))
    return out

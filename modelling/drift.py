"""Drift arithmetic for model monitoring, with no database: a reference frozen from a histogram,
one night's figures against a reference (the score's PSI, each feature's CSI, their levels), and
when a metric at the alert level is a new incident.

The book's distribution arrives as histograms (modelling/book_distribution.py counts it in the
database): the score per distinct value, each feature per bin of the reference's edges with the
missing values last. PSI and bins are `modelling/metrics.py`'s; levels and thresholds are
`modelling/validation.py`'s, the same the validation report uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import metrics
from .validation import PSI_ALERT, psi_level, score_buckets

SCORE = "score"  # the metric name of the score's PSI; a feature's CSI is named after the feature
LEVEL_ORDER = ("stable", "warning", "alert")
PLACES = 5  # PSI is stored rounded, as the validation report shows it


@dataclass(frozen=True)
class BookDistribution:
    """The book's latest scored snapshots as histograms: customers per distinct score, and per
    feature the customers in each bin of the edges it was counted on (missing values last)."""

    score_values: tuple[int, ...]
    score_customers: tuple[int, ...]
    features: dict[str, list[int]]

    @property
    def rows(self) -> int:
        return int(sum(self.score_customers))

    def scores(self) -> np.ndarray:
        """One value per customer (a few hundred distinct scores at most: cheap to expand)."""
        return np.repeat(np.asarray(self.score_values, dtype=float), np.asarray(self.score_customers, dtype=np.int64))


def policy_feature_edges(policy) -> dict[str, list[float]]:
    """The policy's bins as edges (x < e1, e1 ≤ x < e2, …, x ≥ e_last), as the report reads them."""
    return {name: [float(b.below) for b in card.bins[:-1]] for name, card in policy.features.items()}


def reference_from_book(book: BookDistribution, feature_edges: dict[str, list[float]]) -> dict:
    """A reference in the shape of `validation.monitoring_reference`, from the book itself: the
    score's deciles and the policy's feature bins, with the book's counts."""
    scores = book.scores()
    edges = score_buckets(scores)
    return {
        "score_edges": edges,
        "score_counts": metrics.bin_counts(scores, edges, include_missing=False),
        "features": {name: {"edges": list(e), "counts": list(book.features[name])} for name, e in feature_edges.items()},
        "rows": book.rows,
    }


def reference_feature_edges(reference: dict) -> dict[str, list[float]]:
    return {name: [float(e) for e in spec["edges"]] for name, spec in reference["features"].items()}


def worst(levels) -> str:
    return max(levels, key=LEVEL_ORDER.index, default="stable")


@dataclass(frozen=True)
class Figures:
    """One night against the reference."""

    rows: int
    score_psi: float
    csi: dict[str, float]
    counts: dict  # {"score": per score bucket, "features": {name: per bin, missing last}}

    def metrics(self) -> dict[str, float]:
        """Every monitored metric by name: the score first, then the features."""
        return {SCORE: self.score_psi, **self.csi}

    def levels(self) -> dict[str, str]:
        return {name: psi_level(value) for name, value in self.metrics().items()}

    @property
    def level(self) -> str:
        return worst(self.levels().values())


def figures(reference: dict, book: BookDistribution) -> Figures:
    score_counts = metrics.bin_counts(book.scores(), reference["score_edges"], include_missing=False)
    csi = {
        name: round(metrics.psi(spec["counts"], book.features[name]), PLACES)
        for name, spec in reference["features"].items()
    }
    return Figures(
        rows=book.rows,
        score_psi=round(metrics.psi(reference["score_counts"], score_counts), PLACES),
        csi=csi,
        counts={"score": score_counts, "features": {name: list(book.features[name]) for name in reference["features"]}},
    )


@dataclass(frozen=True)
class AlertHistory:
    """What a night needs to know of the alerts already raised for its version."""

    open_metrics: frozenset[str] = frozenset()
    raised_tonight: frozenset[str] = frozenset()  # metrics with an alert raised by this same night
    ever_raised: frozenset[str] = frozenset()
    previous_night: dict[str, float] | None = field(default=None)  # the latest earlier night's metrics


def new_incidents(tonight: dict[str, float], history: AlertHistory) -> list[str]:
    """The metrics at the alert level tonight that start an incident: no alert of theirs is open,
    none was raised by this night already (a rerun), and the metric was not already at the alert
    level on the previous night measured with an alert raised for it (the same incident, already
    acknowledged: it is not raised again every night until it falls below the level)."""
    out = []
    for metric, value in tonight.items():
        if value < PSI_ALERT or metric in history.open_metrics or metric in history.raised_tonight:
            continue
        previous = (history.previous_night or {}).get(metric)
        if metric in history.ever_raised and previous is not None and previous >= PSI_ALERT:
            continue
        out.append(metric)
    return out

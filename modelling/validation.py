"""The validation report of a scorecard: how well it ranks, whether it is calibrated and stable,
whether its bins keep the policy's directions — as plain JSON, the same document the page draws
and the command writes.

Pure: frames, scores and outcomes in, a dict out. Parts of the sample: `train` (the rows the card
was fitted on), `test` (a random holdout of customers) and, from the book, `oot` (out of time: the
latest observation dates, none of which the fit saw).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from decisions.engine.policy import BANDS, Policy

from . import metrics
from .fitting import FittedScorecard  # light: optbinning is imported only when a card is fitted
from .scoring_frame import policy_bands, policy_pds, policy_scores

# PSI and CSI levels (the usual reading; monitoring uses the same).
PSI_WARNING = 0.10
PSI_ALERT = 0.25
SCORE_BUCKETS = 10  # deciles of the development scores: the bins score PSI is measured on

TRAIN, TEST, OOT = "train", "test", "oot"
PARTS = (TRAIN, TEST, OOT)


@dataclass(frozen=True)
class SplitSettings:
    test_fraction: float = 0.3
    oot_months: int = 2
    seed: int = 0


def split_parts(frame: pd.DataFrame, settings: SplitSettings, *, by_date: bool) -> np.ndarray:
    """`train`, `test` or `oot` per row. The holdout is drawn by customer (a customer's rows at
    several dates are correlated: they all go to one side); `oot` is the latest `oot_months`
    observation dates when `by_date`."""
    parts = np.full(len(frame), TRAIN, dtype=object)
    if by_date and settings.oot_months:
        dates = sorted(set(frame["observation_date"]))
        oot_dates = set(dates[-settings.oot_months :])
        parts[frame["observation_date"].isin(oot_dates).to_numpy()] = OOT
    customers = np.unique(frame["customer_id"].to_numpy())
    rng = np.random.default_rng(settings.seed)
    test_customers = set(rng.choice(customers, size=int(round(len(customers) * settings.test_fraction)), replace=False).tolist())
    in_test = frame["customer_id"].isin(test_customers).to_numpy() & (parts == TRAIN)
    parts[in_test] = TEST
    return parts


def score_buckets(scores: np.ndarray) -> list[float]:
    """Edges of the development scores' deciles (distinct, so a bucket is never empty by design)."""
    edges = np.unique(np.quantile(scores, np.linspace(0, 1, SCORE_BUCKETS + 1)[1:-1]))
    return [float(e) for e in edges]


def psi_level(value: float) -> str:
    return "alert" if value >= PSI_ALERT else "warning" if value >= PSI_WARNING else "stable"


def _monotonic(values: list[float], trend: str) -> bool | None:
    """Whether bad rates follow the trend (None: the trend does not say a direction)."""
    if trend == "ascending":
        return all(a <= b + 1e-12 for a, b in zip(values, values[1:]))
    if trend == "descending":
        return all(a >= b - 1e-12 for a, b in zip(values, values[1:]))
    return None


def features_section(fitted: FittedScorecard, draft: Policy | None) -> list[dict]:
    """IV, the monotonicity check and the binning table per feature. Points are the policy JSON's
    when there is a draft (the fitted points less the feature's share of base_score), optbinning's
    otherwise."""
    out = []
    for feature in fitted.features:
        bins = [b for b in feature.bins if b.kind == "bin"]
        follows = _monotonic([b.event_rate for b in bins], feature.monotonic_trend) if feature.selected else None
        card = draft.features.get(feature.name) if draft is not None else None
        shift = 0
        if card is not None and feature.selected:
            shift = feature.missing_points - card.missing_points
        out.append(
            {
                "name": feature.name,
                "iv": round(feature.iv, 5),
                "selected": feature.selected,
                "monotonic_trend": feature.monotonic_trend,
                "monotonic": follows,
                "bins": [
                    {
                        "label": b.label,
                        "kind": b.kind,
                        "rows": b.count,
                        "bads": b.bads,
                        "bad_rate": round(b.event_rate, 5),
                        "woe": round(b.woe, 5),
                        "iv": round(b.iv, 5),
                        "points": b.points - shift,
                    }
                    for b in feature.bins
                    if b.kind != "special"  # the engine has no special values
                ],
            }
        )
    return sorted(out, key=lambda f: (not f["selected"], -f["iv"]))


def csi(train_values: np.ndarray, other_values: np.ndarray, edges: list[float]) -> float:
    return metrics.psi(metrics.bin_counts(train_values, edges), metrics.bin_counts(other_values, edges))


def monitoring_reference(frame: pd.DataFrame, scores: np.ndarray, feature_edges: dict[str, list[float]]) -> dict:
    """What monitoring compares the book with, frozen at fit (and carried to sign-off): the
    development rows' distribution over the score deciles and over each feature's bins."""
    edges = score_buckets(scores)
    return {
        "score_edges": edges,
        "score_counts": metrics.bin_counts(scores, edges, include_missing=False),
        "features": {
            name: {"edges": e, "counts": metrics.bin_counts(frame[name].to_numpy(), e)} for name, e in feature_edges.items()
        },
        "rows": int(len(frame)),
    }


@dataclass(frozen=True)
class Scored:
    """A card's view of every row: score, PD and band (deciles of the score when there is no
    policy, from a CSV)."""

    scores: np.ndarray
    pds: np.ndarray
    bands: np.ndarray
    band_order: tuple[str, ...]
    feature_edges: dict[str, list[float]]


def scored_by_policy(policy: Policy, frame: pd.DataFrame) -> Scored:
    scores = policy_scores(policy, frame)
    edges = {name: [float(b.below) for b in card.bins[:-1]] for name, card in policy.features.items()}
    return Scored(scores, policy_pds(policy, scores), policy_bands(policy, scores), BANDS, edges)


def scored_by_fit(fitted: FittedScorecard, frame: pd.DataFrame, parts: np.ndarray) -> Scored:
    scores = fitted.score(frame)
    odds = fitted.scaling.base_odds * np.power(2.0, (scores - fitted.scaling.base_score) / fitted.scaling.pdo)
    deciles = score_buckets(scores[parts == TRAIN])
    # Decile 1 holds the lowest scores (the riskiest).
    bands = np.array([str(i + 1) for i in np.digitize(scores, deciles, right=False)], dtype=object)
    edges = {f.name: list(f.splits) for f in fitted.selected if f.dtype == "numerical"}
    return Scored(scores, 1 / (1 + odds), bands, tuple(str(i + 1) for i in range(len(deciles) + 1)), edges)


def build_report(
    *,
    frame: pd.DataFrame,
    parts: np.ndarray,
    fitted: FittedScorecard | None,
    scored: Scored,
    draft: Policy | None,
    champion: Policy | None,
    oracle_risk: np.ndarray | None,
    model_card: dict,
    features: list[dict] | None = None,
) -> tuple[dict, dict]:
    """The report and the monitoring reference. `frame` has `bad` and one column per feature.

    `features`, when given, is the features section already built (from a policy's own bins, by
    `build_policy_report`); `fitted` may then be None."""
    scores = scored.scores
    bad = frame["bad"].to_numpy(dtype=bool)
    train = parts == TRAIN
    report: dict = {"model_card": model_card, "parts": {}, "curves": {}, "champion": {}, "oracle": {}}
    for part in PARTS:
        mask = parts == part
        if not mask.any():
            continue
        ranking = metrics.ranking(-scores[mask], bad[mask])
        report["parts"][part] = ranking.as_json()
        report["curves"][part] = {"roc": metrics.roc_curve(-scores[mask], bad[mask]), "ks": metrics.ks_curve(scores[mask], bad[mask])}
        if champion is not None:
            report["champion"][part] = round(metrics.auc(-policy_scores(champion, frame[mask]), bad[mask]), 4)
        if oracle_risk is not None:
            known = mask & ~np.isnan(oracle_risk)
            if known.any() and bad[known].any() and (~bad[known]).any():
                report["oracle"][part] = round(metrics.auc(oracle_risk[known], bad[known]), 4)
    report["features"] = features if features is not None else features_section(fitted, draft)
    report["calibration"] = {
        part: [
            c.as_json()
            for c in metrics.calibration(scored.bands[parts == part], scored.pds[parts == part], bad[parts == part], order=scored.band_order)
        ]
        for part in (TEST, OOT)
        if (parts == part).any()
    }
    reference = monitoring_reference(frame[train], scores[train], scored.feature_edges)
    stability = {}
    for part in (TEST, OOT):
        mask = parts == part
        if not mask.any():
            continue
        score_psi = metrics.psi(reference["score_counts"], metrics.bin_counts(scores[mask], reference["score_edges"], include_missing=False))
        stability[part] = {
            "score_psi": round(score_psi, 5),
            "level": psi_level(score_psi),
            "csi": {
                name: round(csi(frame.loc[train, name].to_numpy(), frame.loc[mask, name].to_numpy(), ref["edges"]), 5)
                for name, ref in reference["features"].items()
            },
        }
    report["stability"] = stability
    return report, reference


def _edge_text(value) -> str:
    return "inf" if value is None else str(value)


def _bin_labels(edges: list) -> list[str]:
    """optbinning's labels for the same bins: (-inf, e1), [e1, e2), …, [e_last, inf)."""
    bounds = [None, *edges, None]
    return [
        f"{'(-inf' if low is None else '[' + _edge_text(low)}, {_edge_text(high)})"
        for low, high in zip(bounds[:-1], bounds[1:])
    ]


def _bin_statistics(rows: np.ndarray, bads: np.ndarray) -> tuple[list, list]:
    """WoE and IV per bin in optbinning's convention (WoE = ln(share of goods / share of bads):
    positive is safer than average; IV = Σ (goods share − bads share) · WoE). A bin without a bad
    or without a good row has no WoE and adds nothing to the IV (None)."""
    goods = rows - bads
    total_bads, total_goods = bads.sum(), goods.sum()
    woe: list = []
    iv: list = []
    for b, g in zip(bads, goods):
        if b == 0 or g == 0 or total_bads == 0 or total_goods == 0:
            woe.append(None)
            iv.append(None)
            continue
        share_good, share_bad = g / total_goods, b / total_bads
        w = float(np.log(share_good / share_bad))
        woe.append(w)
        iv.append(float((share_good - share_bad) * w))
    return woe, iv


def policy_features_section(policy: Policy, frame: pd.DataFrame, bad: np.ndarray) -> list[dict]:
    """The features section of a report for a scorecard that was not fitted here (a hand-edited
    draft, or a fitted one validated again): the policy's own bins, with rows, bads, bad rate, WoE
    and IV per bin counted on `frame` (the development rows), its points, and the monotonicity
    check against the trend the policy states (or reads off the points). The same shape as
    `features_section`; a feature whose points do not vary ranks nobody and is not "selected"."""
    bad = np.asarray(bad, dtype=bool)
    out = []
    for name, card in policy.features.items():
        edges = [b.below for b in card.bins[:-1]]
        counts = np.array(metrics.bin_counts(frame[name].to_numpy(), [float(e) for e in edges]), dtype=np.int64)
        bad_counts = np.array(metrics.bin_counts(frame.loc[bad, name].to_numpy(), [float(e) for e in edges]), dtype=np.int64)
        woe, iv = _bin_statistics(counts, bad_counts)
        labels = [*_bin_labels(edges), "Missing"]
        points = [b.points for b in card.bins] + [card.missing_points]
        selected = len(set(points)) > 1
        bins = [
            {
                "label": label,
                "kind": "missing" if i == len(card.bins) else "bin",
                "rows": int(counts[i]),
                "bads": int(bad_counts[i]),
                "bad_rate": round(float(bad_counts[i] / counts[i]), 5) if counts[i] else None,
                "woe": None if woe[i] is None else round(woe[i], 5),
                "iv": None if iv[i] is None else round(iv[i], 5),
                "points": points[i],
            }
            for i, label in enumerate(labels)
        ]
        # Empty bins say nothing about the direction: the check reads the bins that hold rows.
        rates = [b["bad_rate"] for b in bins if b["kind"] == "bin" and b["bad_rate"] is not None]
        out.append(
            {
                "name": name,
                "iv": round(sum(v for v in iv if v is not None), 5),
                "selected": selected,
                "monotonic_trend": card.trend,
                "monotonic": _monotonic(rates, card.trend) if selected else None,
                "bins": bins,
            }
        )
    return sorted(out, key=lambda f: (not f["selected"], -f["iv"]))


def build_policy_report(
    *,
    frame: pd.DataFrame,
    parts: np.ndarray,
    draft: Policy,
    champion: Policy | None,
    oracle_risk: np.ndarray | None,
    model_card: dict,
) -> tuple[dict, dict]:
    """The report and monitoring reference of a policy's scorecard as it stands, without fitting:
    `build_report` with the features section read off the policy's bins on the training rows."""
    train = parts == TRAIN
    features = policy_features_section(draft, frame[train], frame.loc[train, "bad"].to_numpy(dtype=bool))
    return build_report(
        frame=frame, parts=parts, fitted=None, scored=scored_by_policy(draft, frame), draft=draft, champion=champion,
        oracle_risk=oracle_risk, model_card=model_card, features=features,
    )


def report_digest(report: dict) -> str:
    return hashlib.sha256(json.dumps(report, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def scorecard_digest(body: dict) -> str:
    """The digest of a policy's scorecard section: a report is valid for this scorecard only."""
    return hashlib.sha256(json.dumps(body["scorecard"], sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def report_summary(report: dict) -> dict:
    """The command's `--report-json`: the headline figures flat (`train`/`test`/`oot` with `auc`,
    `gini`, `ks`, `rows`), the features with their IV and bins, the oracle AUC on a synthetic book,
    and the whole report under `report`."""
    summary: dict = {}
    for part, ranking in report["parts"].items():
        summary[part] = {
            "auc": ranking["auc"]["value"],
            "gini": ranking["gini"]["value"],
            "ks": ranking["ks"]["value"],
            "rows": ranking["rows"],
            "bads": ranking["bads"],
            "auc_ci95": ranking["auc"]["ci95"],
            "gini_ci95": ranking["gini"]["ci95"],
            "ks_ci95": ranking["ks"]["ci95"],
        }
        if part in report.get("champion", {}):
            summary[part]["champion_auc"] = report["champion"][part]
    summary["features"] = [{"name": f["name"], "iv": f["iv"], "selected": f["selected"], "bins": f["bins"]} for f in report["features"]]
    if report.get("oracle"):
        summary["oracle_auc"] = report["oracle"]
    summary["report"] = report
    return summary

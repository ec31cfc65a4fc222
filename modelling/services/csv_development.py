"""Scorecard development from a risk team's own CSV file (modelling/csv_input.py).

The fit and the report are the book's (fitting.py, validation.py); the differences: the holdout is
the file's own split column or a random share of rows, there is no out-of-time part and no oracle,
and nothing is written unless a draft is asked for. A CSV's columns are not the engine's features,
so a draft is written only with `draft=True`, and then only when every column is an engine
feature (the refusal names the others): the engine could not compute anything else.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from decisions.engine.policy import FEATURE_NAMES, parse_policy
from decisions.engine.policy_reads import active_policy
from decisions.models import PolicyVersion

from ..csv_input import CsvRefused, read_development_csv
from ..fitting import FitRefused, fit_scorecard

# A file's columns are kept whatever their information value: the L2 strength chosen by
# cross-validated AUC (fitting.py) shrinks the weak ones instead. On the German credit file, over
# the 20 random 70/30 splits of `make bench-model`, dropping columns below an IV of 0.02 (the
# book's rule, whose features are the engine's own) cost 0.0018 of test AUC and fell below
# optbinning's own defaults; keeping them all came out above them (docs/benchmarks.md).
CSV_MIN_IV = 0.0
from ..models import ScorecardDevelopment
from ..policy_card import FEATURE_DECIMALS, draft_body, engine_scaling
from ..validation import TEST, TRAIN, build_report, scored_by_fit, scored_by_policy
from .development import DevelopmentResult, check_points_invariant, store_draft


def random_parts(rows: int, *, test_fraction: float, seed: int) -> np.ndarray:
    """`train` or `test` per row, each row in the test part with probability `test_fraction`."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random(rows) < test_fraction, TEST, TRAIN).astype(object)


@dataclass(frozen=True)
class CsvFit:
    report: dict
    draft: DevelopmentResult | None


def scorecard_fit_csv(
    *,
    path: Path,
    target: str,
    bad_value: str,
    split_column: str | None = None,
    test_fraction: float = 0.3,
    seed: int = 0,
    draft: bool = False,
    actor=None,
    name: str = "",
) -> CsvFit:
    """Fit and validate on the file; with `draft`, also write the draft policy version.

    Refused with CsvRefused naming the file, column or argument (nothing written)."""
    if not 0 < test_fraction < 1:
        raise CsvRefused("--test-fraction must be between 0 and 1 (exclusive)", field="test_fraction")
    sample = read_development_csv(path, target=target, bad_value=bad_value, split_column=split_column)
    _version, champion = active_policy()
    specs = sample.specs
    if draft:
        foreign = [c for c in sample.columns if c not in FEATURE_NAMES]
        if foreign:
            raise CsvRefused(
                f"--draft: {', '.join(foreign)} {'is not an engine feature' if len(foreign) == 1 else 'are not engine features'} "
                f"(the engine computes {', '.join(FEATURE_NAMES)})",
                field="draft",
            )
        # The engine's own directions and grids for its features.
        specs = [
            type(spec)(spec.name, "numerical", champion.features[spec.name].trend, FEATURE_DECIMALS[spec.name]) for spec in specs
        ]
    frame = sample.frame.copy()
    frame["bad"] = sample.bad
    if sample.split is not None:
        parts = np.where(sample.split == "test", TEST, TRAIN).astype(object)
    else:
        parts = random_parts(len(frame), test_fraction=test_fraction, seed=seed)
    train = parts == TRAIN
    for part in (TRAIN, TEST):
        bads = int(sample.bad[parts == part].sum())
        goods = int((~sample.bad[parts == part]).sum())
        if bads == 0 or goods == 0:
            raise CsvRefused(f"the {part} part has {bads} bad and {goods} good rows: it needs both", field="split_column" if split_column else "test_fraction")
    try:
        fitted = fit_scorecard(frame.loc[train, sample.columns], sample.bad[train], specs, engine_scaling(champion), min_iv=CSV_MIN_IV)
    except FitRefused as exc:
        raise CsvRefused(str(exc), field="from_csv") from exc
    digest = {
        "rows": int(len(frame)),
        "bads": int(sample.bad.sum()),
        "columns": sample.columns,
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    model_card = {
        "source": "csv",
        "owner": actor.get_username() if actor else "system",
        "file": path.name,
        "rows": digest["rows"],
        "bad_rate": round(digest["bads"] / digest["rows"], 6),
        "target": {"column": target, "bad_value": bad_value},
        "split": {"column": split_column} if split_column else {"test_fraction": test_fraction, "seed": seed},
        "limitations": [
            "Fitted on a file: RiskOps cannot say how its rows were chosen, what consent covers them, or "
            "whether its columns mean what the engine's features mean.",
        ],
    }
    if not draft:
        full = frame[sample.columns].assign(bad=sample.bad)
        report, _reference = build_report(
            frame=full, parts=parts, fitted=fitted, scored=scored_by_fit(fitted, full, parts), draft=None, champion=None,
            oracle_risk=None, model_card=model_card,
        )
        return CsvFit(report, None)
    active = PolicyVersion.objects.get(state=PolicyVersion.State.ACTIVE)
    body = draft_body(fitted, active.body)
    policy = parse_policy(body)
    full = frame.copy()
    for name_ in FEATURE_NAMES:
        if name_ not in full.columns:
            full[name_] = np.nan  # the draft gives an absent feature no points
    scored = scored_by_policy(policy, full)
    check_points_invariant(scored.scores, fitted, full[sample.columns])
    report, reference = build_report(
        frame=full, parts=parts, fitted=fitted, scored=scored, draft=policy, champion=None, oracle_risk=None, model_card=model_card
    )
    result = store_draft(
        body=body, report=report, reference=reference, sample_digest=digest, source=ScorecardDevelopment.Source.CSV,
        settings={"min_iv": CSV_MIN_IV, "test_fraction": test_fraction, "seed": seed, "split_column": split_column},
        actor=actor, name=name or f"Fitted scorecard from {path.name}",
    )
    return CsvFit(report, result)

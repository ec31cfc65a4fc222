"""Scorecard development from the book: sample, fit, validate, write a draft policy version.

`scorecard_develop` builds the development sample (services/sample.py), splits it (a random
holdout of customers, and the latest observation dates out of time), fits with optbinning
(fitting.py) scaled by the active policy's base score, odds and PDO, writes the fitted bins and
points into a copy of the active policy (policy_card.py), validates the result (validation.py)
and stores, in one transaction, the draft `PolicyVersion`, its `ScorecardDevelopment` (sample
digest, report, monitoring reference) and the audit events. The draft goes through the usual
four-eyes activation; its report travels with it (services/signoff.py).

Before anything is written the draft is scored with the engine's own arithmetic on every row of
the sample and compared with optbinning's score: a draft that would score a customer differently
from the card that was fitted is never written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_noop

from decisions.engine.policy import parse_policy
from decisions.engine.policy_reads import active_policy
from decisions.governance.services.policy import policy_create
from decisions.models import PolicyVersion
from riskops.core.audit import audit_record
from riskops.core.exceptions import ValidationFailed
from riskops.core.models import AuditAction

from ..fitting import DEFAULT_MIN_IV, FitRefused, fit_scorecard
from ..models import ScorecardDevelopment
from ..oracle import oracle_risk
from ..policy_card import draft_body, engine_scaling, engine_specs
from ..validation import TEST, TRAIN, SplitSettings, build_report, report_digest, scorecard_digest, scored_by_policy, split_parts
from .sample import DevelopmentSample, development_sample

# Fewer than this many bads or goods and bins, IV and AUC are noise.
MIN_CLASS_ROWS = 50

# Stored in English in the report (its digest covers them); gettext_noop marks them so the report
# page shows them in the viewer's language (modelling/report_selectors.py).
LIMITATIONS = (
    gettext_noop(
        "Fitted on the customers the policy of the time scored: applicants it never let in have no "
        "outcome (no reject inference)."
    ),
    gettext_noop("Outcomes mature only after the horizon: the latest months of the book are not in the sample."),
    gettext_noop(
        "Features are the engine's as recorded at each observation date; a feature the engine did not "
        "compute for want of consent is missing, and scores as the fitted missing bin."
    ),
)


@dataclass(frozen=True)
class DevelopmentResult:
    version: PolicyVersion
    development: ScorecardDevelopment
    report: dict


def require_both_classes(bad: np.ndarray, *, field: str) -> None:
    bads, goods = int(bad.sum()), int((~bad).sum())
    if bads < MIN_CLASS_ROWS or goods < MIN_CLASS_ROWS:
        raise ValidationFailed(
            _("%(field)s has %(bads)d bad and %(goods)d good rows: at least %(min)d of each are needed to fit a scorecard.")
            % {"field": field, "bads": bads, "goods": goods, "min": MIN_CLASS_ROWS},
            field=field,
        )


SYNTHETIC_LIMITATION = "A synthetic book: customers, events and outcomes come from a generative model (docs/synthetic-book.md)."


def book_model_card(
    sample: DevelopmentSample, parts: np.ndarray, *, owner: str, split: SplitSettings, oracle: bool,
    extra_limitations: tuple[str, ...] = (), libraries: dict | None = None, **facts,
) -> dict:
    """The model card of a scorecard developed or validated on the book: data period, size, bad
    rate, definition, exclusions, split, owner, libraries, limitations (`facts` add fields, such as
    who validated it and how)."""
    import optbinning  # for their versions; imported where needed (fitting.py says why)
    import sklearn

    digest = sample.digest()
    oot_dates = sorted(set(sample.frame.loc[parts == "oot", "observation_date"]))
    limitations = [*LIMITATIONS, *extra_limitations, *([SYNTHETIC_LIMITATION] if oracle else [])]
    return {
        "source": "book",
        "owner": owner,
        **facts,
        "data_period": {"observation_from": digest["observation_from"], "observation_to": digest["observation_to"]},
        "out_of_time_dates": [d.isoformat() for d in oot_dates],
        "rows": digest["rows"],
        "customers": digest["customers"],
        "bad_rate": round(digest["bads"] / digest["rows"], 6) if digest["rows"] else None,
        "definition": digest["definition"],
        "exclusions": digest["excluded"],
        "exclusions_by_date": sample.exclusions,
        "split": asdict(split),
        "libraries": libraries or {"optbinning": optbinning.__version__, "scikit-learn": sklearn.__version__},
        "limitations": limitations,
    }


def scorecard_develop(
    *,
    actor,
    observation_from: date | None = None,
    observation_to: date | None = None,
    split: SplitSettings = SplitSettings(),
    name: str = "",
) -> DevelopmentResult:
    """Fit a scorecard on the book and write it as a draft policy version with its report.

    Refused with ValidationFailed naming the argument, nothing written: no matured outcome in the
    dates, fewer than 50 bads or goods, no observation date left for development after the
    out-of-time months, no feature informative enough."""
    if observation_from and observation_to and observation_from > observation_to:
        raise ValidationFailed(_("--observation-from is after --observation-to."), field="observation_from")
    if not 0 <= split.oot_months <= 24:
        raise ValidationFailed(_("--oot-months must be between 0 and 24."), field="oot_months")
    if not 0 < split.test_fraction < 1:
        raise ValidationFailed(_("--test-fraction must be between 0 and 1 (exclusive)."), field="test_fraction")
    _version, champion = active_policy()
    active = PolicyVersion.objects.get(state=PolicyVersion.State.ACTIVE)
    sample = development_sample(observation_from=observation_from, observation_to=observation_to)
    frame = sample.frame
    dates = sample.dates
    if split.oot_months and len(dates) <= split.oot_months:
        raise ValidationFailed(
            _("%(n)d matured observation date(s) (%(first)s to %(last)s): --oot-months %(oot)d leaves none to develop on.")
            % {"n": len(dates), "first": dates[0].isoformat(), "last": dates[-1].isoformat(), "oot": split.oot_months},
            field="oot_months",
        )
    bad = frame["bad"].to_numpy(dtype=bool)
    require_both_classes(bad, field="sample")
    parts = split_parts(frame, split, by_date=True)
    train = parts == TRAIN
    require_both_classes(bad[train], field="train")
    try:
        fitted = fit_scorecard(frame[train], bad[train], engine_specs(champion), engine_scaling(champion))
    except FitRefused as exc:
        raise ValidationFailed(str(exc), field="sample") from exc
    body = draft_body(fitted, active.body)
    draft = parse_policy(body)
    scored = scored_by_policy(draft, frame)
    check_points_invariant(scored.scores, fitted, frame)
    oracle = oracle_risk(frame, horizon_months=sample.definition["horizon_months"])
    owner = actor.get_username() if actor else "system"
    model_card = book_model_card(sample, parts, owner=owner, split=split, oracle=oracle is not None)
    report, reference = build_report(
        frame=frame, parts=parts, fitted=fitted, scored=scored, draft=draft, champion=champion, oracle_risk=oracle, model_card=model_card
    )
    sample_digest = sample.digest()
    name = name or _("Fitted scorecard, %(start)s to %(end)s") % {
        "start": sample_digest["observation_from"], "end": sample_digest["observation_to"]
    }
    settings = {**asdict(split), "min_iv": DEFAULT_MIN_IV, "champion_version": active.version}
    return store_draft(
        body=body, report=report, reference=reference, sample_digest=sample_digest, source=ScorecardDevelopment.Source.BOOK,
        settings=settings, actor=actor, name=name,
    )


def store_draft(
    *, body: dict, report: dict, reference: dict, sample_digest: dict, source: str, settings: dict, actor, name: str
) -> DevelopmentResult:
    """Write the draft version, its development record and the audit events, in one transaction."""
    report_sha = report_digest(report)
    now = timezone.now()
    with transaction.atomic():
        version = policy_create(
            name=name[:120],
            body=body,
            actor=actor,
            notes=_("Fitted by optbinning on %(rows)d observations (sample %(sha)s…); validation report %(report)s….")
            % {"rows": sample_digest["rows"], "sha": sample_digest["sha256"][:12], "report": report_sha[:12]},
        )
        development = ScorecardDevelopment.objects.create(
            policy_version=version,
            source=source,
            sample_digest=sample_digest,
            sample_sha256=sample_digest["sha256"],
            fit_settings=settings,
            report=report,
            report_sha256=report_sha,
            scorecard_sha256=scorecard_digest(body),
            reference=reference,
            created_by=actor,
            created_at=now,
            validated_at=now,
        )
        audit_record(
            actor=actor,
            action=AuditAction.SCORECARD_FIT,
            target=version,
            after={
                "version": version.version,
                "source": source,
                "sample": sample_digest["sha256"],
                "rows": sample_digest["rows"],
                "report": report_sha,
                "test_auc": report["parts"].get(TEST, {}).get("auc", {}).get("value"),
            },
        )
    return DevelopmentResult(version, development, report)


def check_points_invariant(scored_scores: np.ndarray, fitted, frame) -> None:
    """The policy JSON must score every row as the fitted card does (a programming error
    otherwise, never a user's: nothing is written)."""
    mismatched = int((scored_scores != np.maximum(fitted.score(frame), 0)).sum())
    if mismatched:
        raise RuntimeError(f"the policy JSON scores {mismatched} rows differently from the fitted scorecard")

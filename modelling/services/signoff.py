"""Sign-off of a scorecard: a draft that changes the scorecard is activated only with a validation
report of that exact scorecard, and the report's and the sample's digests travel into the audit
chain with the activation request and the activation.

- `signoff_evidence` is the activation check (registered in modelling/apps.py into
  decisions/governance/activation_checks.py, called by `policy_activation_request` and
  `policy_activation_approve`): a draft whose `scorecard` section equals the active policy's
  (limits or rules changed only) needs nothing; otherwise its `ScorecardDevelopment` must have
  validated the scorecard as it is now (`scorecard_sha256`), or the step is refused (Conflict on
  `validation_report`, nothing changed) with what to do.
- `scorecard_validate` validates a draft's current scorecard on a fresh development sample
  without fitting (validation.py: `build_policy_report`, the policy's own bins counted on the
  sample) and stores the report on the version's `ScorecardDevelopment` (created, not fitted, for
  a hand-edited draft). Audited `scorecard.validate` with the report's and the sample's digests.
"""

from __future__ import annotations

from dataclasses import asdict, fields

import numpy as np
import pandas as pd
import scipy
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _, ngettext

from decisions.engine.policy import parse_policy
from decisions.engine.policy_reads import active_policy
from decisions.governance.services.guards import require_draft, require_perm
from decisions.models import PolicyVersion
from riskops.core.audit import audit_record
from riskops.core.exceptions import Conflict, NotFound, ValidationFailed
from riskops.core.models import AuditAction

from ..metrics import NotEnoughOutcomes
from ..models import ScorecardDevelopment
from ..oracle import oracle_risk
from ..validation import OOT, TEST, TRAIN, SplitSettings, build_policy_report, report_digest, scorecard_digest, split_parts
from .development import book_model_card, require_both_classes
from .sample import development_sample

# Validating is changing a draft's evidence: the same permission as editing the draft.
VALIDATE_PERM = "decisions.change_policyversion"

VALIDATION_LIMITATION = (
    "Validated without fitting: the bins and points are the policy's as written; rows, bads, WoE and IV "
    "per bin are counted on the training rows of this sample."
)


def _active_scorecard_digest() -> str | None:
    body = PolicyVersion.objects.filter(state=PolicyVersion.State.ACTIVE).values_list("body", flat=True).first()
    return scorecard_digest(body) if body is not None else None


def scorecard_changed(version: PolicyVersion) -> bool:
    """Whether the version's scorecard differs from the active policy's (no active one: it does)."""
    return scorecard_digest(version.body) != _active_scorecard_digest()


def report_url(version: PolicyVersion) -> str:
    return reverse("modelling:report", args=[version.version])


def signoff_evidence(version: PolicyVersion) -> dict:
    """The activation check: what the audit events of the request and the activation carry, or a
    Conflict naming `validation_report` when the scorecard changed without a report of it."""
    if not scorecard_changed(version):
        return {}
    development = (
        ScorecardDevelopment.objects.filter(policy_version_id=version.pk)
        .only("report_sha256", "sample_sha256", "scorecard_sha256", "validated_at")
        .first()
    )
    current = scorecard_digest(version.body)
    if development is None:
        raise Conflict(
            _("Policy v%(version)s changes the scorecard and has no validation report: validate it on its report page (%(url)s) first.")
            % {"version": version.version, "url": report_url(version)},
            field="validation_report",
        )
    if development.scorecard_sha256 != current:
        raise Conflict(
            _("The scorecard of policy v%(version)s changed after its validation report: validate it again on its report page (%(url)s) first.")
            % {"version": version.version, "url": report_url(version)},
            field="validation_report",
        )
    return {
        "validation_report": development.report_sha256,
        "development_sample": development.sample_sha256,
        "validated_scorecard": current,
        "validated_at": development.validated_at.isoformat(),
    }


def _split_of(development: ScorecardDevelopment | None) -> SplitSettings:
    """The split the version was developed with (its fit settings), else the defaults."""
    settings = development.fit_settings if development is not None else {}
    known = {f.name for f in fields(SplitSettings)}
    return SplitSettings(**{k: v for k, v in (settings or {}).items() if k in known})


def _owner(version: PolicyVersion, development: ScorecardDevelopment | None, actor) -> str:
    if development is not None and development.report.get("model_card", {}).get("owner"):
        return development.report["model_card"]["owner"]
    author = version.created_by or actor
    return author.get_username() if author else "system"


def scorecard_validate(*, version: PolicyVersion, actor) -> ScorecardDevelopment:
    """Validate a draft's scorecard as it is now on a fresh development sample, without fitting,
    and store the report on its `ScorecardDevelopment`. Audited (scorecard.validate).

    Refused, nothing written: not a risk admin (NotPermitted), not a draft (Conflict on `state`),
    no matured outcome or too few bads or goods (ValidationFailed on the sample), the draft edited
    while it was being validated (Conflict on `validation_report`)."""
    require_perm(actor, VALIDATE_PERM)
    version = PolicyVersion.objects.filter(pk=version.pk).select_related("created_by").first()
    if version is None:
        raise NotFound(_("No such policy version."), field="version")
    require_draft(version)
    development = ScorecardDevelopment.objects.filter(policy_version_id=version.pk).first()
    split = _split_of(development)
    body = version.body
    digest = scorecard_digest(body)
    draft = parse_policy(body)
    _active, champion = active_policy()

    sample = development_sample()
    frame = sample.frame
    dates = sample.dates
    if split.oot_months and len(dates) <= split.oot_months:
        raise ValidationFailed(
            ngettext(
                "%(n)d matured observation date: the out-of-time months of this draft's split (%(oot)d) leave none to validate on.",
                "%(n)d matured observation dates: the out-of-time months of this draft's split (%(oot)d) leave none to validate on.",
                len(dates),
            )
            % {"n": len(dates), "oot": split.oot_months},
            field="sample",
        )
    bad = frame["bad"].to_numpy(dtype=bool)
    require_both_classes(bad, field="sample")
    parts = split_parts(frame, split, by_date=True)
    require_both_classes(bad[parts == TRAIN], field="train")
    oracle = oracle_risk(frame, horizon_months=sample.definition["horizon_months"])
    fitted = development is not None and development.fitted and development.scorecard_sha256 == digest
    model_card = book_model_card(
        sample, parts, owner=_owner(version, development, actor), split=split, oracle=oracle is not None,
        extra_limitations=(VALIDATION_LIMITATION,),
        libraries={"numpy": np.__version__, "pandas": pd.__version__, "scipy": scipy.__version__},
        validated_by=actor.get_username() if actor else "system",
        method="fitted card validated again on the policy's bins" if fitted else "hand-edited card validated on the policy's bins",
    )
    try:
        report, reference = build_policy_report(
            frame=frame, parts=parts, draft=draft, champion=champion, oracle_risk=oracle, model_card=model_card
        )
    except NotEnoughOutcomes as exc:
        raise ValidationFailed(
            _("A part of the sample has no bad or no good row (%(detail)s): wait for more outcomes to mature.") % {"detail": exc},
            field="sample",
        ) from exc
    report_sha = report_digest(report)
    sample_digest = sample.digest()
    now = timezone.now()
    with transaction.atomic():
        locked = PolicyVersion.objects.select_for_update().get(pk=version.pk)
        require_draft(locked)
        if scorecard_digest(locked.body) != digest:
            raise Conflict(_("The draft was edited while it was being validated: validate it again."), field="validation_report")
        development = ScorecardDevelopment.objects.select_for_update().filter(policy_version_id=version.pk).first()
        before = (
            {"report": development.report_sha256, "sample": development.sample_sha256, "scorecard": development.scorecard_sha256}
            if development is not None
            else {}
        )
        values = {
            "sample_digest": sample_digest,
            "sample_sha256": sample_digest["sha256"],
            "report": report,
            "report_sha256": report_sha,
            "scorecard_sha256": digest,
            "reference": reference,
            "validated_at": now,
            "validated_by": actor,
            "fitted": fitted,
        }
        if development is None:
            development = ScorecardDevelopment.objects.create(
                policy_version=locked, source=ScorecardDevelopment.Source.BOOK, fit_settings=asdict(split),
                created_by=actor, created_at=now, **values,
            )
        else:
            for name, value in values.items():
                setattr(development, name, value)
            development.save(update_fields=list(values))
        audit_record(
            actor=actor,
            action=AuditAction.SCORECARD_VALIDATE,
            target=locked,
            before=before,
            after={
                "version": locked.version,
                "report": report_sha,
                "sample": sample_digest["sha256"],
                "scorecard": digest,
                "rows": sample_digest["rows"],
                "fitted": fitted,
                "test_auc": report["parts"].get(TEST, {}).get("auc", {}).get("value"),
                "oot_auc": report["parts"].get(OOT, {}).get("auc", {}).get("value"),
            },
        )
    return development

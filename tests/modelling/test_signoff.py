"""Sign-off of a scorecard: a draft that changes the scorecard is requested and approved only with a
validation report of that exact scorecard (fitted, or validated again after an edit, or validated
by hand), the report's and the sample's digests travel into the audit chain; limits-only drafts
are unaffected; `scorecard_validate` on the policy's own bins."""

import copy

import numpy as np
import pytest

from decisions.governance.services.policy import (
    policy_activation_approve,
    policy_activation_request,
    policy_draft_edit,
    policy_simulate,
)
from decisions.governance.services.simulation import simulation_process_inline
from decisions.engine.policy import parse_policy
from decisions.models import PolicyVersion
from modelling.models import Outcome, ScorecardDevelopment
from modelling.services.development import scorecard_develop
from modelling.services.sample import development_sample
from modelling.services.signoff import scorecard_validate, signoff_evidence
from modelling.validation import TRAIN, SplitSettings, policy_features_section, report_digest, scorecard_digest, split_parts
from riskops.core.audit import verify_chain
from riskops.core.exceptions import Conflict, NotPermitted, ValidationFailed
from riskops.core.models import AuditEvent
from tests.decisions.policy_factories import active_version, edited_draft, second_admin, stricter_body  # noqa: F401
from tests.modelling.book_factories import modelling_book

pytestmark = pytest.mark.django_db

SPLIT = SplitSettings(oot_months=1)


def _simulated(draft, actor):
    simulation = simulation_process_inline(simulation=policy_simulate(version=draft, actor=actor, enqueue=False))
    assert simulation.status == "succeeded"
    return simulation


def _fitted_draft(actor) -> PolicyVersion:
    modelling_book(customers=400, dates=4)
    return scorecard_develop(actor=actor, split=SPLIT).version


def _hand_edited_scorecard(body: dict) -> dict:
    """The body with the bureau score's points made steeper: a scorecard change, nothing else."""
    body = copy.deepcopy(body)
    for b in body["scorecard"]["features"]["bureau_score"]["bins"]:
        b["points"] = b["points"] * 2
    return body


def test_a_fitted_draft_is_activated_through_four_eyes_with_both_digests_in_the_audit_trail(risk_admin, second_admin):
    draft = _fitted_draft(risk_admin)
    development = ScorecardDevelopment.objects.get(policy_version=draft)
    assert development.fitted and development.scorecard_sha256 == scorecard_digest(draft.body)
    simulation = _simulated(draft, risk_admin)

    policy_activation_request(version=draft, actor=risk_admin)
    requested = AuditEvent.objects.get(action="policy.activation_request")
    assert requested.after["validation_report"] == development.report_sha256
    assert requested.after["development_sample"] == development.sample_sha256

    version, _run = policy_activation_approve(version=draft, actor=second_admin)
    assert version.state == "active" and version.activated_by == second_admin
    activated = AuditEvent.objects.get(action="policy.activate")
    assert activated.actor == second_admin and activated.after["simulation"] == simulation.pk
    assert activated.after["validation_report"] == development.report_sha256 == report_digest(development.report)
    assert activated.after["development_sample"] == development.sample_sha256 == development.sample_digest["sha256"]
    assert activated.after["validated_scorecard"] == scorecard_digest(version.body)
    assert verify_chain()[1] is None  # the digests are inside the hash chain, and it holds


def test_an_edited_fitted_draft_is_refused_until_it_is_validated_again(risk_admin, second_admin):
    draft = _fitted_draft(risk_admin)
    fitted_report = ScorecardDevelopment.objects.get(policy_version=draft).report_sha256
    policy_draft_edit(version=draft, body=_hand_edited_scorecard(draft.body), actor=risk_admin)
    draft.refresh_from_db()
    _simulated(draft, risk_admin)

    with pytest.raises(Conflict) as refused:
        policy_activation_request(version=draft, actor=risk_admin)
    assert refused.value.field == "validation_report"
    assert "validate it again" in refused.value.message and f"/models/policies/{draft.version}/report/" in refused.value.message
    draft.refresh_from_db()
    assert draft.activation_requested_by is None
    assert not AuditEvent.objects.filter(action="policy.activation_request").exists()

    development = scorecard_validate(version=draft, actor=second_admin)
    assert development.scorecard_sha256 == scorecard_digest(draft.body)
    assert development.report_sha256 != fitted_report and development.report_sha256 == report_digest(development.report)
    assert development.fitted is False and development.validated_by == second_admin
    assert development.created_by == risk_admin  # who fitted it stays on record
    event = AuditEvent.objects.get(action="scorecard.validate")
    assert event.actor == second_admin
    assert event.before["report"] == fitted_report
    assert event.after["report"] == development.report_sha256 and event.after["sample"] == development.sample_sha256
    assert event.after["scorecard"] == development.scorecard_sha256

    policy_activation_request(version=draft, actor=risk_admin)
    assert AuditEvent.objects.get(action="policy.activation_request").after["validation_report"] == development.report_sha256


def test_a_hand_edited_scorecard_draft_is_refused_without_a_validation_and_accepted_after_one(risk_admin, second_admin, make_user):
    modelling_book(customers=400, dates=4)
    maker = make_user("mo", "risk_admin", is_staff=True)
    draft = edited_draft(actor=maker, body=_hand_edited_scorecard(active_version().body))
    _simulated(draft, maker)
    with pytest.raises(Conflict) as refused:
        policy_activation_request(version=draft, actor=maker)
    assert refused.value.field == "validation_report" and "has no validation report" in refused.value.message
    assert not ScorecardDevelopment.objects.exists()

    development = scorecard_validate(version=draft, actor=risk_admin)
    assert development.policy_version_id == draft.pk and development.source == "book" and development.fitted is False
    assert development.scorecard_sha256 == scorecard_digest(draft.body)
    report = development.report
    assert set(report["parts"]) == {"train", "test", "oot"}
    assert report["model_card"]["owner"] == "mo" and report["model_card"]["validated_by"] == risk_admin.username
    bureau = next(f for f in report["features"] if f["name"] == "bureau_score")
    assert [b["points"] for b in bureau["bins"]] == [b["points"] for b in draft.body["scorecard"]["features"]["bureau_score"]["bins"]] + [
        draft.body["scorecard"]["features"]["bureau_score"]["missing_points"]
    ]

    policy_activation_request(version=draft, actor=maker)
    version, _run = policy_activation_approve(version=draft, actor=second_admin)
    assert version.state == "active"
    assert AuditEvent.objects.get(action="policy.activate").after["validation_report"] == development.report_sha256


def test_approval_is_refused_when_the_report_is_gone_after_the_request(risk_admin, second_admin):
    draft = _fitted_draft(risk_admin)
    _simulated(draft, risk_admin)
    policy_activation_request(version=draft, actor=risk_admin)
    ScorecardDevelopment.objects.filter(policy_version=draft).delete()
    with pytest.raises(Conflict) as refused:
        policy_activation_approve(version=draft, actor=second_admin)
    assert refused.value.field == "validation_report"
    assert PolicyVersion.objects.get(pk=draft.pk).state == "draft"
    assert not AuditEvent.objects.filter(action="policy.activate").exists()


def test_limits_and_rules_only_drafts_need_no_report(risk_admin, second_admin):
    draft = edited_draft(actor=risk_admin, body=stricter_body(active_version().body))
    assert signoff_evidence(draft) == {}
    _simulated(draft, risk_admin)
    policy_activation_request(version=draft, actor=risk_admin)
    version, _run = policy_activation_approve(version=draft, actor=second_admin)
    assert version.state == "active"
    assert "validation_report" not in AuditEvent.objects.get(action="policy.activate").after


def test_validation_refuses_non_drafts_other_roles_and_a_book_without_outcomes(risk_admin, analyst):
    v1 = active_version()
    with pytest.raises(Conflict) as refused:
        scorecard_validate(version=v1, actor=risk_admin)
    assert refused.value.field == "state"
    draft = edited_draft(actor=risk_admin, body=_hand_edited_scorecard(v1.body))
    with pytest.raises(NotPermitted):
        scorecard_validate(version=draft, actor=analyst)
    with pytest.raises(ValidationFailed, match="No matured outcome"):
        scorecard_validate(version=draft, actor=risk_admin)
    assert not ScorecardDevelopment.objects.exists()
    assert not AuditEvent.objects.filter(action="scorecard.validate").exists()


def test_validation_with_too_few_bads_is_refused_and_writes_nothing(risk_admin):
    modelling_book(customers=120, dates=3)
    Outcome.objects.update(bad=False, worst_dpd=0)
    Outcome.objects.filter(pk__in=Outcome.objects.values_list("pk", flat=True)[:10]).update(bad=True, worst_dpd=120)
    draft = edited_draft(actor=risk_admin, body=_hand_edited_scorecard(active_version().body))
    with pytest.raises(ValidationFailed) as refused:
        scorecard_validate(version=draft, actor=risk_admin)
    assert refused.value.field == "sample" and "10 bad" in refused.value.message
    assert not ScorecardDevelopment.objects.exists()


def test_the_policy_bins_counted_on_the_training_rows_are_optbinnings_own(risk_admin):
    """The features section read off the policy's bins (what a validation without fitting shows)
    equals optbinning's binning table of the fit for the same card: rows, bads, WoE, points."""
    draft = _fitted_draft(risk_admin)
    fitted_features = {f["name"]: f for f in ScorecardDevelopment.objects.get(policy_version=draft).report["features"]}
    sample = development_sample()
    frame = sample.frame
    train = split_parts(frame, SPLIT, by_date=True) == TRAIN
    ours = {f["name"]: f for f in policy_features_section(parse_policy(draft.body), frame[train], frame.loc[train, "bad"].to_numpy(dtype=bool))}
    compared = 0
    for name, fitted in fitted_features.items():
        if not fitted["selected"] or len(fitted["bins"]) != len(ours[name]["bins"]):
            continue
        compared += 1
        assert ours[name]["selected"]
        assert [b["rows"] for b in ours[name]["bins"]] == [b["rows"] for b in fitted["bins"]], name
        assert [b["bads"] for b in ours[name]["bins"]] == [b["bads"] for b in fitted["bins"]], name
        assert [b["points"] for b in ours[name]["bins"]] == [b["points"] for b in fitted["bins"]], name
        for mine, theirs in zip(ours[name]["bins"], fitted["bins"]):
            if mine["woe"] is not None:
                assert mine["woe"] == pytest.approx(theirs["woe"], abs=1e-4)
        assert ours[name]["iv"] == pytest.approx(fitted["iv"], abs=1e-3)
    assert compared >= 3


def test_the_monotonicity_check_reads_the_policys_trend(risk_admin):
    """Points that rise with days past due say the bad rate should fall with it; the book's bad rate
    rises: the check says the feature does not follow its trend."""
    modelling_book(customers=400, dates=4)
    body = copy.deepcopy(active_version().body)
    card = body["scorecard"]["features"]["max_dpd_12m"]
    card["bins"] = [{"below": b["below"], "points": -b["points"]} for b in card["bins"]]
    draft = edited_draft(actor=risk_admin, body=body)
    report = scorecard_validate(version=draft, actor=risk_admin).report
    features = {f["name"]: f for f in report["features"]}
    assert features["max_dpd_12m"]["monotonic_trend"] == "descending" and features["max_dpd_12m"]["monotonic"] is False
    assert features["bureau_score"]["monotonic_trend"] == "descending" and features["bureau_score"]["monotonic"] is True
    rates = [b["bad_rate"] for b in features["max_dpd_12m"]["bins"] if b["kind"] == "bin" and b["bad_rate"] is not None]
    assert rates[-1] > rates[0]
    assert np.isclose(sum(b["rows"] for b in features["max_dpd_12m"]["bins"]), report["parts"]["train"]["rows"])


def test_validation_needs_a_date_left_after_the_out_of_time_months(risk_admin):
    modelling_book(customers=120, dates=2)
    draft = edited_draft(actor=risk_admin, body=_hand_edited_scorecard(active_version().body))
    with pytest.raises(ValidationFailed) as refused:
        scorecard_validate(version=draft, actor=risk_admin)  # the default split keeps 2 months out of time
    assert refused.value.field == "sample" and "2 matured observation dates" in refused.value.message
    assert not ScorecardDevelopment.objects.exists()

"""Scorecard development from the book: the sample, the fit written as a draft policy, the points
invariant, the report, and every refusal (nothing written)."""

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from decisions.engine.features import Features
from decisions.engine.policy import FEATURE_NAMES, parse_policy
from decisions.engine.policy_reads import active_policy
from decisions.engine.scoring import score_features
from decisions.models import PolicyVersion
from modelling.fitting import fit_scorecard
from modelling.models import Outcome, ScorecardDevelopment
from modelling.policy_card import FEATURE_DECIMALS, draft_body, engine_scaling, engine_specs
from modelling.scoring_frame import policy_scores
from modelling.services.development import scorecard_develop
from modelling.services.sample import development_sample
from modelling.validation import SplitSettings
from riskops.core.exceptions import ValidationFailed
from riskops.core.models import AuditEvent
from tests.modelling.book_factories import modelling_book

pytestmark = pytest.mark.django_db


def _engine_features(row) -> Features:
    """A sample row as the engine's Features (Decimals on the engine's grid, None for missing)."""
    values = {}
    for name in FEATURE_NAMES:
        value = row[name]
        if np.isnan(value):
            values[name] = None
        elif FEATURE_DECIMALS[name] == 0:
            values[name] = int(value)
        else:
            values[name] = Decimal(str(value)).quantize(Decimal(1).scaleb(-FEATURE_DECIMALS[name]))
    return Features(**values)


def test_the_sample_takes_the_snapshot_the_engine_recorded_before_each_observation_date():
    people = modelling_book(customers=60, dates=2)
    sample = development_sample()
    assert len(sample.frame) == 120
    assert sample.dates == [date(2024, 1, 1), date(2024, 2, 1)]
    digest = sample.digest()
    assert digest["rows"] == 120 and digest["customers"] == 60 and len(digest["sha256"]) == 64
    assert digest["definition"] == {"bad_days_past_due": 90, "horizon_months": 12}
    # The same book gives the same digest; one outcome more changes it.
    assert development_sample().digest()["sha256"] == digest["sha256"]
    Outcome.objects.filter(customer=people[0], observation_date=date(2024, 1, 1)).update(worst_dpd=100, bad=True)
    assert development_sample().digest()["sha256"] != digest["sha256"]


def test_a_customer_without_a_recent_snapshot_is_excluded_and_counted():
    people = modelling_book(customers=30, dates=1)
    people[0].score_snapshots.all().delete()
    sample = development_sample()
    assert len(sample.frame) == 29
    assert sample.exclusions["2024-01-01"]["no_recent_snapshot"] == 1


def test_the_points_summed_from_the_policy_json_equal_the_fitted_score_on_every_row():
    modelling_book(customers=500, dates=3)
    sample = development_sample()
    frame, bad = sample.frame, sample.frame["bad"].to_numpy(dtype=bool)
    _, champion = active_policy()
    fitted = fit_scorecard(frame, bad, engine_specs(champion), engine_scaling(champion))
    body = draft_body(fitted, PolicyVersion.objects.get(state="active").body)
    draft = parse_policy(body)
    fitted_scores = fitted.score(frame)
    assert (policy_scores(draft, frame) == fitted_scores).all()
    # And the engine's own scoring, one customer at a time, agrees on every row.
    for (_, row), expected in zip(frame.iterrows(), fitted_scores):
        assert score_features(_engine_features(row), draft).score == max(int(expected), 0)
    assert len(fitted.selected) >= 3  # the known model's drivers are found


def test_a_fit_from_the_book_is_written_as_a_draft_with_its_report(risk_admin):
    modelling_book(customers=500, dates=4)
    before = PolicyVersion.objects.count()
    result = scorecard_develop(actor=risk_admin, split=SplitSettings(oot_months=1))
    assert PolicyVersion.objects.count() == before + 1
    version = result.version
    assert version.state == PolicyVersion.State.DRAFT and version.created_by == risk_admin
    development = ScorecardDevelopment.objects.get(policy_version=version)
    report = development.report
    assert set(report["parts"]) == {"train", "test", "oot"}
    assert report["model_card"]["out_of_time_dates"] == ["2024-04-01"]
    assert report["model_card"]["owner"] == risk_admin.username
    assert 0.6 < report["parts"]["test"]["auc"]["value"] <= 1
    low, high = report["parts"]["test"]["auc"]["ci95"]
    assert low <= report["parts"]["test"]["auc"]["value"] <= high
    assert report["champion"]["test"] > 0  # the hand-set card on the same rows
    assert {f["name"] for f in report["features"]} == set(FEATURE_NAMES)
    assert [c["band"] for c in report["calibration"]["test"]] == sorted(c["band"] for c in report["calibration"]["test"])
    # The body carries the fitted card, the rest of the active policy unchanged.
    active = PolicyVersion.objects.get(state="active").body
    assert version.body["limits"] == active["limits"] and version.body["rules"] == active["rules"]
    assert version.body["scorecard"] != active["scorecard"]
    event = AuditEvent.objects.get(action="scorecard.fit")
    assert event.after["sample"] == development.sample_sha256 == development.sample_digest["sha256"]
    assert event.after["report"] == development.report_sha256


def test_no_matured_outcome_is_refused_naming_the_dates():
    modelling_book(customers=50, dates=1)
    Outcome.objects.update(matured=False, as_of=date(2024, 6, 1))
    with pytest.raises(ValidationFailed) as refused:
        scorecard_develop(actor=None)
    assert "No matured outcome" in refused.value.message and "2024-01-01" in refused.value.message
    assert not ScorecardDevelopment.objects.exists()


def test_dates_with_no_matured_outcome_are_refused():
    modelling_book(customers=50, dates=1)
    with pytest.raises(ValidationFailed, match="between 2025-01-01"):
        scorecard_develop(actor=None, observation_from=date(2025, 1, 1))


def test_too_few_bads_is_refused_and_nothing_is_written():
    modelling_book(customers=80, dates=1)
    Outcome.objects.update(worst_dpd=0, bad=False)
    Outcome.objects.filter(pk__in=Outcome.objects.values_list("pk", flat=True)[:10]).update(worst_dpd=100, bad=True)
    with pytest.raises(ValidationFailed, match="10 bad and 70 good rows"):
        scorecard_develop(actor=None, split=SplitSettings(oot_months=0))
    assert PolicyVersion.objects.count() == 1


def test_out_of_time_months_that_leave_nothing_to_develop_on_are_refused():
    modelling_book(customers=50, dates=2)
    with pytest.raises(ValidationFailed, match="--oot-months 2 leaves none") as refused:
        scorecard_develop(actor=None, split=SplitSettings(oot_months=2))
    assert refused.value.field == "oot_months"


def test_skip_if_fitted_writes_nothing_the_second_time_on_the_same_sample():
    from django.core.management import call_command

    modelling_book(customers=400, dates=3)
    call_command("scorecard_fit", "--from-book", "--oot-months", "1", "--skip-if-fitted")
    assert ScorecardDevelopment.objects.count() == 1
    call_command("scorecard_fit", "--from-book", "--oot-months", "1", "--skip-if-fitted")
    assert ScorecardDevelopment.objects.count() == 1
    # A changed sample (one outcome more) is fitted again.
    Outcome.objects.filter(pk=Outcome.objects.filter(bad=False).values("pk")[:1]).update(worst_dpd=100, bad=True)
    call_command("scorecard_fit", "--from-book", "--oot-months", "1", "--skip-if-fitted")
    assert ScorecardDevelopment.objects.count() == 2

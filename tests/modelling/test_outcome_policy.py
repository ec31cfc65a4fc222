"""The policy's optional `outcome` section: what a bad credit outcome is, with bounds and defaults."""

import copy
import importlib

import pytest

from decisions.engine.policy import DEFAULT_OUTCOME, default_policy_body, parse_policy, validate_policy
from riskops.core.exceptions import PolicyInvalid


def _with_outcome(outcome) -> dict:
    body = copy.deepcopy(default_policy_body())
    body["outcome"] = outcome
    return body


def test_the_shipped_default_carries_the_agreed_outcome_section():
    assert default_policy_body()["outcome"] == {"bad_days_past_due": 90, "horizon_months": 12}


def test_a_valid_outcome_section_is_parsed():
    policy = parse_policy(_with_outcome({"bad_days_past_due": 60, "horizon_months": 24}))

    assert policy.outcome.bad_days_past_due == 60
    assert policy.outcome.horizon_months == 24


@pytest.mark.parametrize("days, months", [(1, 1), (3650, 36), (30.0, 6.0)])
def test_the_bounds_themselves_are_accepted(days, months):
    policy = parse_policy(_with_outcome({"bad_days_past_due": days, "horizon_months": months}))

    assert (policy.outcome.bad_days_past_due, policy.outcome.horizon_months) == (int(days), int(months))
    assert isinstance(policy.outcome.horizon_months, int)


def test_policy_v1_without_the_section_gets_the_defaults():
    # Policy v1 is frozen in a migration and has no outcome section: it must keep validating.
    frozen = importlib.import_module("decisions.migrations.0003_default_policy").POLICY_V1
    assert "outcome" not in frozen

    policy = parse_policy(frozen)

    assert (policy.outcome.bad_days_past_due, policy.outcome.horizon_months) == (90, 12)
    assert DEFAULT_OUTCOME == {"bad_days_past_due": 90, "horizon_months": 12}


@pytest.mark.parametrize(
    "outcome, expected",
    [({}, (90, 12)), ({"horizon_months": 6}, (90, 6)), ({"bad_days_past_due": 30}, (30, 12))],
)
def test_each_absent_key_takes_its_default(outcome, expected):
    policy = parse_policy(_with_outcome(outcome))

    assert (policy.outcome.bad_days_past_due, policy.outcome.horizon_months) == expected


@pytest.mark.parametrize(
    "outcome, field, message",
    [
        ({"bad_days_past_due": 0}, "outcome.bad_days_past_due", "minimum of 1"),
        ({"bad_days_past_due": -5}, "outcome.bad_days_past_due", "minimum of 1"),
        ({"bad_days_past_due": 3651}, "outcome.bad_days_past_due", "maximum of 3650"),
        ({"bad_days_past_due": "90"}, "outcome.bad_days_past_due", "'integer'"),
        ({"bad_days_past_due": 90.5}, "outcome.bad_days_past_due", "'integer'"),
        ({"bad_days_past_due": True}, "outcome.bad_days_past_due", "'integer'"),
        ({"horizon_months": 0}, "outcome.horizon_months", "minimum of 1"),
        ({"horizon_months": 37}, "outcome.horizon_months", "maximum of 36"),
        ({"horizon_months": -1}, "outcome.horizon_months", "minimum of 1"),
        ({"horizon_months": None}, "outcome.horizon_months", "'integer'"),
        ({"horizon_months": 12, "window": 3}, "outcome", "'window' was unexpected"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(outcome, field, message):
    with pytest.raises(PolicyInvalid) as refused:
        validate_policy(_with_outcome(outcome))

    assert refused.value.field == field
    assert refused.value.message.startswith(f"{field}: ")
    assert message in refused.value.message


def test_an_outcome_section_that_is_not_an_object_is_refused():
    with pytest.raises(PolicyInvalid) as refused:
        validate_policy(_with_outcome([90, 12]))

    assert refused.value.field == "outcome"

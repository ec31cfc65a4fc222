"""The policy document: schema + semantic validation, and the typed view the engine reads.

Every bad document is a deep copy of the shipped default with one mutation, so each case proves
that exactly that mutation is refused, and `.field` tells a risk admin where to look.
"""

import copy
import json
import math
from decimal import Decimal
from typing import Any, Callable

import pytest
from hypothesis import given, settings, strategies as st

from decisions.engine.policy import (
    BANDS,
    FEATURE_NAMES,
    RULES,
    Bin,
    FeatureCard,
    Policy,
    default_policy_body,
    parse_policy,
    validate_policy,
)
from decisions.engine.scoring import probability_of_default
from riskops.core.exceptions import PolicyInvalid


def mutated(mutate: Callable[[dict], Any]) -> dict:
    body = copy.deepcopy(default_policy_body())
    mutate(body)
    return body


def _set(path: str, value: Any) -> Callable[[dict], None]:
    """A mutation that sets a dotted path (list indexes as digits) to `value`."""

    def mutate(body: dict) -> None:
        *parents, last = path.split(".")
        node: Any = body
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _delete(path: str) -> Callable[[dict], None]:
    def mutate(body: dict) -> None:
        *parents, last = path.split(".")
        node: Any = body
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return mutate


def _sla(severity: str, hours: Any) -> Callable[[dict], None]:
    # sla_hours is keyed by severity as a JSON string ("1".."5"); _set would make the key an int
    return lambda body: body["alerts"]["sla_hours"].__setitem__(severity, hours)


# --- the default policy ------------------------------------------------------------------------


def test_default_policy_validates():
    # given the policy shipped with the code / when validated / then nothing is raised
    validate_policy(default_policy_body())


def test_default_policy_parses_into_typed_values():
    # given the default body / when parsed
    policy = parse_policy(default_policy_body(), version_id=7)

    # then every part of the document is present, typed and in document order
    assert isinstance(policy, Policy)
    assert policy.version_id == 7
    assert (policy.base_score, policy.reason_codes_max, policy.cycle_days) == (600, 4, 30)
    assert tuple(policy.features) == FEATURE_NAMES
    assert set(policy.rules) == set(RULES)
    assert policy.bands == (("A", 680), ("B", 640), ("C", 600), ("D", 550), ("E", 0))
    assert policy.multipliers == {"A": Decimal("1.5"), "B": Decimal("1.0"), "C": Decimal("0.6"), "D": Decimal("0.3"), "E": Decimal("0")}


def test_parse_does_not_mutate_the_cached_default_body():
    # given the cached default body / when parsed twice / then the cache is untouched
    before = copy.deepcopy(default_policy_body())
    parse_policy(default_policy_body())
    parse_policy(default_policy_body())
    assert default_policy_body() == before


def test_parsed_money_and_ratios_are_decimal_never_float():
    # given the default body / when parsed
    policy = parse_policy(default_policy_body())

    # then money, ratios and scaling constants are Decimal, with the document's exact digits
    assert policy.base_odds == Decimal("30") and type(policy.base_odds) is Decimal
    assert policy.pdo == Decimal("20") and type(policy.pdo) is Decimal
    assert str(policy.fallback_income) == "800.00"
    assert str(policy.min_limit) == "100.00"
    assert str(policy.max_limit) == "5000.00"
    assert policy.round_to == Decimal("50")
    assert policy.max_increase_pct == Decimal("25")
    for value in (policy.fallback_income, policy.min_limit, policy.max_limit, policy.round_to, policy.max_increase_pct, *policy.multipliers.values()):
        assert type(value) is Decimal
    # bin edges: decimal strings and integers alike become Decimal; the open bin is None
    dti = policy.features["debt_to_income"]
    assert dti.bins == (Bin(Decimal("0.5"), 15), Bin(Decimal("1.5"), 0), Bin(Decimal("3"), -25), Bin(None, -50))
    for card in policy.features.values():
        assert all(type(b.below) is Decimal for b in card.bins[:-1])
        assert card.bins[-1].below is None


def test_parsed_rule_params_keep_their_declared_types():
    # given the default body / when parsed
    rules = parse_policy(default_policy_body()).rules

    # then integer params stay int, decimal params become Decimal, suspend_days only where given
    assert rules["OVER_BORROWING"].params == {"max_external_lenders": 4, "max_debt_to_income": Decimal("3")}
    assert type(rules["OVER_BORROWING"].params["max_external_lenders"]) is int
    assert type(rules["OVER_BORROWING"].params["max_debt_to_income"]) is Decimal
    assert rules["SPENDING_SPIKE"].params == {"min_spike_ratio": Decimal("3"), "min_spend_7d": Decimal("200.00")}
    assert type(rules["SPENDING_SPIKE"].params["min_spend_7d"]) is Decimal
    assert rules["FREQUENT_APPLICATIONS"].params == {"max_applications_7d": 4, "max_applications_30d": 8}
    assert rules["OVERDUE_30"].params == {"min_days_past_due": 30}
    assert rules["OVERDUE_90"].params == {"min_days_past_due": 90}
    assert rules["CONSENT_WITHDRAWN"].params == {}
    assert (rules["OVERDUE_30"].action, rules["OVERDUE_30"].suspend_days, rules["OVERDUE_30"].severity) == ("suspend", 30, 4)
    assert (rules["FREQUENT_APPLICATIONS"].action, rules["FREQUENT_APPLICATIONS"].suspend_days) == ("suspend", 7)
    assert (rules["OVERDUE_90"].action, rules["OVERDUE_90"].suspend_days) == ("close", None)
    assert all(rule.enabled for rule in rules.values())


def test_reason_codes_max_defaults_to_four_when_absent():
    # given a policy without the optional reason_codes_max / when parsed / then 4 is used
    policy = parse_policy(mutated(_delete("scorecard.reason_codes_max")))
    assert policy.reason_codes_max == 4


def test_parse_refuses_an_invalid_body():
    # given a bad body / when parsed / then parse_policy validates first and refuses it
    with pytest.raises(PolicyInvalid) as exc:
        parse_policy(mutated(_set("limits.min_limit", "6000.00")))
    assert exc.value.field == "limits.min_limit"


# --- bad documents -----------------------------------------------------------------------------

BUREAU_BINS = "scorecard.features.bureau_score.bins"

BAD_DOCUMENTS = [
    # (id, mutation, expected .field, a fragment the message must contain)
    ("missing top key", _delete("limits"), "(document)", "'limits' is a required property"),
    ("missing nested key", _delete("scorecard.pdo"), "scorecard", "'pdo' is a required property"),
    ("missing feature", _delete("scorecard.features.tenure_months"), "scorecard.features", "'tenure_months'"),
    ("missing rule", _delete("rules.OVERDUE_90"), "rules", "'OVERDUE_90'"),
    ("empty document", lambda b: b.clear(), "(document)", "is a required property"),
    ("base_score wrong type", _set("scorecard.base_score", "600"), "scorecard.base_score", "is not of type 'integer'"),
    ("base_score above 1000", _set("scorecard.base_score", 1001), "scorecard.base_score", "1001"),
    ("base_odds zero", _set("scorecard.base_odds", 0), "scorecard.base_odds", "0"),
    ("pdo negative", _set("scorecard.pdo", -20), "scorecard.pdo", "-20"),
    ("reason_codes_max zero", _set("scorecard.reason_codes_max", 0), "scorecard.reason_codes_max", "0"),
    ("cycle_days wrong type", _set("limits.cycle_days", "30"), "limits.cycle_days", "is not of type 'integer'"),
    ("cycle_days zero", _set("limits.cycle_days", 0), "limits.cycle_days", "minimum of 1"),
    ("enabled wrong type", _set("rules.OVER_BORROWING.enabled", "yes"), "rules.OVER_BORROWING.enabled", "'boolean'"),
    ("integer param as string", _set("rules.OVER_BORROWING.max_external_lenders", "4"), "rules.OVER_BORROWING.max_external_lenders", "'integer'"),
    ("decimal param as float", _set("rules.SPENDING_SPIKE.min_spike_ratio", 3.0), "rules.SPENDING_SPIKE.min_spike_ratio", "'string'"),
    ("rule param missing", _delete("rules.SPENDING_SPIKE.min_spend_7d"), "rules.SPENDING_SPIKE", "'min_spend_7d' is a required property"),
    ("negative suspend_days", _set("rules.OVERDUE_30.suspend_days", -1), "rules.OVERDUE_30.suspend_days", "-1 is less than the minimum of 1"),
    ("zero suspend_days", _set("rules.OVERDUE_30.suspend_days", 0), "rules.OVERDUE_30.suspend_days", "minimum of 1"),
    ("suspend without suspend_days", _delete("rules.OVERDUE_30.suspend_days"), "rules.OVERDUE_30", "'suspend_days' is a required property"),
    (
        "switched to suspend without suspend_days",
        _set("rules.OVER_BORROWING.action", "suspend"),
        "rules.OVER_BORROWING",
        "'suspend_days' is a required property",
    ),
    ("unknown action", _set("rules.OVERDUE_90.action", "terminate"), "rules.OVERDUE_90.action", "'terminate'"),
    ("severity above 5", _set("rules.OVERDUE_90.severity", 6), "rules.OVERDUE_90.severity", "6"),
    ("severity below 1", _set("rules.CONSENT_WITHDRAWN.severity", 0), "rules.CONSENT_WITHDRAWN.severity", "0"),
    ("unknown top-level key", _set("comment", "hi"), "(document)", "'comment' was unexpected"),
    ("unknown limits key", _set("limits.max_limit_eur", "5000.00"), "limits", "'max_limit_eur' was unexpected"),
    ("unknown rule", _set("rules.NEW_RULE", {"enabled": True, "action": "review", "severity": 1}), "rules", "'NEW_RULE' was unexpected"),
    ("unknown rule param", _set("rules.OVERDUE_30.max_days", 60), "rules.OVERDUE_30", "'max_days' was unexpected"),
    ("unknown bin key", _set(f"{BUREAU_BINS}.0.label", "poor"), f"{BUREAU_BINS}[0]", "'label' was unexpected"),
    ("bad decimal with comma", _set("limits.multipliers.B", "1,5"), "limits.multipliers.B", "'1,5' must be a number with at most 10 decimals"),
    ("decimal with leading dot", _set("limits.fallback_income", ".5"), "limits.fallback_income", "must be a positive amount with at most 2 decimals"),
    ("decimal in exponent form", _set("limits.max_limit", "5e3"), "limits.max_limit", "must be a positive amount with at most 2 decimals"),
    ("decimal with spaces", _set("limits.round_to", " 50"), "limits.round_to", "must be a positive amount"),
    ("money as float", _set("limits.min_limit", 100.0), "limits.min_limit", "is not of type 'string'"),
    ("bin edge bad decimal", _set(f"{BUREAU_BINS}.0.below", "4,99"), f"{BUREAU_BINS}[0].below", "is not valid"),
    ("bin edge float", _set(f"{BUREAU_BINS}.0.below", 499.5), f"{BUREAU_BINS}[0].below", "is not valid"),
    ("bin points float", _set(f"{BUREAU_BINS}.0.points", 1.5), f"{BUREAU_BINS}[0].points", "'integer'"),
    ("empty bins", _set(BUREAU_BINS, []), BUREAU_BINS, "should be non-empty"),
    ("bad reason code", _set("scorecard.features.bureau_score.reason", "low score"), "scorecard.features.bureau_score.reason", "'low score' must be a code of capital letters"),
    ("empty reason text", _set("scorecard.features.bureau_score.text", ""), "scorecard.features.bureau_score.text", "should be non-empty"),
    (
        "bins not increasing",
        _set(BUREAU_BINS, [{"below": 580, "points": -30}, {"below": 500, "points": -60}, {"below": None, "points": 40}]),
        BUREAU_BINS,
        "strictly increasing",
    ),
    (
        "bins with a repeated edge",
        _set(BUREAU_BINS, [{"below": 500, "points": -60}, {"below": "500", "points": -30}, {"below": None, "points": 40}]),
        BUREAU_BINS,
        "strictly increasing",
    ),
    (
        "bins not increasing across int and decimal string",
        _set("scorecard.features.debt_to_income.bins", [{"below": "1.5", "points": 15}, {"below": 1, "points": 0}, {"below": None, "points": -50}]),
        "scorecard.features.debt_to_income.bins",
        "strictly increasing",
    ),
    ("last bin not open", _set(f"{BUREAU_BINS}.4.below", 900), BUREAU_BINS, "below = null"),
    ("single closed bin", _set(BUREAU_BINS, [{"below": 500, "points": 0}]), BUREAU_BINS, "below = null"),
    ("bands too few", lambda b: b["bands"].pop(), "bands", "is too short"),
    ("bands unknown letter", _set("bands.4.band", "F"), "bands[4].band", "'F'"),
    ("bands negative min_score", _set("bands.4.min_score", -1), "bands[4].min_score", "-1"),
    (
        "bands out of order",
        lambda b: b.__setitem__("bands", [b["bands"][1], b["bands"][0], *b["bands"][2:]]),
        "bands",
        "A, B, C, D, E in that order",
    ),
    ("band min_scores not falling", _set("bands.1.min_score", 690), "bands[1].min_score", "690 must be below band A's 680"),
    ("band min_scores equal", _set("bands.1.min_score", 680), "bands[1].min_score", "must fall strictly"),
    ("band E not starting at 0", _set("bands.4.min_score", 300), "bands[4].min_score", "E must start at 0"),
    ("min_limit above max_limit", _set("limits.min_limit", "5000.01"), "limits.min_limit", "must not exceed max_limit"),
    ("round_to zero", _set("limits.round_to", "0"), "limits.round_to", "must be positive"),
    ("round_to negative", _set("limits.round_to", "-50"), "limits.round_to", "'-50' must be a positive amount"),
    ("multiplier negative", _set("limits.multipliers.D", "-0.3"), "limits.multipliers.D", "'-0.3' must not be negative"),
    ("multiplier missing", _delete("limits.multipliers.E"), "limits.multipliers", "'E' is a required property"),
    (
        "OVERDUE_90 threshold equal to OVERDUE_30",
        _set("rules.OVERDUE_90.min_days_past_due", 30),
        "rules.OVERDUE_90.min_days_past_due",
        "must be greater than OVERDUE_30's",
    ),
    (
        "OVERDUE_90 threshold below OVERDUE_30",
        _set("rules.OVERDUE_90.min_days_past_due", 20),
        "rules.OVERDUE_90.min_days_past_due",
        "must be greater than OVERDUE_30's",
    ),
    # --- bounds on every number (issue 11: each of these once validated and broke every recompute)
    ("pdo 1e-6", _set("scorecard.pdo", 1e-6), "scorecard.pdo", "less than the minimum of 1"),
    ("pdo below 1", _set("scorecard.pdo", 0.5), "scorecard.pdo", "less than the minimum of 1"),
    ("pdo above 500", _set("scorecard.pdo", 501), "scorecard.pdo", "greater than the maximum of 500"),
    ("pdo NaN", _set("scorecard.pdo", float("nan")), "scorecard.pdo", "nan is not a finite number"),
    ("pdo as a string", _set("scorecard.pdo", "20"), "scorecard.pdo", "is not of type 'number'"),
    ("base_odds NaN", _set("scorecard.base_odds", float("nan")), "scorecard.base_odds", "nan is not a finite number"),
    ("base_odds Infinity", _set("scorecard.base_odds", float("inf")), "scorecard.base_odds", "inf is not a finite number"),
    ("base_odds -Infinity", _set("scorecard.base_odds", float("-inf")), "scorecard.base_odds", "-inf is not a finite number"),
    ("base_odds below 0.01", _set("scorecard.base_odds", 0.001), "scorecard.base_odds", "less than the minimum of 0.01"),
    ("base_odds above 10000", _set("scorecard.base_odds", 10001), "scorecard.base_odds", "greater than the maximum of 10000"),
    ("base_odds 1e300", _set("scorecard.base_odds", 1e300), "scorecard.base_odds", "greater than the maximum"),
    ("suspend_days 10^10", _set("rules.OVERDUE_30.suspend_days", 10**10), "rules.OVERDUE_30.suspend_days", "greater than the maximum of 3650"),
    ("suspend_days 3651", _set("rules.FREQUENT_APPLICATIONS.suspend_days", 3651), "rules.FREQUENT_APPLICATIONS.suspend_days", "maximum of 3650"),
    ("cycle_days 10^10", _set("limits.cycle_days", 10**10), "limits.cycle_days", "greater than the maximum of 3650"),
    ("cycle_days as a fraction", _set("limits.cycle_days", 30.5), "limits.cycle_days", "is not of type 'integer'"),
    ("max_limit 10^20", _set("limits.max_limit", "100000000000000000000"), "limits.max_limit", "12 digits before the point"),
    ("max_limit above 10^9", _set("limits.max_limit", "1000000000.01"), "limits.max_limit", "greater than the maximum of 1000000000"),
    ("max_limit with 3 decimals", _set("limits.max_limit", "5000.001"), "limits.max_limit", "'5000.001' must be a positive amount with at most 2 decimals"),
    ("fallback_income above 10^9", _set("limits.fallback_income", "2000000000"), "limits.fallback_income", "greater than the maximum"),
    ("round_to above 10^9", _set("limits.round_to", "2000000000"), "limits.round_to", "greater than the maximum"),
    ("multiplier above 100", _set("limits.multipliers.A", "101"), "limits.multipliers.A", "greater than the maximum of 100"),
    ("multiplier with 16 integer digits", _set("limits.multipliers.A", "1000000000000000"), "limits.multipliers.A", "15 digits before the point"),
    ("max_increase_pct above 1000", _set("limits.max_increase_pct", "1001"), "limits.max_increase_pct", "greater than the maximum of 1000"),
    ("bin points above 1000", _set(f"{BUREAU_BINS}.0.points", 1001), f"{BUREAU_BINS}[0].points", "maximum of 1000"),
    ("missing_points below -1000", _set("scorecard.features.bureau_score.missing_points", -1001), "scorecard.features.bureau_score.missing_points", "minimum of -1000"),
    ("bin edge 10^13", _set(f"{BUREAU_BINS}.0.below", 10**13), f"{BUREAU_BINS}[0].below", "is not valid"),
    ("bin edge NaN", _set(f"{BUREAU_BINS}.0.below", float("nan")), f"{BUREAU_BINS}[0].below", "nan is not a finite number"),
    ("51 bins", _set(BUREAU_BINS, [{"below": n, "points": 0} for n in range(50)] + [{"below": None, "points": 0}]), BUREAU_BINS, "is too long"),
    ("reason code too long", _set("scorecard.features.bureau_score.reason", "X" * 65), "scorecard.features.bureau_score.reason", "is too long"),
    ("reason text too long", _set("scorecard.features.bureau_score.text", "x" * 501), "scorecard.features.bureau_score.text", "is too long"),
    ("band min_score above 10000", _set("bands.0.min_score", 10001), "bands[0].min_score", "maximum of 10000"),
    ("lenders threshold above 10000", _set("rules.OVER_BORROWING.max_external_lenders", 10001), "rules.OVER_BORROWING.max_external_lenders", "maximum of 10000"),
    ("applications threshold negative", _set("rules.FREQUENT_APPLICATIONS.max_applications_7d", -1), "rules.FREQUENT_APPLICATIONS.max_applications_7d", "minimum of 0"),
    ("days-past-due threshold above 3650", _set("rules.OVERDUE_90.min_days_past_due", 3651), "rules.OVERDUE_90.min_days_past_due", "maximum of 3650"),
    ("debt-to-income threshold negative", _set("rules.OVER_BORROWING.max_debt_to_income", "-1"), "rules.OVER_BORROWING.max_debt_to_income", "less than the minimum of 0"),
    ("debt-to-income threshold above 1000", _set("rules.OVER_BORROWING.max_debt_to_income", "1000.5"), "rules.OVER_BORROWING.max_debt_to_income", "greater than the maximum of 1000"),
    ("spend threshold above 10^9", _set("rules.SPENDING_SPIKE.min_spend_7d", "1000000001"), "rules.SPENDING_SPIKE.min_spend_7d", "greater than the maximum"),
    ("severity as a float fraction", _set("rules.OVERDUE_30.severity", 3.5), "rules.OVERDUE_30.severity", "'integer'"),
    (
        "points that overflow PD scaling at the lowest pdo",
        lambda b: (b["scorecard"].__setitem__("pdo", 1), [f["bins"][-1].__setitem__("points", 1000) for f in b["scorecard"]["features"].values()]),
        "scorecard.pdo",
        "can add 11000 points to base_score, so pdo must be at least 11",
    ),
    # --- values that are not plain JSON (a Python caller's dict) -----------------------------------
    ("a Decimal", _set("limits.min_limit", Decimal("100.00")), "limits.min_limit", "Decimal is not a JSON value"),
    ("a tuple", _set(BUREAU_BINS, ({"below": None, "points": 0},)), BUREAU_BINS, "tuple is not a JSON value"),
    ("an integer key", _set("limits.multipliers", {1: "1.0"}), "limits.multipliers", "key 1 is not a string"),
    # --- size --------------------------------------------------------------------------------------
    ("a document over 128 KiB", _set("comment", "x" * (128 * 1024)), "(document)", "bytes is more than the 131072"),
    # --- the optional alerts section -----------------------------------------------------------------
    ("alerts not an object", _set("alerts", []), "alerts", "is not of type 'object'"),
    ("alerts unknown key", _set("alerts.sla", 4), "alerts", "'sla' was unexpected"),
    ("sla missing a severity", _delete("alerts.sla_hours.5"), "alerts.sla_hours", "'5' is a required property"),
    ("sla unknown severity", _sla("6", 2), "alerts.sla_hours", "'6' was unexpected"),
    ("sla zero hours", _sla("5", 0), "alerts.sla_hours.5", "minimum of 1"),
    ("sla above 720 hours", _sla("1", 721), "alerts.sla_hours.1", "maximum of 720"),
    ("sla as a string", _sla("1", "72"), "alerts.sla_hours.1", "'integer'"),
    ("sla growing with severity", _sla("4", 30), "alerts.sla_hours", "more severe alert must not get more time"),
    ("default suppression negative", _set("alerts.default_suppression_days", -1), "alerts.default_suppression_days", "minimum of 0"),
    ("max suppression zero", _set("alerts.max_suppression_days", 0), "alerts.max_suppression_days", "minimum of 1"),
    ("max suppression above 3650", _set("alerts.max_suppression_days", 3651), "alerts.max_suppression_days", "maximum of 3650"),
    ("default suppression above max", _set("alerts.default_suppression_days", 91), "alerts.default_suppression_days", "more than max_suppression_days (90)"),
    ("default suppression above the default max", lambda b: b["alerts"].__init__(default_suppression_days=91), "alerts.default_suppression_days", "(90)"),
]


@pytest.mark.parametrize("mutate, field, fragment", [c[1:] for c in BAD_DOCUMENTS], ids=[c[0] for c in BAD_DOCUMENTS])
def test_bad_document_is_refused_naming_the_field(mutate, field, fragment):
    # given the default policy with one defect
    body = mutated(mutate)

    # when validated
    with pytest.raises(PolicyInvalid) as exc:
        validate_policy(body)

    # then the error names the field, and the message leads with it
    assert exc.value.field == field
    assert exc.value.message.startswith(f"{field}: ")
    assert fragment in exc.value.message
    assert exc.value.code == "policy_invalid"


@pytest.mark.parametrize("body", [None, [], "policy", 42], ids=["none", "list", "string", "number"])
def test_a_body_that_is_not_an_object_is_refused(body):
    with pytest.raises(PolicyInvalid) as exc:
        validate_policy(body)
    assert exc.value.field == "(document)"
    assert "is not of type 'object'" in exc.value.message


def test_schema_errors_are_reported_before_semantic_ones_and_shallowest_first():
    # given a document with a deep schema error, a shallow schema error and a semantic error
    def mutate(body: dict) -> None:
        body["limits"]["min_limit"] = "9999.00"  # semantic (min > max)
        body["rules"]["OVERDUE_30"]["suspend_days"] = -1  # schema, depth 3
        body["limits"]["cycle_days"] = "x"  # schema, depth 2

    # when validated / then the shallowest schema error wins
    with pytest.raises(PolicyInvalid) as exc:
        validate_policy(mutated(mutate))
    assert exc.value.field == "limits.cycle_days"


def test_bin_edges_may_mix_integers_and_decimal_strings_when_increasing():
    # given increasing edges written as int and decimal strings
    body = mutated(_set("scorecard.features.debt_to_income.bins", [{"below": 0, "points": 20}, {"below": "0.5", "points": 15}, {"below": 2, "points": 0}, {"below": None, "points": -50}]))

    # when parsed / then they are accepted as Decimals
    card = parse_policy(body).features["debt_to_income"]
    assert [b.below for b in card.bins] == [Decimal("0"), Decimal("0.5"), Decimal("2"), None]


def test_a_single_open_bin_is_a_valid_feature():
    body = mutated(_set(BUREAU_BINS, [{"below": None, "points": 3}]))
    assert parse_policy(body).features["bureau_score"].points_for(123) == 3


def test_null_bin_edge_before_the_last_is_refused_as_policy_invalid():
    # given a bin list with `below: null` in the middle (and an open last bin)
    body = mutated(_set(f"{BUREAU_BINS}.1.below", None))

    # when validated / then it is refused naming the bins, as the message promises
    with pytest.raises(PolicyInvalid) as exc:
        validate_policy(body)
    assert exc.value.field == BUREAU_BINS


@pytest.mark.parametrize("o30", [0, -5])
def test_non_positive_overdue_30_threshold_names_overdue_30(o30):
    # given OVERDUE_30 set to a non-positive threshold while OVERDUE_90 stays 90
    body = mutated(_set("rules.OVERDUE_30.min_days_past_due", o30))

    # when validated / then the field in error is OVERDUE_30's, not OVERDUE_90's
    with pytest.raises(PolicyInvalid) as exc:
        validate_policy(body)
    assert exc.value.field == "rules.OVERDUE_30.min_days_past_due"


# --- FeatureCard.points_for --------------------------------------------------------------------


@pytest.fixture(scope="module")
def policy() -> Policy:
    return parse_policy(default_policy_body())


@pytest.mark.parametrize(
    "value, points",
    [
        (0, -60),
        (499, -60),
        (500, -30),  # exactly on an edge: `value < below` is false, so the next bin
        (579, -30),
        (580, 0),
        (649, 0),
        (650, 20),
        (719, 20),
        (720, 40),  # the last edge falls into the open bin
        (999, 40),
        (None, -10),  # missing → missing_points
    ],
)
def test_bureau_score_points_at_bin_edges(policy, value, points):
    assert policy.features["bureau_score"].points_for(value) == points


@pytest.mark.parametrize(
    "value, points",
    [
        (Decimal("0"), 15),
        (Decimal("0.4999"), 15),
        (Decimal("0.5"), 0),
        (Decimal("0.50"), 0),
        (Decimal("1.4999"), 0),
        (Decimal("1.5"), -25),
        (Decimal("2.9999"), -25),
        (Decimal("3"), -50),
        (Decimal("3.0000"), -50),
        (Decimal("100"), -50),
        (None, 0),
    ],
)
def test_decimal_feature_points_at_bin_edges(policy, value, points):
    assert policy.features["debt_to_income"].points_for(value) == points


@pytest.mark.parametrize("value, points", [(None, -15), (Decimal("0.00"), -30), (Decimal("499.99"), -30), (Decimal("500.00"), -10), (Decimal("3000"), 15)])
def test_missing_value_is_not_the_same_as_zero(policy, value, points):
    # income unknown (None) gets missing_points; a known zero falls in the lowest bin
    assert policy.features["income_proxy_3m"].points_for(value) == points


def test_zero_is_a_value_not_missing(policy):
    # max_dpd_12m = 0 is "never late" (best bin), not "missing"
    assert policy.features["max_dpd_12m"].points_for(0) == 25
    assert policy.features["max_dpd_12m"].points_for(1) == 5


def test_max_points_is_the_best_bin_or_missing_points():
    # given a card whose missing_points beat every bin
    card = FeatureCard("x", "X_LOW", "x", missing_points=50, bins=(Bin(Decimal("1"), -5), Bin(None, 10)))
    # then max_points counts it
    assert card.max_points == 50
    assert card.points_for(None) == 50


def test_default_max_points_per_feature(policy):
    assert {name: card.max_points for name, card in policy.features.items()} == {
        "bureau_score": 40,
        "external_lenders": 10,
        "debt_to_income": 15,
        "max_dpd_12m": 25,
        "overdue_count": 15,
        "on_time_ratio": 20,
        "utilisation": 15,
        "income_proxy_3m": 15,
        "spend_spike_ratio": 5,
        "applications_30d": 10,
        "tenure_months": 15,
    }


def test_band_names_are_the_five_expected(policy):
    assert tuple(b for b, _ in policy.bands) == BANDS


# --- bounds, NaN, the alerts section, one source of truth -------------------------------------


def test_nan_read_by_pythons_json_is_refused():
    # given a document whose text says NaN: Python's json reads it as a float without complaint
    text = json.dumps(default_policy_body()).replace('"base_odds": 30', '"base_odds": NaN')
    body = json.loads(text)
    assert math.isnan(body["scorecard"]["base_odds"])

    # when validated / then refused naming the field, though NaN compares false against every bound
    with pytest.raises(PolicyInvalid) as exc:
        validate_policy(body)
    assert exc.value.field == "scorecard.base_odds" and "not a finite number" in exc.value.message


def test_integer_valued_floats_are_parsed_as_ints():
    # JSON Schema's "integer" admits 30.0; the engine gets 30
    body = mutated(lambda b: (b["limits"].__setitem__("cycle_days", 30.0), b["rules"]["OVERDUE_30"].__setitem__("suspend_days", 30.0)))
    policy = parse_policy(body)
    assert type(policy.cycle_days) is int and type(policy.rules["OVERDUE_30"].suspend_days) is int


def test_the_alerts_section_is_parsed():
    # given an alerts section with its own values
    body = mutated(_set("alerts", {"sla_hours": {"1": 96, "2": 48, "3": 48, "4": 12, "5": 2}, "default_suppression_days": 7, "max_suppression_days": 30}))

    # when parsed / then the values are typed ints keyed by severity
    policy = parse_policy(body)
    assert policy.alert_sla_hours == {1: 96, 2: 48, 3: 48, 4: 12, 5: 2}
    assert (policy.default_suppression_days, policy.max_suppression_days) == (7, 30)


@pytest.mark.parametrize(
    "alerts",
    [None, {}, {"max_suppression_days": 120}],
    ids=["absent (policy v1)", "empty", "only the maximum"],
)
def test_alerts_defaults_apply_to_what_is_absent(alerts):
    body = mutated(_delete("alerts") if alerts is None else _set("alerts", alerts))
    policy = parse_policy(body)
    assert policy.alert_sla_hours == {1: 72, 2: 48, 3: 24, 4: 8, 5: 4}
    assert policy.default_suppression_days == 14
    assert policy.max_suppression_days == (alerts or {}).get("max_suppression_days", 90)


def test_the_shipped_default_carries_the_agreed_alerts_section():
    assert default_policy_body()["alerts"] == {
        "sla_hours": {"1": 72, "2": 48, "3": 24, "4": 8, "5": 4},
        "default_suppression_days": 14,
        "max_suppression_days": 90,
    }


def test_bands_rules_and_actions_are_the_models_text_choices():
    from decisions.models import AlertAction, AlertRule, Band
    from decisions.engine.policy import ACTIONS, SCHEMA

    assert BANDS == tuple(Band.values) and RULES == tuple(AlertRule.values) and ACTIONS == tuple(AlertAction.values)
    assert SCHEMA["properties"]["bands"]["items"]["properties"]["band"]["enum"] == Band.values
    for rule in RULES:
        assert SCHEMA["properties"]["rules"]["properties"][rule]["properties"]["action"]["enum"] == AlertAction.values


FLOATS = st.one_of(st.floats(), st.integers(min_value=-(10**6), max_value=10**6))


@settings(max_examples=300, deadline=None)
@given(pdo=FLOATS, base_odds=FLOATS, top_points=st.integers(min_value=-1500, max_value=1500), base_score=st.integers(min_value=-10, max_value=1010))
def test_any_scorecard_that_validates_scores_every_customer_without_overflow(pdo, base_odds, top_points, base_score):
    # given a scorecard with arbitrary scaling constants and every feature's best bin at top_points
    def mutate(body):
        card = body["scorecard"]
        card["pdo"], card["base_odds"], card["base_score"] = pdo, base_odds, base_score
        for feature in card["features"].values():
            feature["bins"][-1]["points"] = top_points

    body = mutated(mutate)
    try:
        policy = parse_policy(body)
    except PolicyInvalid:
        # then either it is refused, and only for a reason the bounds name …
        assert not (math.isfinite(pdo) and 1 <= pdo <= 500 and math.isfinite(base_odds) and 0.01 <= base_odds <= 10000 and 0 <= base_score <= 1000 and abs(top_points) <= 1000 and 11 * max(top_points, 40) / pdo <= 1000)
        return
    # … or the lowest and the highest possible scores both get a probability of default in [0, 1]
    highest = policy.base_score + sum(card.max_points for card in policy.features.values())
    for score in (0, policy.base_score, highest):
        pd = probability_of_default(score, policy)
        assert Decimal(0) <= pd <= Decimal(1)

"""The scorecard: points per feature, PDO scaling to a probability of default, bands and
adverse-action reason codes. Pure arithmetic over the default policy (or a copy of it)."""

import copy
from decimal import Decimal
from typing import Any

import pytest

from decisions.engine.features import Features
from decisions.engine.policy import Policy, default_policy_body, parse_policy
from decisions.engine.scoring import ScoreResult, probability_of_default, score_features


def policy_with(**scorecard: Any) -> Policy:
    body = copy.deepcopy(default_policy_body())
    body["scorecard"].update(scorecard)
    return parse_policy(body)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return parse_policy(default_policy_body())


def perfect() -> Features:
    """Every feature in its best bin (185 points over base)."""
    return Features(
        bureau_score=800,
        external_lenders=0,
        debt_to_income=Decimal("0.1000"),
        max_dpd_12m=0,
        overdue_count=0,
        on_time_ratio=Decimal("1.0000"),
        utilisation=Decimal("0.1000"),
        income_proxy_3m=Decimal("5000.00"),
        spend_spike_ratio=Decimal("1.0000"),
        applications_30d=0,
        tenure_months=24,
    )


def worst() -> Features:
    """Every feature in its worst bin (-560 points)."""
    return Features(
        bureau_score=300,
        external_lenders=10,
        debt_to_income=Decimal("5"),
        max_dpd_12m=120,
        overdue_count=3,
        on_time_ratio=Decimal("0.1"),
        utilisation=Decimal("1.2"),
        income_proxy_3m=Decimal("100.00"),
        spend_spike_ratio=Decimal("5"),
        applications_30d=10,
        tenure_months=1,
    )


# Features() with nothing known: bureau missing -10, never late +25, nothing overdue +15, income
# missing -15, no applications +10, tenure 0 -20; every other missing feature scores 0.
EMPTY_POINTS = {
    "bureau_score": -10,
    "external_lenders": 0,
    "debt_to_income": 0,
    "max_dpd_12m": 25,
    "overdue_count": 15,
    "on_time_ratio": 0,
    "utilisation": 0,
    "income_proxy_3m": -15,
    "spend_spike_ratio": 0,
    "applications_30d": 10,
    "tenure_months": -20,
}


# --- score arithmetic --------------------------------------------------------------------------


def test_score_is_base_plus_the_sum_of_feature_points(policy):
    # given a customer about whom nothing optional is known
    # when scored
    result = score_features(Features(), policy)

    # then each feature's points are reported and the score is base + their sum
    assert isinstance(result, ScoreResult)
    assert result.points == EMPTY_POINTS
    assert result.score == 600 + 5 == policy.base_score + sum(result.points.values())
    assert result.band == "C"


def test_perfect_customer_scores_base_plus_every_best_bin(policy):
    result = score_features(perfect(), policy)
    assert result.points == {name: card.max_points for name, card in policy.features.items()}
    assert result.score == 600 + 185
    assert result.band == "A"


def test_worst_customer_scores_base_plus_every_worst_bin(policy):
    result = score_features(worst(), policy)
    assert sum(result.points.values()) == -560
    assert result.score == 40
    assert result.band == "E"


def test_score_never_goes_below_zero():
    # given a low base score that the worst customer would take below zero
    result = score_features(worst(), policy_with(base_score=100))

    # then the score is floored at 0 (band E) and its PD follows the floored score
    assert result.score == 0
    assert result.band == "E"
    assert result.probability_of_default == probability_of_default(0, policy_with(base_score=100))


def test_score_changes_by_exactly_the_points_of_the_bin_moved_into(policy):
    # given two customers that differ only in bureau score, 579 vs 580 (a bin edge)
    below, at = Features(bureau_score=579), Features(bureau_score=580)

    # then the scores differ by exactly the bins' difference (-30 → 0)
    assert score_features(at, policy).score - score_features(below, policy).score == 30


# --- probability of default --------------------------------------------------------------------


def test_pd_at_base_score_is_one_over_one_plus_base_odds(policy):
    # odds 30:1 at 600 → PD = 1/31 = 0.032258… → 0.03226
    pd = probability_of_default(600, policy)
    assert pd == Decimal("0.03226")
    assert pd == (Decimal(1) / (1 + policy.base_odds)).quantize(Decimal("0.00001"))
    assert type(pd) is Decimal
    assert pd.as_tuple().exponent == -5


@pytest.mark.parametrize(
    "score, pd",
    [
        (100, Decimal("0.50000")),  # at base: odds 1:1
        (120, Decimal("0.33333")),  # +pdo: odds 2:1
        (140, Decimal("0.20000")),  # +2 pdo: odds 4:1
        (160, Decimal("0.11111")),  # +3 pdo: odds 8:1
        (80, Decimal("0.66667")),  # -pdo: odds 1:2
        (60, Decimal("0.80000")),  # -2 pdo: odds 1:4
        (110, Decimal("0.41421")),  # +pdo/2: odds √2:1 → 1/(1+√2)
    ],
)
def test_pd_odds_double_every_pdo_points(score, pd):
    # given even odds at 100 and a pdo of 20
    policy = policy_with(base_score=100, base_odds=1, pdo=20)

    # then PD = 1/(1+odds) with odds doubling every 20 points
    assert probability_of_default(score, policy) == pd


def test_pd_at_plus_pdo_on_default_policy(policy):
    # odds 60:1 at 620 → 1/61; odds 15:1 at 580 → 1/16
    assert probability_of_default(620, policy) == Decimal("0.01639")
    assert probability_of_default(580, policy) == Decimal("0.06250")


def test_pd_is_monotone_decreasing_in_score(policy):
    pds = [probability_of_default(s, policy) for s in range(0, 1001)]
    # never increases anywhere, and strictly falls wherever it has not saturated at 0 or 1
    assert all(a >= b for a, b in zip(pds, pds[1:]))
    mid = [probability_of_default(s, policy) for s in range(450, 760, 10)]
    assert all(a > b for a, b in zip(mid, mid[1:]))
    assert Decimal("0") <= pds[-1] < pds[0] <= Decimal("1")


def test_score_result_pd_is_the_pd_of_its_score(policy):
    for features in (Features(), perfect(), worst()):
        result = score_features(features, policy)
        assert result.probability_of_default == probability_of_default(result.score, policy)


def test_better_customer_has_lower_pd(policy):
    assert score_features(perfect(), policy).probability_of_default < score_features(Features(), policy).probability_of_default
    assert score_features(Features(), policy).probability_of_default < score_features(worst(), policy).probability_of_default


# --- bands -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "score, band",
    [
        (1000, "A"),
        (680, "A"),
        (679, "B"),
        (640, "B"),
        (639, "C"),
        (600, "C"),
        (599, "D"),
        (550, "D"),
        (549, "E"),
        (0, "E"),
    ],
)
def test_band_cut_offs_are_inclusive_min_scores(policy, score, band):
    # given a base score chosen so that Features() (5 points) lands exactly on `score`
    scored = score_features(Features(), policy_with(base_score=score - 5)) if score >= 5 else None

    # then the band starts at its min_score, inclusive
    assert policy.band_for(score) == band
    if scored is not None:
        assert scored.score == score
        assert scored.band == band


# --- reason codes ------------------------------------------------------------------------------


def test_reason_codes_are_the_biggest_losses_first_capped_at_max(policy):
    # given a customer about whom nothing optional is known; losses vs best bin:
    # bureau 50, tenure 35, income 30, on-time 20, dti 15, utilisation 15, lenders 10, spike 5
    result = score_features(Features(), policy)

    # then the four biggest, biggest first
    assert [(r["code"], r["points_lost"]) for r in result.reason_codes] == [
        ("BUREAU_SCORE_LOW", 50),
        ("SHORT_TENURE", 35),
        ("LOW_INCOME", 30),
        ("LOW_ON_TIME_RATIO", 20),
    ]


def test_reason_codes_carry_feature_text_and_json_safe_value(policy):
    # given a customer with a low, known income and a short tenure
    features = Features(income_proxy_3m=Decimal("420.50"), tenure_months=2, bureau_score=700)

    # when scored
    reasons = {r["code"]: r for r in score_features(features, policy).reason_codes}

    # then each reason names its feature, the policy's customer-facing text and the value used
    assert reasons["LOW_INCOME"] == {
        "code": "LOW_INCOME",
        "feature": "income_proxy_3m",
        "text": "Your regular income into the wallet is low or unknown.",
        "points_lost": 45,
        "value": "420.50",  # Decimal → str, never float
    }
    assert reasons["SHORT_TENURE"]["value"] == 2
    assert reasons["SHORT_TENURE"]["text"] == "You have been a customer for a short time."


def test_reason_code_for_a_missing_value_reports_none(policy):
    reasons = {r["code"]: r for r in score_features(Features(), policy).reason_codes}
    assert reasons["BUREAU_SCORE_LOW"]["value"] is None
    assert reasons["BUREAU_SCORE_LOW"]["points_lost"] == 50


def test_equal_losses_are_ordered_by_feature_name():
    # given room for eight reasons: dti (15) and utilisation (15) tie
    result = score_features(Features(), policy_with(reason_codes_max=8))

    # then the tie is broken by feature name, and the list is exactly the eight with a loss
    assert [r["feature"] for r in result.reason_codes] == [
        "bureau_score",
        "tenure_months",
        "income_proxy_3m",
        "on_time_ratio",
        "debt_to_income",
        "utilisation",
        "external_lenders",
        "spend_spike_ratio",
    ]


def test_only_features_that_lost_points_are_reasons_even_with_room_for_more():
    # given room for ten reasons and a customer with 8 features that lost points
    result = score_features(Features(), policy_with(reason_codes_max=10))

    # then features at their best bin (never late, nothing overdue, no applications) are absent
    assert len(result.reason_codes) == 8
    assert all(r["points_lost"] > 0 for r in result.reason_codes)
    assert {"max_dpd_12m", "overdue_count", "applications_30d"}.isdisjoint(r["feature"] for r in result.reason_codes)


@pytest.mark.parametrize("cap", [1, 2, 3])
def test_reason_codes_respect_a_smaller_cap(cap):
    result = score_features(Features(), policy_with(reason_codes_max=cap))
    assert [r["code"] for r in result.reason_codes] == ["BUREAU_SCORE_LOW", "SHORT_TENURE", "LOW_INCOME"][:cap]


def test_perfect_customer_has_no_reason_codes(policy):
    assert score_features(perfect(), policy).reason_codes == []


def test_customer_one_bin_short_has_exactly_that_reason(policy):
    # given a perfect customer except a bureau score one point under the top bin
    features = perfect()
    features.bureau_score = 719

    # then the only reason is the bureau score, 20 points lost (40 → 20)
    result = score_features(features, policy)
    assert result.score == 785 - 20
    assert [(r["code"], r["points_lost"], r["value"]) for r in result.reason_codes] == [("BUREAU_SCORE_LOW", 20, 719)]


def test_scoring_does_not_mutate_its_inputs(policy):
    features = Features()
    before = features.as_json()
    score_features(features, policy)
    assert features.as_json() == before

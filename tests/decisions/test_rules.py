"""Interception rules: each fires exactly at its policy threshold, with evidence, and a suspend
hit carries how long the suspension lasts."""

import copy
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from decisions.engine.features import ConsentState, Features
from decisions.engine.policy import Policy, default_policy_body, parse_policy
from decisions.engine.rules import RuleHit, evaluate_rules

NOW = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)
CONSENTED = ConsentState(active={"credit_scoring": 1, "bureau_query": 2, "transaction_analysis": 3})
WITHDRAWN = ConsentState(active={}, withdrawn=frozenset({"credit_scoring"}))


@pytest.fixture(scope="module")
def policy() -> Policy:
    return parse_policy(default_policy_body())


def policy_with_rule(name: str, **changes: Any) -> Policy:
    body = copy.deepcopy(default_policy_body())
    body["rules"][name].update(changes)
    return parse_policy(body)


def hits_for(features: Features | None, policy: Policy, consents: ConsentState = CONSENTED) -> dict[str, RuleHit]:
    hits = evaluate_rules(features=features, consents=consents, policy=policy, now=NOW)
    by_rule = {h.rule: h for h in hits}
    assert len(by_rule) == len(hits), "a rule fired twice"
    return by_rule


def test_a_clean_customer_triggers_nothing(policy):
    # given a customer at every threshold but none over it
    features = Features(
        external_lenders=4,
        debt_to_income=Decimal("3"),
        applications_7d=4,
        applications_30d=8,
        spend_spike_ratio=Decimal("2.9999"),
        spend_7d=Decimal("10000.00"),
        current_dpd=29,
    )
    # when evaluated / then no rule fires
    assert evaluate_rules(features=features, consents=CONSENTED, policy=policy, now=NOW) == []


def test_missing_optional_features_trigger_nothing(policy):
    # no bureau, no transactions: the rules that need them stay silent rather than guess
    assert evaluate_rules(features=Features(), consents=CONSENTED, policy=policy, now=NOW) == []


# --- OVER_BORROWING ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lenders, dti, fires",
    [
        (4, Decimal("3"), False),  # both exactly at the maximum: not over
        (5, Decimal("3"), True),  # one lender too many
        (4, Decimal("3.0001"), True),  # debt-to-income just over
        (5, None, True),  # lenders alone suffice
        (None, Decimal("3.0001"), True),  # dti alone suffices
        (None, None, False),
        (0, Decimal("0"), False),
    ],
)
def test_over_borrowing_fires_strictly_above_either_maximum(policy, lenders, dti, fires):
    hits = hits_for(Features(external_lenders=lenders, debt_to_income=dti), policy)
    assert ("OVER_BORROWING" in hits) is fires


def test_over_borrowing_hit_carries_action_and_evidence(policy):
    # given too many lenders and a known external debt
    features = Features(external_lenders=6, debt_to_income=Decimal("1.2000"), external_debt=Decimal("2400.00"))

    # when evaluated
    hit = hits_for(features, policy)["OVER_BORROWING"]

    # then a review hit with the values and the thresholds they were compared to
    assert (hit.action, hit.severity, hit.effective_until) == ("review", 3, None)
    assert hit.evidence == {
        "external_lenders": 6,
        "max_external_lenders": 4,
        "debt_to_income": Decimal("1.2000"),
        "max_debt_to_income": Decimal("3"),
        "external_debt": Decimal("2400.00"),
    }


# --- FREQUENT_APPLICATIONS ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "n7, n30, fires",
    [
        (4, 8, False),  # at both maxima
        (5, 5, True),  # 7-day count over
        (0, 9, True),  # 30-day count over
        (0, 0, False),
    ],
)
def test_frequent_applications_fires_strictly_above_either_maximum(policy, n7, n30, fires):
    hits = hits_for(Features(applications_7d=n7, applications_30d=n30), policy)
    assert ("FREQUENT_APPLICATIONS" in hits) is fires


def test_frequent_applications_suspends_for_suspend_days_with_evidence(policy):
    hit = hits_for(Features(applications_7d=5, applications_30d=6), policy)["FREQUENT_APPLICATIONS"]
    assert (hit.action, hit.severity) == ("suspend", 3)
    assert hit.effective_until == NOW + timedelta(days=7)
    assert hit.evidence == {"applications_7d": 5, "max_applications_7d": 4, "applications_30d": 6, "max_applications_30d": 8}


# --- SPENDING_SPIKE ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ratio, spend_7d, fires",
    [
        (Decimal("3"), Decimal("200.00"), True),  # both exactly at the minimum: fires (>=)
        (Decimal("2.9999"), Decimal("5000.00"), False),  # ratio just under
        (Decimal("10"), Decimal("199.99"), False),  # spend just under: a spike on pocket money
        (None, Decimal("5000.00"), False),  # no 90-day history, no ratio
        (Decimal("10"), None, False),
    ],
)
def test_spending_spike_fires_at_both_minima(policy, ratio, spend_7d, fires):
    hits = hits_for(Features(spend_spike_ratio=ratio, spend_7d=spend_7d), policy)
    assert ("SPENDING_SPIKE" in hits) is fires


def test_spending_spike_evidence(policy):
    features = Features(spend_spike_ratio=Decimal("4.5000"), spend_7d=Decimal("700.00"), avg_monthly_spend_3m=Decimal("666.67"))
    hit = hits_for(features, policy)["SPENDING_SPIKE"]
    assert (hit.action, hit.severity, hit.effective_until) == ("review", 2, None)
    assert hit.evidence == {
        "spend_7d": Decimal("700.00"),
        "avg_monthly_spend_3m": Decimal("666.67"),
        "spike_ratio": Decimal("4.5000"),
        "min_spike_ratio": Decimal("3"),
    }


# --- OVERDUE_30 / OVERDUE_90 ladder ------------------------------------------------------------


@pytest.mark.parametrize(
    "dpd, expected",
    [
        (0, set()),
        (29, set()),
        (30, {"OVERDUE_30"}),
        (89, {"OVERDUE_30"}),
        (90, {"OVERDUE_90"}),  # never both
        (400, {"OVERDUE_90"}),
    ],
)
def test_overdue_ladder(policy, dpd, expected):
    hits = hits_for(Features(current_dpd=dpd, overdue_count=2, outstanding=Decimal("310.00")), policy)
    assert set(hits) == expected


def test_overdue_30_suspends_with_evidence(policy):
    # given a customer 45 days past due on two installments
    features = Features(current_dpd=45, overdue_count=2, outstanding=Decimal("310.00"))

    # when evaluated
    hit = hits_for(features, policy)["OVERDUE_30"]

    # then a suspension for the policy's 30 days, with the arrears as evidence
    assert (hit.action, hit.severity) == ("suspend", 4)
    assert hit.effective_until == NOW + timedelta(days=30) == datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
    assert hit.evidence == {"days_past_due": 45, "overdue_installments": 2, "outstanding": Decimal("310.00")}


def test_overdue_90_closes_without_an_end(policy):
    hit = hits_for(Features(current_dpd=120, overdue_count=4, outstanding=Decimal("900.00")), policy)["OVERDUE_90"]
    assert (hit.action, hit.severity, hit.effective_until) == ("close", 5, None)
    assert hit.evidence == {"days_past_due": 120, "overdue_installments": 4, "outstanding": Decimal("900.00")}


def test_overdue_ladder_follows_the_policy_thresholds():
    # given a policy with a 15/60 ladder
    body = copy.deepcopy(default_policy_body())
    body["rules"]["OVERDUE_30"]["min_days_past_due"] = 15
    body["rules"]["OVERDUE_90"]["min_days_past_due"] = 60
    policy = parse_policy(body)

    # then the edges move with it
    assert set(hits_for(Features(current_dpd=14), policy)) == set()
    assert set(hits_for(Features(current_dpd=15), policy)) == {"OVERDUE_30"}
    assert set(hits_for(Features(current_dpd=59), policy)) == {"OVERDUE_30"}
    assert set(hits_for(Features(current_dpd=60), policy)) == {"OVERDUE_90"}


def test_past_lateness_alone_does_not_fire_overdue(policy):
    # max_dpd_12m is history (scored), current_dpd is arrears now (the rule)
    assert hits_for(Features(max_dpd_12m=120, current_dpd=0), policy) == {}


# --- CONSENT_WITHDRAWN -------------------------------------------------------------------------


def test_consent_withdrawn_is_the_only_rule_without_features(policy):
    # given scoring consent withdrawn and never re-granted, so no features were read
    # when evaluated
    hits = evaluate_rules(features=None, consents=WITHDRAWN, policy=policy, now=NOW)

    # then exactly one review hit, with the purpose as evidence
    assert hits == [RuleHit("CONSENT_WITHDRAWN", "review", 2, {"purpose": "credit_scoring", "withdrawn": True}, None)]


def test_no_features_and_no_withdrawal_fires_nothing(policy):
    # never consented (nothing withdrawn): nothing to say
    assert evaluate_rules(features=None, consents=ConsentState(), policy=policy, now=NOW) == []


def test_consent_regranted_after_withdrawal_does_not_fire(policy):
    # given credit_scoring in both withdrawn and active (re-granted since)
    consents = ConsentState(active={"credit_scoring": 9}, withdrawn=frozenset({"credit_scoring"}))
    assert consents.scoring_withdrawn is False
    assert hits_for(Features(), policy, consents) == {}


def test_withdrawing_another_purpose_does_not_fire(policy):
    consents = ConsentState(active={"credit_scoring": 1}, withdrawn=frozenset({"bureau_query", "transaction_analysis"}))
    assert hits_for(Features(), policy, consents) == {}


def test_consent_withdrawn_fires_alongside_feature_rules(policy):
    # a caller that still holds features (e.g. read before the withdrawal) gets both kinds of hit
    hits = hits_for(Features(current_dpd=95), policy, WITHDRAWN)
    assert set(hits) == {"CONSENT_WITHDRAWN", "OVERDUE_90"}


def test_features_none_skips_feature_rules_even_when_they_would_fire(policy):
    # without features there is nothing to judge: no overdue, spike or application rule can fire
    assert evaluate_rules(features=None, consents=CONSENTED, policy=policy, now=NOW) == []


# --- disabled rules, suspend duration ----------------------------------------------------------


@pytest.mark.parametrize(
    "rule, features",
    [
        ("OVER_BORROWING", Features(external_lenders=9)),
        ("FREQUENT_APPLICATIONS", Features(applications_7d=9)),
        ("SPENDING_SPIKE", Features(spend_spike_ratio=Decimal("9"), spend_7d=Decimal("900.00"))),
        ("OVERDUE_30", Features(current_dpd=45)),
        ("OVERDUE_90", Features(current_dpd=120)),
    ],
)
def test_a_disabled_rule_never_fires(policy, rule, features):
    # given features that fire the rule under the default policy
    assert rule in hits_for(features, policy)

    # when the rule is disabled in the document / then it does not fire
    assert rule not in hits_for(features, policy_with_rule(rule, enabled=False))


def test_disabled_consent_withdrawn_never_fires():
    policy = policy_with_rule("CONSENT_WITHDRAWN", enabled=False)
    assert evaluate_rules(features=None, consents=WITHDRAWN, policy=policy, now=NOW) == []


def test_disabling_one_rule_leaves_the_others_firing():
    policy = policy_with_rule("OVER_BORROWING", enabled=False)
    hits = hits_for(Features(external_lenders=9, applications_7d=9, current_dpd=45), policy)
    assert set(hits) == {"FREQUENT_APPLICATIONS", "OVERDUE_30"}


@pytest.mark.parametrize("days", [1, 14, 365])
def test_suspension_ends_suspend_days_after_now(days):
    policy = policy_with_rule("OVERDUE_30", suspend_days=days)
    hit = hits_for(Features(current_dpd=30), policy)["OVERDUE_30"]
    assert hit.effective_until == NOW + timedelta(days=days)
    assert hit.effective_until.tzinfo is not None


def test_a_review_rule_switched_to_suspend_carries_an_end():
    # given OVER_BORROWING made a 10-day suspension by policy
    policy = policy_with_rule("OVER_BORROWING", action="suspend", suspend_days=10)
    hit = hits_for(Features(external_lenders=9), policy)["OVER_BORROWING"]
    assert (hit.action, hit.effective_until) == ("suspend", NOW + timedelta(days=10))


def test_suspend_days_on_a_non_suspend_rule_is_ignored():
    # a review rule with a stray suspend_days still has no end: it suspends nothing
    policy = policy_with_rule("SPENDING_SPIKE", suspend_days=5)
    hit = hits_for(Features(spend_spike_ratio=Decimal("9"), spend_7d=Decimal("900.00")), policy)["SPENDING_SPIKE"]
    assert (hit.action, hit.effective_until) == ("review", None)


def test_severity_comes_from_the_policy():
    policy = policy_with_rule("OVERDUE_30", severity=1)
    assert hits_for(Features(current_dpd=30), policy)["OVERDUE_30"].severity == 1


def test_hits_are_in_a_stable_order(policy):
    # consent first, then the feature rules in policy order
    hits = evaluate_rules(
        features=Features(external_lenders=9, applications_7d=9, spend_spike_ratio=Decimal("9"), spend_7d=Decimal("900.00"), current_dpd=45),
        consents=WITHDRAWN,
        policy=policy,
        now=NOW,
    )
    assert [h.rule for h in hits] == ["CONSENT_WITHDRAWN", "OVER_BORROWING", "FREQUENT_APPLICATIONS", "SPENDING_SPIKE", "OVERDUE_30"]


def test_every_alert_rule_choice_can_fire_with_an_action_from_the_choices(policy):
    # given features over every threshold, a 95-day arrear, and a withdrawn scoring consent
    from decisions.models import AlertAction, AlertRule

    over = Features(external_lenders=9, applications_7d=9, spend_spike_ratio=Decimal("5"), spend_7d=Decimal("1000.00"), current_dpd=40)
    hits = {**hits_for(over, policy), **hits_for(Features(current_dpd=95), policy), **hits_for(None, policy, WITHDRAWN)}
    # and a customer who never acknowledged the risk disclosure published 90 days ago
    from decisions.engine.features import DisclosureStatus

    unacknowledged = DisclosureStatus(1, 2, NOW - timedelta(days=90), NOW - timedelta(days=400), None)
    hits.update({h.rule: h for h in evaluate_rules(features=None, consents=CONSENTED, policy=policy, now=NOW, disclosure=unacknowledged)})

    # then the rules that fired are exactly the AlertRule choices, each with an AlertAction
    assert set(hits) == set(AlertRule.values)
    assert {h.action for h in hits.values()} <= set(AlertAction.values)
    assert all((h.effective_until is not None) == (h.action == AlertAction.SUSPEND) for h in hits.values())

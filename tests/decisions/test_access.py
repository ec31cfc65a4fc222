"""Policy → decision: the precedence of access states, the limit arithmetic and overrides.

`decide` is pure, so every case is built from plain values: a ScoreResult with the band under
test, Features carrying only the income proxy, rule hits, open alerts and the line as it was.
"""

import copy
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from decisions.engine.access import ZERO, DecisionOutcome, LineState, OpenAlert, decide, target_limit
from decisions.engine.types import ActiveOverride
from decisions.engine.features import Features
from decisions.engine.policy import Policy, default_policy_body, parse_policy
from decisions.engine.rules import RuleHit
from decisions.engine.scoring import ScoreResult

NOW = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)
SCORES = {"A": 700, "B": 650, "C": 610, "D": 560, "E": 400}


@pytest.fixture(scope="module")
def policy() -> Policy:
    return parse_policy(default_policy_body())


def scored(band: str) -> ScoreResult:
    return ScoreResult(SCORES[band], Decimal("0.01000"), band, {}, [])


def income(amount: str | None) -> Features:
    return Features(income_proxy_3m=None if amount is None else Decimal(amount))


def open_line(limit: str, *, access: str = "open", started: datetime | None = None, base: str | None = None) -> LineState:
    """A line the model left `access` at `limit`, in a cycle started at `started` from `base`."""
    amount = Decimal(limit)
    return LineState(
        access=access,
        limit=amount,
        model_access=access,
        model_limit=amount,
        cycle_started_at=started,
        cycle_base_limit=Decimal(base) if base is not None else amount,
    )


def run(policy: Policy, **given: Any) -> DecisionOutcome:
    """decide() with a consenting band-B customer earning 2000.00 and a fresh line, unless told."""
    args: dict[str, Any] = dict(
        has_scoring_consent=True,
        score=scored("B"),
        features=income("2000.00"),
        hits=[],
        open_alerts=[],
        line=LineState(),
        override=None,
        policy=policy,
        now=NOW,
    )
    args.update(given)
    return decide(**args)


def suspend_hit(rule: str = "OVERDUE_30", days: int = 30) -> RuleHit:
    return RuleHit(rule, "suspend", 4, {}, NOW + timedelta(days=days))


def close_hit(rule: str = "OVERDUE_90") -> RuleHit:
    return RuleHit(rule, "close", 5, {}, None)


def review_hit(rule: str = "SPENDING_SPIKE") -> RuleHit:
    return RuleHit(rule, "review", 2, {}, None)


def codes(out: DecisionOutcome) -> list[str]:
    return [r["code"] for r in out.reasons]


def assert_money(value: Decimal, expected: str) -> None:
    # equal AND the same exponent: a limit is stored and shown in cents
    assert type(value) is Decimal
    assert value == Decimal(expected)
    assert str(value) == expected


# --- every access state ------------------------------------------------------------------------


def test_open(policy):
    # given a band-B customer earning 2000.00 with no line yet
    # when decided
    out = run(policy)

    # then open at 2000 × 1.0, a new cycle starting now from the granted limit
    assert out.access == out.model_access == "open"
    assert_money(out.limit, "2000.00")
    assert out.model_limit == out.limit
    assert out.suspended_until is None and out.override_id is None
    assert codes(out) == ["BAND"]
    assert out.reasons[0] == {"code": "BAND", "text": "Score 650, band B.", "score": 650, "band": "B"}
    assert (out.cycle_started_at, out.cycle_base_limit) == (NOW, Decimal("2000.00"))


def test_limited_via_band_d(policy):
    # given a band-D customer: 2000 × 0.3 = 600
    out = run(policy, score=scored("D"))

    assert out.access == out.model_access == "limited"
    assert_money(out.limit, "600.00")
    assert codes(out) == ["BAND", "LIMITED"]
    assert out.reasons[1]["text"] == "Limited: band D; the limit is not increased."
    assert out.reasons[1]["open_alerts"] == []


def test_limited_via_open_alert_even_in_band_a(policy):
    # given a band-A customer at 1000.00 whose target would be 3000, with a review alert open
    alerts = [OpenAlert("SPENDING_SPIKE", "review", None), OpenAlert("OVER_BORROWING", "review", None)]
    out = run(policy, score=scored("A"), open_alerts=alerts, line=open_line("1000.00", started=NOW - timedelta(days=40)))

    # then limited and not increased
    assert out.access == "limited"
    assert_money(out.limit, "1000.00")
    assert codes(out) == ["BAND", "LIMITED"]
    assert out.reasons[1]["text"] == "Limited: an open alert awaits review; the limit is not increased."
    assert out.reasons[1]["open_alerts"] == ["OVER_BORROWING", "SPENDING_SPIKE"]


def test_suspended_via_rule_hit(policy):
    # given an OVERDUE_30 hit suspending for 30 days, on an open line
    out = run(policy, score=scored("A"), hits=[suspend_hit()], line=open_line("1000.00", started=NOW - timedelta(days=3)))

    # then suspended until the hit's end, with no usable limit
    assert out.access == out.model_access == "suspended"
    assert_money(out.limit, "0.00")
    assert out.model_limit == ZERO
    assert out.suspended_until == NOW + timedelta(days=30)
    assert out.reasons == [
        {"code": "SUSPENDED_BY_RULE", "text": "Suspended by rule OVERDUE_30.", "rule": "OVERDUE_30", "until": str(NOW + timedelta(days=30))}
    ]
    # the last granted limit is kept as the cycle's base, so the return is capped from it
    assert (out.cycle_started_at, out.cycle_base_limit) == (NOW - timedelta(days=3), Decimal("1000.00"))


def test_suspended_via_open_alert_still_in_force(policy):
    # given no hit this time, but a suspend alert from an earlier run ending in 3 days
    alert = OpenAlert("FREQUENT_APPLICATIONS", "suspend", NOW + timedelta(days=3))
    out = run(policy, open_alerts=[alert], line=open_line("1000.00"))

    # then still suspended until the alert's end
    assert out.access == "suspended"
    assert_money(out.limit, "0.00")
    assert out.suspended_until == NOW + timedelta(days=3)
    assert [r["rule"] for r in out.reasons] == ["FREQUENT_APPLICATIONS"]


def test_several_suspensions_run_until_the_latest(policy):
    # given a 7-day hit and a 20-day alert
    alert = OpenAlert("OVERDUE_30", "suspend", NOW + timedelta(days=20))
    out = run(policy, hits=[suspend_hit("FREQUENT_APPLICATIONS", days=7)], open_alerts=[alert])

    # then suspended until the later one, each rule named once, sorted
    assert out.suspended_until == NOW + timedelta(days=20)
    assert [(r["rule"], r["until"]) for r in out.reasons] == [
        ("FREQUENT_APPLICATIONS", str(NOW + timedelta(days=20))),
        ("OVERDUE_30", str(NOW + timedelta(days=20))),
    ]


def test_same_rule_as_hit_and_alert_is_named_once_and_the_alert_keeps_its_end(policy):
    # given a suspension in force recorded on the alert, and the rule firing again
    alert = OpenAlert("OVERDUE_30", "suspend", NOW + timedelta(days=2))
    out = run(policy, hits=[suspend_hit("OVERDUE_30", days=30)], open_alerts=[alert])
    # then the end stays where the alert put it: a rerun must not push it further (fixed point)
    assert out.suspended_until == NOW + timedelta(days=2)
    assert codes(out) == ["SUSPENDED_BY_RULE"]


def test_a_confirmed_suspension_stays_in_force_until_its_suppression_ends(policy):
    confirmed = OpenAlert("FREQUENT_APPLICATIONS", "suspend", NOW + timedelta(days=10))
    out = run(policy, confirmed=[confirmed], line=open_line("1000.00"))
    assert (out.access, out.suspended_until) == ("suspended", NOW + timedelta(days=10))


def test_a_confirmed_review_alert_keeps_the_line_limited(policy):
    out = run(policy, confirmed=[OpenAlert("SPENDING_SPIKE", "review", None)], line=open_line("1000.00"))
    assert out.access == "limited"


@pytest.mark.parametrize("ended", [NOW - timedelta(seconds=1), NOW, NOW - timedelta(days=30)])
def test_lapsed_suspension_is_not_in_force(policy, ended):
    # given a suspend alert whose end has come (at now counts as ended), still open for review
    alert = OpenAlert("OVERDUE_30", "suspend", ended)
    out = run(policy, open_alerts=[alert], line=open_line("1000.00", started=NOW - timedelta(days=3)))

    # then not suspended; the open alert still limits the line without increasing it
    assert out.access == "limited"
    assert out.suspended_until is None
    assert_money(out.limit, "1000.00")
    assert "SUSPENDED_BY_RULE" not in codes(out)


def test_suspend_alert_without_an_end_does_not_suspend(policy):
    out = run(policy, open_alerts=[OpenAlert("OVERDUE_30", "suspend", None)], line=open_line("1000.00"))
    assert out.access == "limited"
    assert out.suspended_until is None


def test_closed_via_rule(policy):
    # given an OVERDUE_90 close hit on a band-A open line
    out = run(policy, score=scored("A"), hits=[close_hit()], line=open_line("3000.00"))

    assert out.access == out.model_access == "closed"
    assert_money(out.limit, "0.00")
    assert out.suspended_until is None
    assert out.reasons == [{"code": "CLOSED_BY_RULE", "text": "Closed by rule OVERDUE_90.", "rule": "OVERDUE_90"}]


def test_closed_is_sticky_even_with_a_good_score(policy):
    # given a line the model closed earlier, and now a band-A customer with nothing against them
    line = LineState(access="closed", model_access="closed")
    out = run(policy, score=scored("A"), features=income("9000.00"), line=line)

    # then it stays closed
    assert out.access == out.model_access == "closed"
    assert_money(out.limit, "0.00")
    assert codes(out) == ["CLOSED_PERMANENTLY"]
    assert out.changed_from(line) is False


def test_closed_model_stays_closed_under_an_override_that_ended(policy):
    # the line shows an override's "open", but the model's view is closed: once the override
    # is gone (override=None) the model's closure is what counts
    line = LineState(access="open", limit=Decimal("1500.00"), model_access="closed", model_limit=ZERO)
    out = run(policy, score=scored("A"), line=line)
    assert out.access == "closed"
    assert out.changed_from(line) is True


def test_not_offered_without_scoring_consent(policy):
    # given no credit_scoring consent: no features, no score
    out = run(policy, has_scoring_consent=False, score=None, features=None, line=open_line("1000.00"))

    assert out.access == out.model_access == "not_offered"
    assert_money(out.limit, "0.00")
    assert codes(out) == ["NO_CONSENT"]


def test_not_offered_in_band_e(policy):
    out = run(policy, score=scored("E"), features=income("9000.00"))
    assert out.access == "not_offered"
    assert_money(out.limit, "0.00")
    assert out.reasons == [{"code": "SCORE_BELOW_CUTOFF", "text": "Score 400 is in band E.", "score": 400}]


# --- precedence --------------------------------------------------------------------------------


def test_sticky_closed_beats_no_consent(policy):
    out = run(policy, has_scoring_consent=False, score=None, features=None, line=LineState(access="closed", model_access="closed"))
    assert out.access == "closed"
    assert codes(out) == ["CLOSED_PERMANENTLY"]


def test_no_consent_beats_a_close_hit(policy):
    out = run(policy, has_scoring_consent=False, score=None, features=None, hits=[close_hit()])
    assert out.access == "not_offered"
    assert codes(out) == ["NO_CONSENT"]


def test_close_hit_beats_a_suspension(policy):
    out = run(policy, hits=[suspend_hit(), close_hit()], open_alerts=[OpenAlert("X", "suspend", NOW + timedelta(days=5))])
    assert out.access == "closed"
    assert out.suspended_until is None


def test_suspension_beats_band_e(policy):
    out = run(policy, score=scored("E"), hits=[suspend_hit()])
    assert out.access == "suspended"
    assert out.suspended_until == NOW + timedelta(days=30)


def test_band_e_beats_an_open_alert(policy):
    out = run(policy, score=scored("E"), open_alerts=[OpenAlert("SPENDING_SPIKE", "review", None)])
    assert out.access == "not_offered"


def test_review_hits_alone_do_not_limit(policy):
    # a review hit this run becomes an alert later; decide() only limits on open alerts
    out = run(policy, hits=[review_hit()])
    assert out.access == "open"


# --- limit arithmetic --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "band, amount, expected",
    [
        ("B", "2000.00", "2000.00"),  # 2000 × 1.0
        ("C", "1234.56", "700.00"),  # 740.736 → down to a multiple of 50
        ("A", "1234.56", "1850.00"),  # 1851.84 → 1850
        ("B", "1049.99", "1000.00"),  # rounds down, never to the nearest
        ("B", "1050.00", "1050.00"),  # exactly on a step stays
        ("D", "300.00", "100.00"),  # 90 → 50 → raised to min_limit
        ("D", "333.33", "100.00"),  # 99.999 → 50 → min_limit
        ("C", "250.00", "150.00"),  # 150 exactly
        ("A", "4000.00", "5000.00"),  # 6000 → capped at max_limit
        ("A", "3333.34", "5000.00"),  # 5000.01 → 5000
        ("B", None, "800.00"),  # no income proxy → fallback 800 × 1.0
        ("A", None, "1200.00"),  # 800 × 1.5
        ("C", None, "450.00"),  # 800 × 0.6 = 480 → 450
        ("D", None, "200.00"),  # 800 × 0.3 = 240 → 200
        ("E", "9000.00", "0.00"),  # multiplier 0: no limit at all, not min_limit
    ],
)
def test_target_limit(policy, band, amount, expected):
    assert_money(target_limit(features=income(amount), band=band, policy=policy), expected)


def test_first_grant_uses_the_target_limit_exactly(policy):
    # given a band-C customer earning 1234.56 with no line
    out = run(policy, score=scored("C"), features=income("1234.56"))
    # then 700.00, to the cent
    assert out.access == "open"
    assert_money(out.limit, "700.00")
    assert_money(out.cycle_base_limit, "700.00")


def test_fallback_income_when_no_income_proxy(policy):
    out = run(policy, features=Features())
    assert_money(out.limit, "800.00")


def test_limit_honours_a_policy_rounding_step():
    # given a policy rounding limits to 0.25
    body = copy.deepcopy(default_policy_body())
    body["limits"]["round_to"] = "0.25"
    policy = parse_policy(body)

    # then 1234.56 × 0.6 = 740.736 → 740.50 (down to the step, kept in cents)
    assert_money(target_limit(features=income("1234.56"), band="C", policy=policy), "740.50")


# --- increases, decreases, cycles --------------------------------------------------------------


def test_first_grant_from_zero_is_not_capped(policy):
    # given no line at all, band A earning 2000 → target 3000 (well over 25% of nothing)
    out = run(policy, score=scored("A"))
    assert_money(out.limit, "3000.00")
    assert "LIMIT_INCREASE_CAPPED" not in codes(out)
    assert (out.cycle_started_at, out.cycle_base_limit) == (NOW, Decimal("3000.00"))


def test_increase_is_capped_within_a_cycle(policy):
    # given an open line raised to 1100 in a cycle started 10 days ago from 1000; target now 3000
    line = open_line("1100.00", started=NOW - timedelta(days=10), base="1000.00")
    out = run(policy, score=scored("A"), line=line)

    # then the increase stops at 1000 × 1.25 = 1250, and the cycle carries on unchanged
    assert out.access == "open"
    assert_money(out.limit, "1250.00")
    assert codes(out) == ["BAND", "LIMIT_INCREASE_CAPPED"]
    assert out.reasons[1] == {
        "code": "LIMIT_INCREASE_CAPPED",
        "text": "Increase capped at 25% per 30-day cycle.",
        "target": "3000.00",
        "cap": "1250.00",
    }
    assert (out.cycle_started_at, out.cycle_base_limit) == (NOW - timedelta(days=10), Decimal("1000.00"))


def test_a_second_increase_in_the_same_cycle_gets_nothing_more(policy):
    # given the line already raised to 1250 in a cycle that began at 1000, 20 days ago
    line = open_line("1250.00", started=NOW - timedelta(days=20), base="1000.00")
    out = run(policy, score=scored("A"), line=line)

    # then the cap over the cycle's base still holds
    assert_money(out.limit, "1250.00")
    assert "LIMIT_INCREASE_CAPPED" in codes(out)
    assert out.cycle_base_limit == Decimal("1000.00")


def test_a_new_cycle_starts_when_cycle_days_have_elapsed(policy):
    # given the cycle began exactly 30 days ago (cycle_days) at 1000, now at 1250
    line = open_line("1250.00", started=NOW - timedelta(days=30), base="1000.00")
    out = run(policy, score=scored("A"), line=line)

    # then a new cycle starts now from 1250: cap 1562.50 → 1550
    assert_money(out.limit, "1550.00")
    assert (out.cycle_started_at, out.cycle_base_limit) == (NOW, Decimal("1250.00"))
    assert out.reasons[1]["cap"] == "1550.00"


def test_the_cycle_has_not_elapsed_a_second_before_cycle_days(policy):
    line = open_line("1250.00", started=NOW - timedelta(days=30) + timedelta(seconds=1), base="1000.00")
    out = run(policy, score=scored("A"), line=line)
    assert_money(out.limit, "1250.00")
    assert out.cycle_started_at == NOW - timedelta(days=30) + timedelta(seconds=1)


def test_a_line_without_a_cycle_starts_one_on_increase(policy):
    line = open_line("1000.00", started=None)
    out = run(policy, score=scored("A"), line=line)
    assert_money(out.limit, "1250.00")
    assert (out.cycle_started_at, out.cycle_base_limit) == (NOW, Decimal("1000.00"))


def test_an_increase_within_the_cap_is_granted_in_full(policy):
    # given 1000 → target 1200 (band B earning 1200) as a new cycle starts: under the 1250 cap
    out = run(policy, features=income("1200.00"), line=open_line("1000.00", started=NOW - timedelta(days=31)))
    assert_money(out.limit, "1200.00")
    assert codes(out) == ["BAND"]


def test_a_decrease_applies_at_once_mid_cycle(policy):
    # given a line at 3000 in a cycle started yesterday; the target falls to 800
    line = open_line("3000.00", started=NOW - timedelta(days=1))
    out = run(policy, features=Features(), line=line)

    # then the limit drops straight to 800, not capped, and a new cycle starts from 800
    assert out.access == "open"
    assert_money(out.limit, "800.00")
    assert "LIMIT_INCREASE_CAPPED" not in codes(out)
    assert (out.cycle_started_at, out.cycle_base_limit) == (NOW, Decimal("800.00"))


def test_after_a_cut_no_increase_until_the_cycle_has_run(policy):
    # given a line cut to 800 yesterday (new cycle at 800); the target is back at 2000
    line = open_line("800.00", started=NOW - timedelta(days=1))
    out = run(policy, line=line)

    # then the limit waits at 800 (a cut and a raise within days of it is a reversal on noise)
    assert_money(out.limit, "800.00")
    assert codes(out) == ["BAND", "LIMIT_INCREASE_WAITS"]
    assert out.reasons[1]["until"] == str(NOW + timedelta(days=29)) and out.reasons[1]["target"] == "2000.00"
    assert out.changed_from(line) is False
    # a second before the cycle ends it still waits; when it ends it may rise 25% over 800 only
    assert_money(run(policy, line=open_line("800.00", started=NOW - timedelta(days=30) + timedelta(seconds=1))).limit, "800.00")
    later = run(policy, line=open_line("800.00", started=NOW - timedelta(days=30)))
    assert_money(later.limit, "1000.00")
    assert "LIMIT_INCREASE_CAPPED" in codes(later)


def test_a_new_line_is_not_raised_in_its_first_cycle(policy):
    # given a first grant of 1000 five days ago; the target rises to 3000
    out = run(policy, score=scored("A"), line=open_line("1000.00", started=NOW - timedelta(days=5)))
    assert_money(out.limit, "1000.00")
    assert "LIMIT_INCREASE_WAITS" in codes(out)


def test_a_cut_while_limited_starts_a_new_cycle_too(policy):
    # given an open line at 2000 in an old cycle; band D now (limited), target 600
    line = open_line("2000.00", started=NOW - timedelta(days=50), base="1800.00")
    out = run(policy, score=scored("D"), line=line)
    assert out.access == "limited"
    assert_money(out.limit, "600.00")
    assert (out.cycle_started_at, out.cycle_base_limit) == (NOW, Decimal("600.00"))
    # and the next day, back in band B, the limit waits at 600
    back = run(policy, line=open_line("600.00", access="limited", started=NOW - timedelta(days=1)))
    assert_money(back.limit, "600.00")
    assert "LIMIT_INCREASE_WAITS" in codes(back)


def test_a_cut_is_never_held_back(policy):
    # given a line raised yesterday in a new cycle; the target falls
    line = open_line("1250.00", started=NOW - timedelta(days=1), base="1000.00")
    out = run(policy, features=income("900.00"), line=line)
    assert_money(out.limit, "900.00")
    assert (out.cycle_started_at, out.cycle_base_limit) == (NOW, Decimal("900.00"))


def test_unchanged_target_keeps_the_limit(policy):
    line = open_line("2000.00", started=NOW - timedelta(days=5))
    out = run(policy, line=line)
    assert_money(out.limit, "2000.00")
    assert out.changed_from(line) is False


def test_limited_never_increases(policy):
    # given a band-D line at 1000 whose target would be 10000 × 0.3 = 3000, in a new cycle
    line = open_line("1000.00", access="limited", started=NOW - timedelta(days=90))
    out = run(policy, score=scored("D"), features=income("10000.00"), line=line)

    # then it stays at 1000
    assert out.access == "limited"
    assert_money(out.limit, "1000.00")
    assert "LIMIT_INCREASE_CAPPED" not in codes(out)


def test_limited_still_decreases(policy):
    # given a limited line at 1000 whose target falls to 2000 × 0.3 = 600
    out = run(policy, score=scored("D"), line=open_line("1000.00", access="limited"))
    assert_money(out.limit, "600.00")


def test_previous_limit_is_the_models_not_the_overrides(policy):
    # given a line shown at 4000 by an override that has ended, the model's own view was 1000
    line = LineState(
        access="open", limit=Decimal("4000.00"), model_access="open", model_limit=Decimal("1000.00"),
        cycle_started_at=NOW - timedelta(days=40), cycle_base_limit=Decimal("1000.00"),
    )
    # when the model raises band A (target 3000) as a new cycle starts
    out = run(policy, score=scored("A"), line=line)

    # then the cap applies over the model's 1000, not the override's 4000
    assert_money(out.limit, "1250.00")
    assert out.changed_from(line) is True


@pytest.mark.parametrize("model_access", ["suspended", "not_offered"])
def test_coming_back_is_capped_from_the_last_granted_limit(policy, model_access):
    # given a line the model had suspended or not offered, last granted 1000 three days ago
    line = LineState(access=model_access, model_access=model_access, cycle_started_at=NOW - timedelta(days=3), cycle_base_limit=Decimal("1000.00"))
    out = run(policy, score=scored("A"), line=line)

    # then it comes back at 1000, not the 3000 target: no raise within the cycle
    assert out.access == "open"
    assert_money(out.limit, "1000.00")
    assert "LIMIT_INCREASE_WAITS" in codes(out)
    # and once the cycle has run, +25% over 1000
    line = replace(line, cycle_started_at=NOW - timedelta(days=40))
    later = run(policy, score=scored("A"), line=line)
    assert_money(later.limit, "1250.00")
    assert "LIMIT_INCREASE_CAPPED" in codes(later)


def test_a_line_never_granted_gets_its_target_as_a_fresh_grant(policy):
    line = LineState(access="not_offered", model_access="not_offered")
    out = run(policy, score=scored("A"), line=line)
    assert_money(out.limit, "3000.00")
    assert (out.cycle_started_at, out.cycle_base_limit) == (NOW, Decimal("3000.00"))


# --- overrides ---------------------------------------------------------------------------------


def test_open_override_wins_over_a_closed_model(policy):
    # given a sticky-closed line and an approved "open at 1500" override
    override = ActiveOverride(id=5, access="open", limit=Decimal("1500.00"), expires_at=NOW + timedelta(days=30))
    line = LineState(access="closed", model_access="closed")
    out = run(policy, score=scored("A"), line=line, override=override)

    # then the customer sees the override, the model's view stays closed, OVERRIDE leads the reasons
    assert out.access == "open"
    assert_money(out.limit, "1500.00")
    assert (out.model_access, out.model_limit) == ("closed", ZERO)
    assert out.override_id == 5
    assert out.suspended_until is None
    assert codes(out) == ["OVERRIDE", "CLOSED_PERMANENTLY"]
    assert out.reasons[0] == {
        "code": "OVERRIDE",
        "text": "A manual override approved by two people is in force.",
        "override_id": 5,
        "expires_at": str(NOW + timedelta(days=30)),
    }


def test_open_override_wins_over_a_close_hit(policy):
    override = ActiveOverride(id=8, access="open", limit=Decimal("700.00"), expires_at=NOW + timedelta(days=10))
    out = run(policy, hits=[close_hit()], override=override)
    assert (out.access, out.model_access) == ("open", "closed")
    assert_money(out.limit, "700.00")


def test_suspended_override_sets_suspended_until_its_expiry(policy):
    # given a model that would open at 2000, and an approved "suspended" override for 14 days
    override = ActiveOverride(id=6, access="suspended", limit=Decimal("999.00"), expires_at=NOW + timedelta(days=14))
    out = run(policy, override=override)

    # then suspended, no limit, until the override expires; the model's view is kept
    assert out.access == "suspended"
    assert_money(out.limit, "0.00")
    assert out.suspended_until == NOW + timedelta(days=14)
    assert out.model_access == "open"
    assert_money(out.model_limit, "2000.00")
    assert codes(out) == ["OVERRIDE", "BAND"]


def test_open_override_clears_a_model_suspension(policy):
    override = ActiveOverride(id=7, access="limited", limit=Decimal("300.00"), expires_at=NOW + timedelta(days=7))
    out = run(policy, hits=[suspend_hit()], override=override)
    assert out.access == "limited"
    assert_money(out.limit, "300.00")
    assert out.suspended_until is None
    assert (out.model_access, out.model_limit) == ("suspended", ZERO)
    assert codes(out) == ["OVERRIDE", "SUSPENDED_BY_RULE"]


@pytest.mark.parametrize("access", ["closed", "not_offered"])
def test_override_without_a_usable_line_has_no_limit(policy, access):
    override = ActiveOverride(id=9, access=access, limit=Decimal("5000.00"), expires_at=NOW + timedelta(days=7))
    out = run(policy, score=scored("A"), override=override)
    assert out.access == access
    assert_money(out.limit, "0.00")
    assert out.suspended_until is None
    assert out.model_access == "open"


def test_override_keeps_the_models_cycle(policy):
    # the override does not touch the model's cycle bookkeeping
    override = ActiveOverride(id=3, access="open", limit=Decimal("4000.00"), expires_at=NOW + timedelta(days=7))
    line = open_line("1100.00", started=NOW - timedelta(days=10), base="1000.00")
    out = run(policy, score=scored("A"), line=replace(line, access="open", limit=Decimal("4000.00")), override=override)
    assert_money(out.model_limit, "1250.00")
    assert (out.cycle_started_at, out.cycle_base_limit) == (NOW - timedelta(days=10), Decimal("1000.00"))


# --- changed_from ------------------------------------------------------------------------------


def _outcome(access: str, limit: str, model_access: str = "open", model_limit: str = "0.00") -> DecisionOutcome:
    return DecisionOutcome(access, Decimal(limit), model_access, Decimal(model_limit), None)


@pytest.mark.parametrize(
    "outcome, line, changed",
    [
        (_outcome("open", "1000.00"), LineState(access="open", limit=Decimal("1000.00")), False),
        (_outcome("open", "1000.00"), LineState(access="open", limit=Decimal("1000")), False),  # same amount
        (_outcome("open", "1250.00"), LineState(access="open", limit=Decimal("1000.00")), True),  # limit
        (_outcome("limited", "1000.00"), LineState(access="open", limit=Decimal("1000.00")), True),  # access
        (_outcome("suspended", "0.00"), LineState(access="not_offered", limit=ZERO), True),  # access, same 0
        # only the model's view moved; what the customer has is unchanged
        (_outcome("open", "1500.00", "closed", "0.00"), LineState(access="open", limit=Decimal("1500.00"), model_access="open", model_limit=Decimal("900.00")), False),
    ],
    ids=["same", "same-amount-other-exponent", "limit", "access", "access-at-zero", "model-only"],
)
def test_changed_from_compares_what_the_customer_has(outcome, line, changed):
    assert outcome.changed_from(line) is changed


def test_changed_from_after_a_real_decision(policy):
    # given an open line at 1000; the customer now falls to band D (target 600)
    line = open_line("1000.00", started=NOW - timedelta(days=3))
    assert run(policy, score=scored("D"), line=line).changed_from(line) is True
    # and an identical re-run on the resulting line changes nothing
    first = run(policy, score=scored("D"), line=line)
    after = LineState(
        access=first.access, limit=first.limit, model_access=first.model_access, model_limit=first.model_limit,
        suspended_until=first.suspended_until, cycle_started_at=first.cycle_started_at, cycle_base_limit=first.cycle_base_limit,
    )
    assert run(policy, score=scored("D"), line=after).changed_from(after) is False


def test_decide_is_pure(policy):
    # given the same inputs twice / then the same outcome, and the inputs are untouched
    hits, alerts = [suspend_hit()], [OpenAlert("SPENDING_SPIKE", "review", None)]
    line = open_line("1000.00")
    first = run(policy, hits=hits, open_alerts=alerts, line=line)
    second = run(policy, hits=hits, open_alerts=alerts, line=line)
    assert first == second
    assert hits == [suspend_hit()] and alerts == [OpenAlert("SPENDING_SPIKE", "review", None)]


# --- Time alone: a limit may fall but never rise (access._held_on_time) ---------------------------


def test_on_time_alone_a_rise_waits_for_new_data(policy):
    """A cycle that has run its days would raise the line; with nothing new it stays."""
    line = open_line("1000.00", started=NOW - timedelta(days=policy.cycle_days + 1))
    rising = run(policy, line=line)
    assert rising.limit > Decimal("1000.00")  # what new data would bring

    held = run(policy, line=line, new_data=False)

    assert (held.access, held.limit, held.model_limit) == ("open", Decimal("1000.00"), Decimal("1000.00"))
    assert held.reasons[-1]["code"] == "LIMIT_INCREASE_NEEDS_DATA"
    assert held.reasons[-1]["target"] == str(rising.limit)
    # The cycle is the line's: a held rise does not start one.
    assert (held.cycle_started_at, held.cycle_base_limit) == (line.cycle_started_at, line.cycle_base_limit)


def test_on_time_alone_a_cut_applies_at_once(policy):
    line = open_line("5000.00", started=NOW - timedelta(days=3))
    cut = run(policy, line=line, score=scored("C"), new_data=False)
    assert cut.limit < Decimal("5000.00")
    assert all(r["code"] != "LIMIT_INCREASE_NEEDS_DATA" for r in cut.reasons)


def test_on_time_alone_a_line_the_score_withdrew_is_not_offered_again(policy):
    """Band E took the line to not offered; the score is back in band D a few nights later with
    nothing new: the line waits for new data rather than coming back to be withdrawn again."""
    withdrawn = replace(open_line("750.00", started=NOW - timedelta(days=40)), access="not_offered", limit=ZERO, model_access="not_offered", model_limit=ZERO)

    held = run(policy, line=withdrawn, score=scored("D"), new_data=False)
    back = run(policy, line=withdrawn, score=scored("D"))

    assert (held.access, held.limit) == ("not_offered", ZERO)
    assert held.reasons[-1]["code"] == "LIMIT_INCREASE_NEEDS_DATA"
    assert back.access == "limited" and Decimal("0") < back.limit <= Decimal("750.00")


def test_a_suspension_ends_on_its_date_without_new_data(policy):
    """The end of a suspension was decided with it: the line comes back on time alone."""
    ended = LineState(
        access="suspended", limit=ZERO, model_access="suspended", model_limit=ZERO,
        suspended_until=NOW - timedelta(minutes=1), cycle_started_at=NOW - timedelta(days=40), cycle_base_limit=Decimal("1200.00"),
    )
    out = run(policy, line=ended, new_data=False)
    assert out.access == "open" and out.limit > 0


def test_an_override_still_wins_over_a_held_rise(policy):
    line = open_line("1000.00", started=NOW - timedelta(days=policy.cycle_days + 1))
    override = ActiveOverride(id=7, access="open", limit=Decimal("3000.00"), expires_at=NOW + timedelta(days=5))
    out = run(policy, line=line, override=override, new_data=False)
    assert (out.access, out.limit, out.model_limit) == ("open", Decimal("3000.00"), Decimal("1000.00"))

"""The case per flagged account (`AccountCase`) is what grouping the account's open alerts gives,
after anything that raises or triages alerts: the engine (single customer, chunks, suppression
running out), every triage service, the replay. Property-based over sequences of actions."""

import copy
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings, strategies as st

from decisions.casework.services import triage
from decisions.casework.services.bulk_triage import alerts_bulk_dismiss
from decisions.engine.policy import default_policy_body
from decisions.engine.policy_reads import alert_sla_hours
from decisions.engine.services.cases import cases_rebuild, cases_sync
from decisions.engine.services.recompute import decision_recompute
from decisions.engine.services.runs import recompute_run_process_inline, recompute_run_start
from decisions.governance.services.policy import policy_activate
from decisions.models import CASE_RULE_BITS, AccountCase, AlertRule, CreditLine, RiskAlert
from riskops.core.exceptions import DomainError
from tests.decisions.scenarios import make_customer
from tests.factories import CustomerFactory, PolicyVersionFactory, RiskAlertFactory, UserFactory

pytestmark = pytest.mark.django_db
OPEN = RiskAlert.OPEN_STATUSES


def grouped_open_alerts() -> dict[int, tuple]:
    """The oracle: the open alerts grouped per account, computed here independently of
    decisions/engine/services/cases.py."""
    hours = alert_sla_hours()
    groups: dict[int, dict] = {}
    for cid, rule, severity, raised_at, assignee in RiskAlert.objects.filter(status__in=OPEN).values_list(
        "customer_id", "rule", "severity", "raised_at", "assigned_to_id"
    ):
        g = groups.setdefault(cid, {"sev": 0, "due": [], "raised": [], "rules": set(), "assignees": set()})
        g["sev"] = max(g["sev"], severity)
        g["due"].append(raised_at + timedelta(hours=hours[severity]))
        g["raised"].append(raised_at)
        g["rules"].add(rule)
        g["assignees"].add(assignee)
    lines = dict(((cid, (a, b)) for cid, a, b in CreditLine.objects.values_list("customer_id", "access", "band")))
    out = {}
    for cid, g in groups.items():
        held = g["assignees"] - {None}
        assert len(held) <= 1, f"account {cid} has two analysts: {held}"  # one account, one analyst
        out[cid] = (
            g["sev"], min(g["due"]), min(g["raised"]), len(g["raised"]), frozenset(g["rules"]), next(iter(held), None),
            lines.get(cid, ("", "")),
        )
    return out


def stored_cases() -> dict[int, tuple]:
    out = {}
    for case in AccountCase.objects.filter(closed_at__isnull=True):
        rules = frozenset(rule for rule, bit in CASE_RULE_BITS.items() if case.rule_mask & bit)
        assert case.customer_id not in out
        out[case.customer_id] = (
            case.max_severity, case.due_at, case.oldest_raised_at, case.alert_count, rules, case.assigned_to_id,
            (case.access, case.band),
        )
    return out


def assert_cases_match_alerts() -> None:
    assert stored_cases() == grouped_open_alerts()
    closed = AccountCase.objects.filter(closed_at__isnull=False)
    assert not closed.exclude(alert_count=0).exists()
    for case in AccountCase.objects.all():
        assert case.last_activity_at >= case.opened_at or case.closed_at is not None


# --- the property: any sequence of raises and triage actions -----------------------------------

RULES = [AlertRule.OVER_BORROWING.value, AlertRule.SPENDING_SPIKE.value, AlertRule.OVERDUE_30.value]
ACTORS = ["ana", "ben", "rita"]  # two analysts and a risk admin
actions = st.lists(
    st.one_of(
        st.tuples(st.just("raise"), st.integers(0, 1), st.sampled_from(RULES), st.integers(1, 5), st.integers(0, 96)),
        st.tuples(st.just("clear"), st.integers(0, 1)),
        st.tuples(st.sampled_from(["claim", "dismiss", "confirm"]), st.sampled_from(ACTORS), st.integers(0, 1)),
        # Given back mostly by the risk admin, who may do it whoever holds the account.
        st.tuples(st.just("unassign"), st.sampled_from(["rita", "rita", "ana"]), st.integers(0, 1)),
        st.tuples(st.just("assign"), st.sampled_from(["ana", "ben"]), st.integers(0, 1)),
        st.tuples(st.just("bulk_assign"), st.sampled_from(["ana", "ben"]), st.sets(st.integers(0, 1), min_size=1)),
        st.tuples(st.just("bulk_dismiss"), st.sampled_from(ACTORS), st.sets(st.integers(0, 1), min_size=1)),
        st.tuples(st.just("next"), st.sampled_from(["ana", "ben"])),
    ),
    min_size=1,
    max_size=10,
)


def _raise(customer, rule: str, severity: int, hours_ago: int) -> None:
    """What the engine's write does (writing.write_plans): a new alert, or the open one of the rule
    at its new severity, then the account's case in the same transaction."""
    now = timezone.now()
    with transaction.atomic():
        alert = RiskAlert.objects.filter(customer=customer, rule=rule, status__in=OPEN).first()
        if alert is None:
            RiskAlertFactory(customer=customer, rule=rule, severity=severity, raised_at=now - timedelta(hours=hours_ago), account_case=False)
        else:
            alert.severity, alert.last_seen_at = severity, now
            alert.save(update_fields=["severity", "last_seen_at"])
        cases_sync(customer_ids=[customer.pk], now=now)


def _clear(customer) -> None:
    """What the engine's `alerts_clear` does: an open alert resolved because its rule stopped firing."""
    now = timezone.now()
    with transaction.atomic():
        RiskAlert.objects.filter(pk__in=RiskAlert.objects.filter(customer=customer, status__in=OPEN).values("pk")[:1]).update(
            status=RiskAlert.Status.RESOLVED, resolved_at=now, resolution="cleared"
        )
        cases_sync(customer_ids=[customer.pk], now=now)


def _first_open(customer):
    return RiskAlert.objects.filter(customer=customer, status__in=OPEN).order_by("pk").first()


def _apply(action: tuple, customers: list, users: dict) -> None:
    kind = action[0]
    if kind == "raise":
        return _raise(customers[action[1]], *action[2:])
    if kind == "clear":
        return _clear(customers[action[1]])
    if kind == "next":
        triage.case_next(actor=users[action[1]])
        return None
    if kind in ("bulk_assign", "bulk_dismiss"):
        alerts = [a for a in (_first_open(customers[i]) for i in sorted(action[2])) if a is not None]
        if not alerts:
            return None
        if kind == "bulk_assign":
            triage.alerts_bulk_assign(alert_ids=[a.pk for a in alerts], assignee=users[action[1]], actor=users["rita"])
        else:
            alerts_bulk_dismiss(alert_ids=[a.pk for a in alerts], actor=users[action[1]], note="false positive", suppress_days=3)
        return None
    alert = _first_open(customers[action[2]])
    if alert is None:
        return None
    actor = users[action[1]]
    if kind == "claim":
        triage.alert_claim(alert=alert, actor=actor)
    elif kind == "unassign":
        triage.alert_unassign(alert=alert, actor=actor)
    elif kind == "assign":
        triage.alert_assign(alert=alert, assignee=actor, actor=users["rita"])
    else:
        service = triage.alert_dismiss if kind == "dismiss" else triage.alert_confirm
        service(alert=alert, actor=actor, note="checked", suppress_days=3)
    return None


@pytest.fixture
def users(make_user):
    return {"ana": make_user("ana", "analyst"), "ben": make_user("ben", "analyst"), "rita": make_user("rita", "risk_admin")}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=actions)
def test_after_any_raises_and_triage_the_cases_are_the_open_alerts_grouped(users, steps):
    customers = [CustomerFactory() for _ in range(2)]
    for i, customer in enumerate(customers):  # each account starts flagged: the triage has work
        _raise(customer, RULES[i], 3, 5)
    for step in steps:
        try:
            _apply(step, customers, users)
        except DomainError:
            pass  # a refusal (held by someone else, closed…) changes nothing, checked below too
        assert_cases_match_alerts()


# --- the engine: single customer, chunks, suppression running out ------------------------------


def flagged_customer(**extra):
    """A customer the engine flags: overdue 35 days (OVERDUE_30) and many applications."""
    return make_customer(overdue_days=35, applications_last_week=6, **extra)


def test_the_engine_opens_updates_and_closes_cases_with_its_alerts(analyst):
    customer = flagged_customer()
    now = timezone.now()
    decision_recompute(customer=customer, trigger="manual", now=now)
    assert RiskAlert.objects.filter(customer=customer, status__in=OPEN).exists()
    case = AccountCase.objects.get(customer=customer, closed_at__isnull=True)
    assert (case.opened_at, case.last_activity_at) == (now, now)
    line = CreditLine.objects.get(customer=customer)
    assert (case.access, case.band) == (line.access, line.band) and line.band
    assert_cases_match_alerts()

    # dismissed and confirmed: the case closes; when the suppression runs out the engine raises
    # the rule again and a new case opens
    for alert in RiskAlert.objects.filter(customer=customer, status__in=OPEN):
        triage.alert_dismiss(alert=alert, actor=analyst, note="checked", suppress_days=1)
    assert not AccountCase.objects.filter(customer=customer, closed_at__isnull=True).exists()
    assert AccountCase.objects.get(customer=customer).closed_at is not None
    decision_recompute(customer=customer, trigger="manual", now=now + timedelta(days=2))
    assert AccountCase.objects.filter(customer=customer).count() == 2
    assert_cases_match_alerts()


def test_the_chunk_path_keeps_every_case_in_the_same_run():
    flagged = [flagged_customer() for _ in range(3)]
    make_customer()  # a quiet customer: no alert, no case
    run = recompute_run_start(trigger="manual", chunk_size=2, enqueue=False)
    recompute_run_process_inline(run=run)
    assert set(AccountCase.objects.filter(closed_at__isnull=True).values_list("customer_id", flat=True)) == {c.pk for c in flagged}
    assert_cases_match_alerts()


def test_a_new_policy_with_other_sla_hours_moves_every_open_deadline(risk_admin):
    alert = RiskAlertFactory(severity=5)
    assert AccountCase.objects.get(customer=alert.customer).due_at == alert.raised_at + timedelta(hours=4)
    body = copy.deepcopy(default_policy_body())
    body["alerts"]["sla_hours"] = {"1": 96, "2": 72, "3": 48, "4": 24, "5": 12}
    policy_activate(version=PolicyVersionFactory(body=body), actor=risk_admin)
    assert AccountCase.objects.get(customer=alert.customer).due_at == alert.raised_at + timedelta(hours=12)
    assert_cases_match_alerts()


# --- the rules the table holds ---------------------------------------------------------------


def test_one_open_case_per_customer_is_a_constraint():
    alert = RiskAlertFactory()
    case = AccountCase.objects.get(customer=alert.customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountCase.objects.create(
            customer=alert.customer, max_severity=1, due_at=case.due_at, oldest_raised_at=case.oldest_raised_at,
            alert_count=1, opened_at=case.opened_at, last_activity_at=case.opened_at,
        )


def test_rebuild_repairs_cases_a_bulk_load_left_out():
    # alerts written without their cases (a bulk load that bypassed the engine)
    stale = RiskAlertFactory(account_case=False)
    RiskAlertFactory(customer=stale.customer, rule="SPENDING_SPIKE", severity=5, account_case=False)
    gone = RiskAlertFactory()
    RiskAlert.objects.filter(pk=gone.pk).update(status="resolved", resolved_at=timezone.now())
    assert stored_cases() != grouped_open_alerts()
    assert cases_rebuild(now=timezone.now()) == 2  # one opened, one closed
    assert_cases_match_alerts()


def test_the_case_records_when_it_opened_changed_and_closed(analyst):
    alert = RiskAlertFactory()
    case = AccountCase.objects.get(customer=alert.customer)
    assert case.closed_at is None and case.assigned_to is None
    triage.alert_claim(alert=alert, actor=analyst)
    case.refresh_from_db()
    assert case.assigned_to == analyst and case.last_activity_at >= case.opened_at
    triage.alert_confirm(alert=alert, actor=analyst, note="real", suppress_days=2)
    case.refresh_from_db()
    assert case.closed_at is not None and case.alert_count == 0


def test_bulk_assign_of_accounts_updates_their_cases_once(risk_admin, analyst):
    alerts = [RiskAlertFactory() for _ in range(3)]
    UserFactory()
    triage.alerts_bulk_assign(alert_ids=[a.pk for a in alerts], assignee=analyst, actor=risk_admin)
    assert set(AccountCase.objects.filter(closed_at__isnull=True).values_list("assigned_to", flat=True)) == {analyst.pk}
    assert_cases_match_alerts()


# --- the synthetic book: seeded and replayed in bulk -----------------------------------------------


def test_a_replayed_book_keeps_its_cases_through_nightly_chunks_and_the_simulated_analyst():
    from accounts.seeding.generator import as_of_default
    from synthetic.replay import demo_book_seed_with_history

    # given a book replayed day by day: nightly chunk runs raise alerts on the day's clock, the
    # simulated analyst dismisses and confirms a share of them, suppressions run out
    _, report = demo_book_seed_with_history(customers=40, seed=5, history_days=12, today=as_of_default().date(), triage_share=0.5)

    # then every open case is its account's open alerts grouped, and the triaged ones closed theirs
    assert report.triaged > 0
    assert AccountCase.objects.filter(closed_at__isnull=True).exists()
    assert_cases_match_alerts()
    assert AccountCase.objects.filter(closed_at__isnull=False).exists()


# --- the data migration --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_migration_builds_a_case_for_every_account_with_open_alerts():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("decisions", "0013_chunk_lease")], [("decisions", "0014_account_case")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    Customer, RiskAlert_ = apps.get_model("accounts", "Customer"), apps.get_model("decisions", "RiskAlert")
    now = timezone.now()
    flagged = Customer.objects.create(external_id="M-1", full_name="M", national_id="M1", phone="1", onboarded_at=now, created_at=now)
    quiet = Customer.objects.create(external_id="M-2", full_name="Q", national_id="M2", phone="2", onboarded_at=now, created_at=now)
    common = {"action": "review", "evidence": {}, "last_seen_at": now}
    RiskAlert_.objects.create(customer=flagged, rule="OVER_BORROWING", severity=2, raised_at=now - timedelta(hours=3), **common)
    RiskAlert_.objects.create(customer=flagged, rule="OVERDUE_30", severity=4, raised_at=now - timedelta(hours=1), **common)
    RiskAlert_.objects.create(customer=quiet, rule="SPENDING_SPIKE", severity=5, raised_at=now, status="dismissed", resolved_at=now, **common)

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    Case_ = executor.loader.project_state(after).apps.get_model("decisions", "AccountCase")
    (case,) = Case_.objects.all()
    bits = CASE_RULE_BITS["OVER_BORROWING"] | CASE_RULE_BITS["OVERDUE_30"]
    assert (case.customer_id, case.max_severity, case.alert_count, case.rule_mask) == (flagged.pk, 4, 2, bits)
    # the nearest deadline: severity 4 raised 1 h ago (8 h) before severity 2 raised 3 h ago (48 h)
    assert case.due_at == now - timedelta(hours=1) + timedelta(hours=8)
    assert case.closed_at is None and case.assigned_to_id is None
    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

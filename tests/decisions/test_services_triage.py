"""Triage services: every transition, who may do it, bounds, audit rows, recompute on commit."""

import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Customer
from decisions.models import AlertStatus, CaseNote, RiskAlert
from decisions.casework.queue_selectors import QueueFilters
from decisions.casework.services import triage
from riskops.core.exceptions import AlertClaimedByOther, AlertClosed, NotPermitted, ValidationFailed
from riskops.core.models import AuditEvent
from tests.factories import CreditLineFactory, CustomerFactory, RiskAlertFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst2(make_user):
    return make_user("ben", "analyst")


def audit_actions(target) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_type=target._meta.label_lower, target_id=str(target.pk)).order_by("pk").values_list("action", flat=True)
    )


@pytest.fixture
def enqueued():
    """The recompute tasks sent to the broker (after commit), as (customer_id, trigger)."""
    with mock.patch("decisions.tasks.recompute_customer.delay") as delay:
        sent = []
        delay.side_effect = lambda **kw: sent.append((kw["customer_id"], kw["trigger"]))
        yield sent


# --- claim / unassign ------------------------------------------------------------------------


def test_claim_takes_an_open_alert_and_audits_it(analyst):
    alert = RiskAlertFactory()
    claimed = triage.alert_claim(alert=alert, actor=analyst)
    alert.refresh_from_db()
    assert (alert.status, alert.assigned_to, claimed.pk) == (AlertStatus.IN_REVIEW, analyst, alert.pk)
    assert alert.claimed_at is not None
    assert audit_actions(alert) == ["alert.claim"]


def test_claiming_an_alert_someone_else_holds_is_a_conflict(analyst, analyst2):
    alert = RiskAlertFactory()
    triage.alert_claim(alert=alert, actor=analyst)
    with pytest.raises(AlertClaimedByOther):
        triage.alert_claim(alert=alert, actor=analyst2)
    alert.refresh_from_db()
    assert alert.assigned_to == analyst
    assert audit_actions(alert) == ["alert.claim"]


def test_claiming_ones_own_alert_again_writes_nothing(analyst):
    alert = RiskAlertFactory()
    triage.alert_claim(alert=alert, actor=analyst)
    triage.alert_claim(alert=alert, actor=analyst)
    assert audit_actions(alert) == ["alert.claim"]


def test_a_closed_alert_cannot_be_claimed(analyst):
    alert = RiskAlertFactory(dismissed=True)
    with pytest.raises(AlertClosed):
        triage.alert_claim(alert=alert, actor=analyst)


def test_compliance_cannot_claim(compliance_officer):
    alert = RiskAlertFactory()
    with pytest.raises(NotPermitted):
        triage.alert_claim(alert=alert, actor=compliance_officer)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN and audit_actions(alert) == []


def test_unassign_gives_the_alert_back_to_the_queue(analyst):
    alert = RiskAlertFactory()
    triage.alert_claim(alert=alert, actor=analyst)
    triage.alert_unassign(alert=alert, actor=analyst)
    alert.refresh_from_db()
    assert (alert.status, alert.assigned_to, alert.claimed_at) == (AlertStatus.OPEN, None, None)
    assert audit_actions(alert) == ["alert.claim", "alert.unassign"]


def test_only_the_holder_or_a_risk_admin_can_unassign(analyst, analyst2, risk_admin):
    alert = RiskAlertFactory()
    triage.alert_claim(alert=alert, actor=analyst)
    with pytest.raises(AlertClaimedByOther):
        triage.alert_unassign(alert=alert, actor=analyst2)
    triage.alert_unassign(alert=alert, actor=risk_admin)
    alert.refresh_from_db()
    assert alert.assigned_to is None


def test_in_review_without_an_assignee_is_refused_by_the_database():
    alert = RiskAlertFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        RiskAlert.objects.filter(pk=alert.pk).update(status=AlertStatus.IN_REVIEW, claimed_at=timezone.now())


# --- assign ----------------------------------------------------------------------------------


def test_a_risk_admin_assigns_an_alert_to_an_analyst(analyst, risk_admin):
    alert = RiskAlertFactory()
    triage.alert_assign(alert=alert, assignee=analyst, actor=risk_admin)
    alert.refresh_from_db()
    assert (alert.status, alert.assigned_to) == (AlertStatus.IN_REVIEW, analyst)
    assert audit_actions(alert) == ["alert.assign"]


def test_an_analyst_cannot_assign_even_to_themselves(analyst):
    alert = RiskAlertFactory()
    with pytest.raises(NotPermitted):
        triage.alert_assign(alert=alert, assignee=analyst, actor=analyst)
    alert.refresh_from_db()
    assert alert.assigned_to is None


@pytest.mark.parametrize("roles", [[], ["compliance"]])
def test_the_assignee_must_be_an_analyst_or_risk_admin(risk_admin, roles):
    alert = RiskAlertFactory()
    with pytest.raises(ValidationFailed) as exc:
        triage.alert_assign(alert=alert, assignee=UserFactory(roles=roles), actor=risk_admin)
    assert exc.value.field == "assignee"


def test_a_risk_admin_may_reassign_a_claimed_alert_without_four_eyes(analyst, analyst2, risk_admin):
    alert = RiskAlertFactory()
    triage.alert_claim(alert=alert, actor=analyst)
    triage.alert_assign(alert=alert, assignee=analyst2, actor=risk_admin)
    alert.refresh_from_db()
    assert alert.assigned_to == analyst2
    # Assigning to oneself is fine too: assignment decides nothing about the customer.
    triage.alert_assign(alert=alert, assignee=risk_admin, actor=risk_admin)
    alert.refresh_from_db()
    assert alert.assigned_to == risk_admin


def test_bulk_assign_skips_closed_alerts_and_audits_each_change(analyst, risk_admin):
    open_alerts = RiskAlertFactory.create_batch(3)
    closed = RiskAlertFactory(dismissed=True)
    changed = triage.alerts_bulk_assign(alert_ids=[a.pk for a in open_alerts] + [closed.pk], assignee=analyst, actor=risk_admin)
    assert sorted(a.pk for a in changed) == sorted(a.pk for a in open_alerts)
    assert RiskAlert.objects.filter(assigned_to=analyst, status=AlertStatus.IN_REVIEW).count() == 3
    assert all(audit_actions(a) == ["alert.assign"] for a in open_alerts)
    assert audit_actions(closed) == []


def test_bulk_assign_needs_the_assign_permission(analyst):
    alert = RiskAlertFactory()
    with pytest.raises(NotPermitted):
        triage.alerts_bulk_assign(alert_ids=[alert.pk], assignee=analyst, actor=analyst)


# --- next case -------------------------------------------------------------------------------


def test_next_case_is_the_first_unassigned_account_within_the_filter_with_all_its_alerts(analyst):
    # All of severity 3: the nearest SLA deadline, here the oldest alert, decides
    now = timezone.now()
    oldest_other_rule = RiskAlertFactory(rule="OVERDUE_30", raised_at=now - timedelta(hours=9))
    older = RiskAlertFactory(raised_at=now - timedelta(hours=5))
    sibling = RiskAlertFactory(customer=older.customer, rule="SPENDING_SPIKE", raised_at=now - timedelta(hours=1))
    RiskAlertFactory(raised_at=now - timedelta(hours=2))
    RiskAlertFactory(in_review=True, raised_at=now - timedelta(hours=20))  # someone else's

    picked = triage.case_next(actor=analyst, filters=QueueFilters(rule="OVER_BORROWING"))

    assert picked.pk == older.pk
    sibling.refresh_from_db()
    oldest_other_rule.refresh_from_db()
    assert sibling.assigned_to == analyst and sibling.status == AlertStatus.IN_REVIEW
    assert oldest_other_rule.assigned_to is None
    # Without a filter the next account in the whole queue comes next.
    assert triage.case_next(actor=analyst).pk == oldest_other_rule.pk


def test_next_case_honours_filters_on_the_line_and_the_search(analyst):
    # Joins to the customer and its line: only the alert rows are locked (FOR UPDATE OF on PostgreSQL)
    suspended = RiskAlertFactory(customer=CreditLineFactory(access="suspended", band="E").customer, raised_at=timezone.now() - timedelta(hours=1))
    RiskAlertFactory(customer=CreditLineFactory(access="open").customer, raised_at=timezone.now() - timedelta(hours=9))
    assert triage.case_next(actor=analyst, filters=QueueFilters(access="suspended", band="E")).pk == suspended.pk
    other = RiskAlertFactory(customer=CustomerFactory(external_id="C777"))
    assert triage.case_next(actor=analyst, filters=QueueFilters(q="C777")).pk == other.pk


def test_next_case_returns_none_when_nothing_waits(analyst):
    RiskAlertFactory(in_review=True)
    assert triage.case_next(actor=analyst) is None


def test_two_analysts_asking_in_turn_get_different_cases(analyst, analyst2):
    first, second = RiskAlertFactory.create_batch(2)
    got = {triage.case_next(actor=analyst).customer_id, triage.case_next(actor=analyst2).customer_id}
    assert got == {first.customer_id, second.customer_id}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_next_case_never_hands_the_same_case_twice(make_user):
    # Given 6 waiting cases and 6 analysts asking at the same moment (each in its own connection)
    analysts = [make_user(f"a{i}", "analyst") for i in range(6)]
    RiskAlertFactory.create_batch(6)
    barrier = threading.Barrier(len(analysts))
    picked: list[int | None] = []
    errors: list[BaseException] = []

    def ask(user):
        try:
            barrier.wait(timeout=10)
            alert = triage.case_next(actor=user)
            picked.append(alert.customer_id if alert else None)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(u,)) for u in analysts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    # Then every analyst got a case and no case went to two of them
    assert not errors
    assert len(picked) == 6 and None not in picked
    assert len(set(picked)) == 6
    assert RiskAlert.objects.filter(status=AlertStatus.IN_REVIEW).values("assigned_to").distinct().count() == 6


# --- one account, one analyst ---------------------------------------------------------------


def two_alert_account(**extra):
    """A customer with two open alerts (two rules), both unassigned."""
    first = RiskAlertFactory(**extra)
    second = RiskAlertFactory(customer=first.customer, rule="SPENDING_SPIKE", severity=2)
    return first, second


def holders(customer) -> set:
    return set(RiskAlert.objects.filter(customer=customer, status__in=RiskAlert.OPEN_STATUSES).values_list("assigned_to", flat=True))


def test_claiming_one_alert_claims_the_whole_account(analyst):
    first, second = two_alert_account()
    triage.alert_claim(alert=first, actor=analyst)
    second.refresh_from_db()
    assert (second.status, second.assigned_to) == (AlertStatus.IN_REVIEW, analyst)
    assert holders(first.customer) == {analyst.pk}
    # One audit event per alert that changed hands: each alert's trail says who took it.
    assert audit_actions(first) == ["alert.claim"] and audit_actions(second) == ["alert.claim"]


def test_an_account_someone_holds_cannot_be_claimed_through_another_alert(analyst, analyst2):
    first, second = two_alert_account()
    triage.alert_claim(alert=first, actor=analyst)
    # An alert raised later on the held account (still unassigned) is no way in for someone else
    later = RiskAlertFactory(customer=first.customer, rule="OVERDUE_30")
    RiskAlert.objects.filter(pk=later.pk).update(status=AlertStatus.OPEN, assigned_to=None, claimed_at=None)
    with pytest.raises(AlertClaimedByOther) as exc:
        triage.alert_claim(alert=later, actor=analyst2)
    assert "already working on this account" in exc.value.message
    assert holders(first.customer) == {analyst.pk, None}
    # …while its holder's claim takes it into their case
    triage.alert_claim(alert=later, actor=analyst)
    assert holders(first.customer) == {analyst.pk}


def test_next_case_never_lands_on_an_account_someone_holds(analyst, analyst2):
    now = timezone.now()
    first = RiskAlertFactory(raised_at=now - timedelta(hours=9))
    # raised after the claim: open and unassigned, on an account analyst holds
    RiskAlertFactory(customer=first.customer, rule="SPENDING_SPIKE", raised_at=now - timedelta(hours=8))
    other = RiskAlertFactory(raised_at=now - timedelta(hours=1))
    RiskAlert.objects.filter(pk=first.pk).update(status=AlertStatus.IN_REVIEW, assigned_to=analyst, claimed_at=now)
    picked = triage.case_next(actor=analyst2)
    assert picked.customer_id == other.customer_id
    assert holders(first.customer) == {analyst.pk, None}
    assert triage.case_next(actor=analyst2) is None


def test_unassign_gives_the_whole_account_back(analyst, analyst2, risk_admin):
    first, second = two_alert_account()
    triage.alert_claim(alert=first, actor=analyst)
    with pytest.raises(AlertClaimedByOther):
        triage.alert_unassign(alert=second, actor=analyst2)
    triage.alert_unassign(alert=second, actor=analyst)
    assert holders(first.customer) == {None}
    assert RiskAlert.objects.filter(customer=first.customer, status=AlertStatus.OPEN).count() == 2
    assert audit_actions(first) == ["alert.claim", "alert.unassign"] == audit_actions(second)


def test_assign_hands_over_the_whole_account(analyst, analyst2, risk_admin):
    first, second = two_alert_account()
    triage.alert_claim(alert=first, actor=analyst)
    triage.alert_assign(alert=second, assignee=analyst2, actor=risk_admin)
    assert holders(first.customer) == {analyst2.pk}
    assert audit_actions(first) == ["alert.claim", "alert.assign"] == audit_actions(second)


def test_bulk_assign_takes_every_open_alert_of_the_selected_accounts(analyst, risk_admin):
    first, second = two_alert_account()
    lone = RiskAlertFactory()
    untouched = RiskAlertFactory()
    changed = triage.alerts_bulk_assign(alert_ids=[first.pk, lone.pk], assignee=analyst, actor=risk_admin)
    assert sorted(a.pk for a in changed) == sorted([first.pk, second.pk, lone.pk])
    assert holders(first.customer) == {analyst.pk} and holders(lone.customer) == {analyst.pk}
    assert holders(untouched.customer) == {None}


# --- next case: priority order ---------------------------------------------------------------


def test_next_case_takes_the_highest_severity_before_the_oldest(analyst):
    now = timezone.now()
    RiskAlertFactory(severity=2, raised_at=now - timedelta(days=3))
    urgent = RiskAlertFactory(severity=5, rule="OVERDUE_90", raised_at=now - timedelta(hours=1))
    assert triage.case_next(actor=analyst).pk == urgent.pk


def test_next_case_breaks_severity_ties_on_the_sla_deadline_then_age(analyst, monkeypatch):
    now = timezone.now()
    # Severity 4 has a shorter SLA than 3: an alert of 4 raised later falls due sooner.
    monkeypatch.setattr("decisions.casework.queue_selectors.sla_hours", lambda: {1: 72, 2: 48, 3: 24, 4: 4, 5: 2})
    at = now - timedelta(hours=2)
    later_due = RiskAlertFactory(severity=3, raised_at=now - timedelta(hours=10))  # due in 14 h
    RiskAlertFactory(customer=later_due.customer, rule="SPENDING_SPIKE", severity=4, raised_at=now - timedelta(hours=1))  # in 3 h
    young = RiskAlertFactory(severity=4, raised_at=at)  # due in 2 h
    old = RiskAlertFactory(severity=4, raised_at=at)  # due in 2 h too, and the account is older:
    RiskAlertFactory(customer=old.customer, rule="OVERDUE_30", severity=1, raised_at=now - timedelta(hours=50))
    picked = [triage.case_next(actor=analyst).customer_id for _ in range(3)]
    assert picked == [old.customer_id, young.customer_id, later_due.customer_id]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_analysts_taking_the_next_case_at_once_get_two_different_accounts(make_user):
    # Given two accounts of two open alerts each, the first account's both older than the second's,
    # and a recompute holding the lock on one of the first account's alerts for a moment
    now = timezone.now()
    first = RiskAlertFactory(raised_at=now - timedelta(hours=10))
    busy = RiskAlertFactory(customer=first.customer, rule="SPENDING_SPIKE", raised_at=now - timedelta(hours=9))
    second = RiskAlertFactory(raised_at=now - timedelta(hours=5))
    RiskAlertFactory(customer=second.customer, rule="SPENDING_SPIKE", raised_at=now - timedelta(hours=4))
    analysts = [make_user("a1", "analyst"), make_user("a2", "analyst")]
    locked, release = threading.Event(), threading.Event()
    picked: dict[int, int | None] = {}
    errors: list[BaseException] = []

    def recompute():
        try:
            with transaction.atomic():
                RiskAlert.objects.select_for_update().get(pk=busy.pk)
                locked.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    barrier = threading.Barrier(len(analysts))

    def ask(user):
        try:
            barrier.wait(timeout=10)
            alert = triage.case_next(actor=user)
            picked[user.pk] = alert.customer_id if alert else None
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    holder = threading.Thread(target=recompute)
    holder.start()
    assert locked.wait(timeout=10)
    # When both analysts press "next case" at the same moment (the recompute commits shortly after)
    threads = [threading.Thread(target=ask, args=(u,)) for u in analysts]
    for t in threads:
        t.start()
    time.sleep(0.5)
    release.set()
    for t in [holder, *threads]:
        t.join(timeout=30)

    # Then each got a different account, whole: one assignee per account, nothing left waiting
    assert not errors
    assert sorted(picked.values()) == sorted([first.customer_id, second.customer_id])
    for user_pk, customer_id in picked.items():
        assert holders(Customer.objects.get(pk=customer_id)) == {user_pk}
    assert triage.case_next(actor=make_user("a3", "analyst")) is None


# --- notes -----------------------------------------------------------------------------------


def test_note_add_keeps_the_note_and_audits_it(analyst):
    alert = RiskAlertFactory()
    note = triage.note_add(customer=alert.customer, actor=analyst, body="  Called; payslip seen.  ", alert=alert)
    assert (note.body, note.author, note.alert) == ("Called; payslip seen.", analyst, alert)
    assert audit_actions(note) == ["note.add"]


def test_a_blank_note_is_refused_and_nothing_written(analyst):
    customer = CustomerFactory()
    with pytest.raises(ValidationFailed) as exc:
        triage.note_add(customer=customer, actor=analyst, body="   ")
    assert exc.value.field == "body"
    assert not CaseNote.objects.exists()


def test_a_note_about_another_customers_alert_is_refused(analyst):
    alert = RiskAlertFactory()
    with pytest.raises(ValidationFailed):
        triage.note_add(customer=CustomerFactory(), actor=analyst, body="x", alert=alert)


def test_compliance_cannot_add_notes(compliance_officer):
    with pytest.raises(NotPermitted):
        triage.note_add(customer=CustomerFactory(), actor=compliance_officer, body="x")


# --- dismiss / confirm -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "service, status, action",
    [
        (triage.alert_dismiss, AlertStatus.DISMISSED, "alert.dismiss"),
        (triage.alert_confirm, AlertStatus.CONFIRMED, "alert.confirm"),
    ],
)
def test_closing_an_alert_records_who_why_and_until_when_and_recomputes_on_commit(
    analyst, enqueued, django_capture_on_commit_callbacks, service, status, action
):
    alert = RiskAlertFactory()
    triage.alert_claim(alert=alert, actor=analyst)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        service(alert=alert, actor=analyst, note="Income verified by phone.", suppress_days=10)
        assert enqueued == []  # nothing is sent before the transaction commits
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_by, alert.resolution) == (status, analyst, "Income verified by phone.")
    assert alert.resolved_at >= before
    assert before + timedelta(days=10) <= alert.suppressed_until <= timezone.now() + timedelta(days=10)
    assert CaseNote.objects.get(alert=alert).body == "Income verified by phone."
    assert audit_actions(alert) == ["alert.claim", action]
    assert len(callbacks) == 1 and enqueued == [(alert.customer_id, "manual")]


def test_an_unclaimed_alert_can_be_dismissed_directly(analyst):
    alert = RiskAlertFactory()
    triage.alert_dismiss(alert=alert, actor=analyst, note="Known seasonal spend.", suppress_days=3)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.DISMISSED


@pytest.mark.parametrize("days", [0, -1, 91, "", "ten", None])
def test_suppression_days_out_of_bounds_are_refused_and_nothing_written(analyst, enqueued, django_capture_on_commit_callbacks, days):
    alert = RiskAlertFactory()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationFailed) as exc:
        triage.alert_dismiss(alert=alert, actor=analyst, note="ok", suppress_days=days)
    assert exc.value.field == "suppress_days"
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN and alert.suppressed_until is None
    assert not CaseNote.objects.exists() and audit_actions(alert) == [] and enqueued == []


def test_the_bound_is_the_policys_max_suppression_days(analyst, monkeypatch):
    monkeypatch.setattr(triage, "suppression_bounds", lambda: triage.SuppressionBounds(default_days=5, max_days=30))
    alert = RiskAlertFactory()
    with pytest.raises(ValidationFailed):
        triage.alert_confirm(alert=alert, actor=analyst, note="real", suppress_days=31)
    triage.alert_confirm(alert=alert, actor=analyst, note="real", suppress_days=30)


def test_default_bounds_without_policy_settings():
    bounds = triage.suppression_bounds()
    assert 1 <= bounds.default_days <= bounds.max_days


def test_closing_needs_a_note(analyst):
    alert = RiskAlertFactory()
    with pytest.raises(ValidationFailed) as exc:
        triage.alert_confirm(alert=alert, actor=analyst, note="  ", suppress_days=5)
    assert exc.value.field == "note"
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_an_analyst_cannot_close_an_alert_someone_else_holds_but_a_risk_admin_can(analyst, analyst2, risk_admin):
    alert = RiskAlertFactory()
    triage.alert_claim(alert=alert, actor=analyst)
    with pytest.raises(AlertClaimedByOther):
        triage.alert_dismiss(alert=alert, actor=analyst2, note="no", suppress_days=5)
    triage.alert_dismiss(alert=alert, actor=risk_admin, note="Stepping in.", suppress_days=5)


def test_a_closed_alert_cannot_be_closed_again(analyst):
    alert = RiskAlertFactory()
    triage.alert_dismiss(alert=alert, actor=analyst, note="fp", suppress_days=5)
    with pytest.raises(AlertClosed):
        triage.alert_confirm(alert=alert, actor=analyst, note="real after all", suppress_days=5)


def test_compliance_cannot_dismiss(compliance_officer):
    alert = RiskAlertFactory()
    with pytest.raises(NotPermitted):
        triage.alert_dismiss(alert=alert, actor=compliance_officer, note="x", suppress_days=5)


# --- recompute request -----------------------------------------------------------------------


def test_recompute_request_is_audited_and_enqueued_on_commit(analyst, enqueued, django_capture_on_commit_callbacks):
    customer = CreditLineFactory().customer
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        triage.customer_recompute_request(customer=customer, actor=analyst)
        assert enqueued == []
    assert len(callbacks) == 1 and enqueued == [(customer.pk, "manual")]
    assert audit_actions(customer) == ["recompute.request"]


def test_compliance_cannot_request_a_recompute(compliance_officer):
    with pytest.raises(NotPermitted):
        triage.customer_recompute_request(customer=CustomerFactory(), actor=compliance_officer)


"""Triage meets the engine: a dismissed alert stays quiet for its suppression period (unless its
severity rises) and a confirmed alert's action stays in force until its period ends."""

import copy
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from decisions.models import AlertStatus, CreditLine, RiskAlert, Trigger
from decisions.engine.policy import default_policy_body
from decisions.engine import policy_reads as policy_service
from decisions.governance.services.policy import policy_activate, policy_create
from decisions.engine.services.recompute import decision_recompute
from decisions.engine.services.runs import recompute_run_process_inline, recompute_run_start
from decisions.casework.services.triage import alert_confirm, alert_dismiss
from tests.decisions.scenarios import days_ago, make_customer

pytestmark = pytest.mark.django_db

MANY_LENDERS = {"score": 720, "external_lenders": 6, "external_debt": Decimal("500.00")}


def nightly_run() -> None:
    run = recompute_run_start(trigger=Trigger.NIGHTLY, enqueue=False)
    recompute_run_process_inline(run=run)


def over_borrowing_customer():
    """A good customer but for 6 other lenders: OVER_BORROWING (review) limits the line."""
    customer = make_customer(bureau=MANY_LENDERS)
    line = decision_recompute(customer=customer, trigger="manual")
    alert = RiskAlert.objects.get(customer=customer, status=AlertStatus.OPEN)
    assert (alert.rule, line.access) == ("OVER_BORROWING", "limited")
    return customer, alert


def test_a_dismissed_alert_does_not_come_back_on_the_next_nightly_run_and_access_is_restored(
    analyst, django_capture_on_commit_callbacks
):
    # Given an over-borrowing alert that limits the line
    customer, alert = over_borrowing_customer()

    # When an analyst dismisses it as a false positive for 14 days (recompute runs on commit)
    with django_capture_on_commit_callbacks(execute=True):
        alert_dismiss(alert=alert, actor=analyst, note="Lenders are closed accounts, bureau lag.", suppress_days=14)

    # Then the line is open again, and the nightly run raises nothing new for that rule
    assert CreditLine.objects.get(customer=customer).access == "open"
    nightly_run()
    assert not RiskAlert.objects.filter(customer=customer, status__in=RiskAlert.OPEN_STATUSES).exists()
    assert CreditLine.objects.get(customer=customer).access == "open"


def test_a_dismissed_alert_comes_back_once_its_suppression_period_is_over(analyst):
    customer, alert = over_borrowing_customer()
    alert_dismiss(alert=alert, actor=analyst, note="Bureau lag.", suppress_days=3)
    decision_recompute(customer=customer, trigger="manual")
    assert not RiskAlert.objects.filter(customer=customer, status=AlertStatus.OPEN).exists()

    # Four days later the same hit is raised again
    RiskAlert.objects.filter(pk=alert.pk).update(suppressed_until=timezone.now() - timedelta(minutes=1))
    decision_recompute(customer=customer, trigger="manual")
    assert RiskAlert.objects.get(customer=customer, status=AlertStatus.OPEN).rule == "OVER_BORROWING"


def test_a_dismissed_alert_comes_back_when_the_policy_raises_the_rules_severity(analyst, risk_admin):
    customer, alert = over_borrowing_customer()
    alert_dismiss(alert=alert, actor=analyst, note="Bureau lag.", suppress_days=30)
    decision_recompute(customer=customer, trigger="manual")
    assert not RiskAlert.objects.filter(customer=customer, status=AlertStatus.OPEN).exists()

    # When a new active policy makes OVER_BORROWING more severe than when it was dismissed
    body = copy.deepcopy(default_policy_body())
    body["rules"]["OVER_BORROWING"]["severity"] = alert.severity + 1
    version = policy_activate(version=policy_create(name="stricter over-borrowing", body=body, actor=risk_admin), actor=risk_admin)
    # Parsed policies are cached per process by pk, and SQLite hands a rolled-back test's pk out
    # again: drop any entry an earlier test left under this pk.
    policy_service._parsed.pop(version.pk, None)

    # Then the next nightly run raises it again, at the new severity
    nightly_run()
    again = RiskAlert.objects.get(customer=customer, status=AlertStatus.OPEN)
    assert (again.rule, again.severity) == ("OVER_BORROWING", alert.severity + 1)


def test_a_dismissed_overdue_30_does_not_hide_overdue_90(analyst):
    # Given a 35-day overdue customer, suspended by OVERDUE_30, dismissed by an analyst
    customer = make_customer(overdue_days=35)
    decision_recompute(customer=customer, trigger="overdue")
    alert = RiskAlert.objects.get(customer=customer, status=AlertStatus.OPEN)
    assert alert.rule == "OVERDUE_30"
    alert_dismiss(alert=alert, actor=analyst, note="Repayment promised, agreed plan.", suppress_days=30)

    # When the installment goes 90+ days overdue (a more severe rule trips)
    customer.installments.update(due_on=(timezone.now() - timedelta(days=95)).date())
    line = decision_recompute(customer=customer, trigger="overdue")

    # Then that alert is raised and acts
    assert RiskAlert.objects.get(customer=customer, status=AlertStatus.OPEN).rule == "OVERDUE_90"
    assert line.access == "closed"


def test_a_confirmed_suspension_keeps_the_line_suspended_until_suppressed_until(analyst):
    # Given frequent applications: suspended for the rule's 7 days
    customer = make_customer(applications_last_week=5)
    line = decision_recompute(customer=customer, trigger="application")
    alert = RiskAlert.objects.get(customer=customer, status=AlertStatus.OPEN)
    assert (alert.rule, alert.action, line.access) == ("FREQUENT_APPLICATIONS", "suspend", "suspended")

    # When an analyst confirms it for 30 days, and the applications age out of the 7-day window
    alert = alert_confirm(alert=alert, actor=analyst, note="Applications confirmed; stacking loans.", suppress_days=30)
    customer.applications.update(applied_at=days_ago(20))
    line = decision_recompute(customer=customer, trigger="manual")
    nightly_run()
    line.refresh_from_db()

    # Then the line stays suspended, until the confirmation's suppression period ends
    assert line.access == "suspended"
    assert abs(line.suspended_until - alert.suppressed_until) < timedelta(seconds=1)
    assert not RiskAlert.objects.filter(customer=customer, status__in=RiskAlert.OPEN_STATUSES).exists()

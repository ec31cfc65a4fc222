"""The single-customer recompute end to end: consent gate, every access state, alerts, overrides."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Consent
from decisions.models import CreditDecision, CreditLine, RiskAlert, ScoreSnapshot
from decisions.engine.services.recompute import decision_recompute
from riskops.core.audit import verify_chain
from riskops.core.models import AuditEvent
from tests.decisions.scenarios import days_ago, make_customer, months_ago_mid
from tests.factories import OverrideFactory, UserFactory

pytestmark = pytest.mark.django_db


def recompute(customer, trigger="manual"):
    return decision_recompute(customer=customer, trigger=trigger)


def tables_read(ctx: CaptureQueriesContext) -> str:
    return " ".join(q["sql"] for q in ctx.captured_queries)


def test_good_customer_is_open_with_an_explained_score_and_provenance():
    customer = make_customer()

    line = recompute(customer)

    assert (line.access, line.limit_amount, line.score, line.band) == ("open", Decimal("4500.00"), 745, "A")
    snapshot = ScoreSnapshot.objects.get(customer=customer)
    assert snapshot.features["income_proxy_3m"] == "3000.00"
    assert snapshot.features["bureau_score"] == 720
    assert sorted(snapshot.data_sources) == ["applications", "bureau", "credit_line", "customer", "repayments", "transactions"]
    used = set(snapshot.consents_used.values_list("purpose", flat=True))
    assert used == {"credit_scoring", "bureau_query", "transaction_analysis"}
    assert snapshot.policy_version.version == 1
    decision = CreditDecision.objects.get(customer=customer)
    assert (decision.previous_access, decision.access, decision.snapshot_id) == ("not_offered", "open", snapshot.pk)
    assert decision.reasons[0]["code"] == "BAND"


def test_no_scoring_consent_reads_nothing_and_is_not_offered():
    customer = make_customer(consents=("bureau_query", "transaction_analysis"))

    with CaptureQueriesContext(connection) as ctx:
        line = recompute(customer)

    assert (line.access, line.limit_amount, line.score) == ("not_offered", Decimal("0.00"), None)
    sql = tables_read(ctx)
    for table in ("accounts_transaction", "accounts_bureaureport", "accounts_repaymentinstallment", "accounts_creditapplication"):
        assert f'FROM "{table}"' not in sql, table
    snapshot = ScoreSnapshot.objects.get(customer=customer)
    assert snapshot.data_sources == [] and snapshot.features == {} and not snapshot.consents_used.exists()
    assert CreditDecision.objects.get(customer=customer).reasons[0]["code"] == "NO_CONSENT"


def test_without_bureau_consent_the_bureau_table_is_never_queried():
    customer = make_customer(consents=("credit_scoring", "transaction_analysis"))

    with CaptureQueriesContext(connection) as ctx:
        line = recompute(customer)

    assert "accounts_bureaureport" not in tables_read(ctx)
    snapshot = ScoreSnapshot.objects.get(customer=customer)
    assert snapshot.features["bureau_score"] is None
    assert "bureau" not in snapshot.data_sources
    assert "bureau_query" not in set(snapshot.consents_used.values_list("purpose", flat=True))
    assert line.access == "open"  # scored without bureau data, and the snapshot says so


def test_without_transaction_consent_wallet_data_is_not_read_and_the_limit_uses_the_fallback():
    customer = make_customer(consents=("credit_scoring", "bureau_query"))

    with CaptureQueriesContext(connection) as ctx:
        line = recompute(customer)

    assert 'FROM "accounts_transaction"' not in tables_read(ctx)
    snapshot = ScoreSnapshot.objects.get(customer=customer)
    assert snapshot.features["income_proxy_3m"] is None
    # Band A × fallback income 800.00 × 1.5 = 1,200.00
    assert line.band == "A" and line.limit_amount == Decimal("1200.00")


def test_withdrawn_scoring_consent_raises_an_alert_and_takes_effect_on_the_next_recompute():
    customer = make_customer()
    recompute(customer)
    consent = Consent.objects.get(customer=customer, purpose="credit_scoring")
    consent.state, consent.withdrawn_at = "withdrawn", timezone.now()
    consent.save()

    line = recompute(customer, "consent")

    assert line.access == "not_offered" and line.limit_amount == 0
    alert = RiskAlert.objects.get(customer=customer)
    assert (alert.rule, alert.action, alert.status) == ("CONSENT_WITHDRAWN", "review", "open")


def test_band_d_is_limited():
    customer = make_customer(bureau={"score": 560, "external_lenders": 3, "external_debt": Decimal("4000.00")}, income=Decimal("1000.00"))

    line = recompute(customer)

    assert line.band == "D", line.score
    assert line.access == "limited"
    assert line.limit_amount == Decimal("300.00")  # 1,000.00 × 0.3


def test_an_open_review_alert_limits_access():
    customer = make_customer(bureau={"score": 720, "external_lenders": 6, "external_debt": Decimal("500.00")})

    line = recompute(customer)

    alert = RiskAlert.objects.get(customer=customer)
    assert (alert.rule, alert.action) == ("OVER_BORROWING", "review")
    assert alert.evidence["external_lenders"] == 6
    assert line.access == "limited"


def test_frequent_applications_suspend_temporarily():
    customer = make_customer(applications_last_week=5)

    line = recompute(customer, "application")

    alert = RiskAlert.objects.get(customer=customer, rule="FREQUENT_APPLICATIONS")
    assert alert.action == "suspend" and alert.evidence["applications_7d"] == 5
    assert line.access == "suspended" and line.limit_amount == 0
    assert line.suspended_until == alert.effective_until
    assert timedelta(days=6, hours=23) < line.suspended_until - timezone.now() <= timedelta(days=7)


def test_ninety_days_overdue_closes_the_line_permanently():
    customer = make_customer(overdue_days=95)

    line = recompute(customer, "overdue")

    assert line.access == "closed" and line.model_access == "closed"
    assert RiskAlert.objects.get(customer=customer).rule == "OVERDUE_90"
    # Paying everything does not reopen a closed line: only an approved override does.
    customer.installments.update(amount_paid=Decimal("100.00"), paid_at=timezone.now())
    assert recompute(customer, "repayment").access == "closed"


def test_thirty_days_overdue_suspends():
    customer = make_customer(overdue_days=35)

    line = recompute(customer, "overdue")

    assert line.access == "suspended"
    assert RiskAlert.objects.get(customer=customer).rule == "OVERDUE_30"


def test_very_low_score_is_not_offered():
    customer = make_customer(
        bureau={"score": 420, "external_lenders": 3, "external_debt": Decimal("500.00")}, income=Decimal("300.00"), onboarded_days=40
    )

    line = recompute(customer)

    assert line.band == "E" and line.access == "not_offered"
    decision = CreditDecision.objects.get(customer=customer)  # the first decision is always on file
    assert decision.reasons[0]["code"] == "SCORE_BELOW_CUTOFF"
    recompute(customer)
    assert CreditDecision.objects.filter(customer=customer).count() == 1  # nothing changed: no new row


def test_a_decision_row_is_written_only_when_access_or_limit_changes():
    customer = make_customer()
    recompute(customer)
    recompute(customer)
    recompute(customer)

    assert ScoreSnapshot.objects.filter(customer=customer).count() == 3
    assert CreditDecision.objects.filter(customer=customer).count() == 1


def test_an_open_alert_of_the_same_rule_is_updated_not_duplicated():
    customer = make_customer(bureau={"score": 720, "external_lenders": 6, "external_debt": Decimal("500.00")})
    recompute(customer)
    first = RiskAlert.objects.get(customer=customer)

    recompute(customer)

    again = RiskAlert.objects.get(customer=customer)
    assert again.pk == first.pk and again.last_seen_at > first.last_seen_at
    # Once resolved, a new occurrence is a new alert.
    RiskAlert.objects.filter(pk=first.pk).update(status="resolved", resolved_at=timezone.now())
    recompute(customer)
    assert RiskAlert.objects.filter(customer=customer).count() == 2


def test_an_approved_unexpired_override_wins_and_an_expired_one_does_not():
    customer = make_customer(overdue_days=95)
    recompute(customer)
    requester, approver = UserFactory(), UserFactory()
    override = OverrideFactory(
        customer=customer, access="open", limit_amount=Decimal("250.00"), state="approved", requested_by=requester,
        decided_by=approver, decided_at=timezone.now(), expires_at=timezone.now() + timedelta(days=3),
    )

    line = recompute(customer, "override")

    assert (line.access, line.limit_amount, line.model_access) == ("open", Decimal("250.00"), "closed")
    decision = CreditDecision.objects.filter(customer=customer).latest("decided_at")
    assert decision.override_id == override.pk and decision.reasons[0]["code"] == "OVERRIDE"

    type(override).objects.filter(pk=override.pk).update(expires_at=timezone.now() - timedelta(seconds=1), created_at=timezone.now() - timedelta(days=1))
    assert recompute(customer, "expiry").access == "closed"


def test_limit_increase_is_capped_per_cycle_and_decreases_apply_at_once():
    customer = make_customer(income=Decimal("1000.00"))
    line = recompute(customer)
    assert line.limit_amount == Decimal("1500.00")  # band A × 1,000.00

    for month in range(3):  # income triples
        from tests.factories import TransactionFactory

        TransactionFactory(customer=customer, income=True, amount=Decimal("2000.00"), occurred_at=months_ago_mid(month + 1))
    line = recompute(customer)
    assert line.limit_amount == Decimal("1500.00")  # a new line is not raised in its first cycle
    assert CreditDecision.objects.filter(customer=customer).count() == 1  # so nothing was decided
    # A cycle later (the line's cycle moved 30 days back, as if they had passed)
    CreditLine.objects.filter(customer=customer).update(cycle_started_at=line.cycle_started_at - timedelta(days=30))
    line = recompute(customer)
    assert line.limit_amount == Decimal("1850.00")  # capped at +25% of 1,500.00, rounded down to 50
    assert "LIMIT_INCREASE_CAPPED" in [r["code"] for r in CreditDecision.objects.latest("decided_at").reasons]

    customer.transactions.filter(kind="income").delete()
    for month in range(3):
        TransactionFactory(customer=customer, income=True, amount=Decimal("300.00"), occurred_at=months_ago_mid(month + 1))
    line = recompute(customer)
    assert (line.band, line.limit_amount) == ("B", Decimal("300.00"))  # 300.00 × 1.0, at once


def test_every_recompute_is_audited_and_the_chain_verifies():
    customer = make_customer()
    recompute(customer)

    event = AuditEvent.objects.get(action="decision.recompute")
    assert event.target_id == str(customer.pk)
    assert event.after["access"] == "open" and len(event.after["decision_ids"]) == 1
    assert verify_chain()[1] is None


def test_verify_audit_catches_a_decision_row_edited_after_it_was_audited():
    customer = make_customer()
    recompute(customer)

    CreditDecision.objects.filter(customer=customer).update(limit_amount=Decimal("9999.00"))

    checked, broken = verify_chain()
    assert broken is not None and "digest" in broken.reason


def test_credit_line_is_one_row_per_customer():
    customer = make_customer()
    recompute(customer)
    recompute(customer)
    assert CreditLine.objects.filter(customer=customer).count() == 1

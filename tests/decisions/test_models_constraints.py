"""The database itself refuses rows that break the decision-ledger invariants.

Rows are written with `objects.create()` / factories / `update()`, which never call
`full_clean()`, so a passing test proves the constraint lives in the schema. Each bad write runs
in its own savepoint (`transaction.atomic()`) so the test transaction survives the IntegrityError
on SQLite and PostgreSQL alike.

CHECK violations are matched by constraint name (both backends put it in the message); unique
violations by the word "unique", since SQLite names the columns rather than the index.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.models import Customer
from decisions.models import Access, AlertAction, AlertRule, AlertStatus, CreditDecision, Override, PolicyVersion, RiskAlert
from tests.factories import (
    TEST_PASSWORD,
    CaseNoteFactory,
    ConsentFactory,
    CreditDecisionFactory,
    CreditLineFactory,
    OverrideFactory,
    PolicyVersionFactory,
    RecomputeChunkFactory,
    RecomputeRunFactory,
    RiskAlertFactory,
    ScoreSnapshotFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

UNIQUE = r"(?i)unique"


# --- factories --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "factory, traits",
    [
        (UserFactory, {}),
        (PolicyVersionFactory, {}),
        (PolicyVersionFactory, {"active": True}),
        (PolicyVersionFactory, {"retired": True}),
        (RecomputeRunFactory, {}),
        (RecomputeRunFactory, {"running": True}),
        (RecomputeRunFactory, {"succeeded": True}),
        (RecomputeChunkFactory, {}),
        (ScoreSnapshotFactory, {}),
        (ScoreSnapshotFactory, {"unscored": True}),
        (CreditDecisionFactory, {}),
        (CreditDecisionFactory, {"suspended": True}),
        (CreditDecisionFactory, {"closed": True}),
        (CreditDecisionFactory, {"access": Access.LIMITED}),
        (CreditDecisionFactory, {"access": Access.NOT_OFFERED}),
        (CreditLineFactory, {}),
        (CreditLineFactory, {"suspended": True}),
        (CreditLineFactory, {"closed": True}),
        (CreditLineFactory, {"not_offered": True}),
        (RiskAlertFactory, {}),
        (RiskAlertFactory, {"suspend": True}),
        (RiskAlertFactory, {"close": True}),
        (RiskAlertFactory, {"in_review": True}),
        (RiskAlertFactory, {"resolved": True}),
        (RiskAlertFactory, {"dismissed": True, "suspend": True}),
        (CaseNoteFactory, {}),
        (OverrideFactory, {}),
        (OverrideFactory, {"approved": True}),
        (OverrideFactory, {"rejected": True}),
        (OverrideFactory, {"access": Access.SUSPENDED}),
    ],
)
def test_factory_default_rows_are_accepted(factory, traits):
    obj = factory(**traits)

    obj.refresh_from_db()
    assert obj.pk is not None


def test_factories_follow_access_with_limit_and_expiry():
    # a decision or override that withdraws access carries limit 0; a suspension has an end
    suspended = CreditDecisionFactory(suspended=True)
    assert (suspended.limit_amount, suspended.suspended_until is not None) == (Decimal("0.00"), True)
    assert OverrideFactory(access=Access.CLOSED).limit_amount == Decimal("0.00")
    assert RiskAlertFactory(action=AlertAction.SUSPEND).effective_until is not None


def test_user_factory_password_works_and_roles_join_groups():
    user = UserFactory(roles=["analyst"])

    assert user.check_password(TEST_PASSWORD)
    assert list(user.groups.values_list("name", flat=True)) == ["analyst"]


def test_chunk_factory_numbers_chunks_within_a_run():
    run = RecomputeRunFactory(chunk_size=100)

    chunks = RecomputeChunkFactory.create_batch(3, run=run)

    assert [(c.index, c.first_customer_id, c.last_customer_id) for c in chunks] == [(0, 1, 100), (1, 101, 200), (2, 201, 300)]


def test_snapshot_factory_records_consents_used():
    consent = ConsentFactory()

    snapshot = ScoreSnapshotFactory(customer=consent.customer, consents_used=[consent])

    assert list(snapshot.consents_used.all()) == [consent]


# --- PolicyVersion ----------------------------------------------------------------------------


def test_only_one_policy_version_is_active():
    # given an active policy, and drafts and retired ones beside it
    PolicyVersionFactory(active=True)
    PolicyVersionFactory.create_batch(2)
    PolicyVersionFactory.create_batch(2, retired=True)

    # when a second one is made active, then the database refuses
    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        PolicyVersion.objects.create(version=999, name="second", body={}, state=PolicyVersion.State.ACTIVE)

    # also through a bulk update that never calls save()
    draft = PolicyVersionFactory()
    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        PolicyVersion.objects.filter(pk=draft.pk).update(state=PolicyVersion.State.ACTIVE)

    assert PolicyVersion.objects.filter(state=PolicyVersion.State.ACTIVE).count() == 1


def test_policy_version_number_is_unique_and_positive():
    existing = PolicyVersionFactory()

    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        PolicyVersionFactory(version=existing.version)
    with pytest.raises(IntegrityError, match="policy_version_positive"), transaction.atomic():
        PolicyVersionFactory(version=0)
    with pytest.raises(IntegrityError, match="policy_state_valid"), transaction.atomic():
        PolicyVersionFactory(state="paused")


# --- RecomputeRun / RecomputeChunk / ScoreSnapshot --------------------------------------------


def test_chunk_index_is_unique_per_run():
    # given chunk 0 of a run
    chunk = RecomputeChunkFactory(index=0)

    # when chunk 0 is written again for the same run (a retried task), then refused
    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        RecomputeChunkFactory(run=chunk.run, index=0)

    # and chunk 0 of another run is fine
    RecomputeChunkFactory(index=0)


def test_chunk_range_must_be_ordered():
    with pytest.raises(IntegrityError, match="chunk_range_ordered"), transaction.atomic():
        RecomputeChunkFactory(first_customer_id=10, last_customer_id=9)
    RecomputeChunkFactory(first_customer_id=10, last_customer_id=10)


def test_run_progress_cannot_exceed_total():
    with pytest.raises(IntegrityError, match="run_progress_within_total"), transaction.atomic():
        RecomputeRunFactory(total_customers=10, done_customers=11)
    with pytest.raises(IntegrityError, match="run_progress_within_total"), transaction.atomic():
        RecomputeRunFactory(total_customers=10, failed_customers=11)
    with pytest.raises(IntegrityError, match="run_chunk_size_positive"), transaction.atomic():
        RecomputeRunFactory(chunk_size=0)
    RecomputeRunFactory(total_customers=10, done_customers=8, failed_customers=2)


def test_snapshot_is_written_once_per_run_and_customer():
    # given a run that scored a customer
    snapshot = ScoreSnapshotFactory(run=RecomputeRunFactory())

    # when a retried chunk scores the same customer in the same run, then refused
    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        ScoreSnapshotFactory(run=snapshot.run, customer=snapshot.customer)

    # and snapshots outside any run (event-driven) may repeat, as may the next run's
    ScoreSnapshotFactory(customer=snapshot.customer)
    ScoreSnapshotFactory(customer=snapshot.customer)
    ScoreSnapshotFactory(customer=snapshot.customer, run=RecomputeRunFactory())


def test_snapshot_pd_band_and_trigger_are_enforced():
    with pytest.raises(IntegrityError, match="snapshot_pd_in_unit_interval"), transaction.atomic():
        ScoreSnapshotFactory(probability_of_default=Decimal("1.00001"))
    with pytest.raises(IntegrityError, match="snapshot_band_valid"), transaction.atomic():
        ScoreSnapshotFactory(band="F")
    with pytest.raises(IntegrityError, match="snapshot_trigger_valid"), transaction.atomic():
        ScoreSnapshotFactory(trigger="cron")
    ScoreSnapshotFactory(probability_of_default=Decimal("1.00000"), band="E")


# --- CreditDecision / CreditLine --------------------------------------------------------------


@pytest.mark.parametrize("access", [Access.CLOSED, Access.SUSPENDED, Access.NOT_OFFERED])
def test_decision_without_access_cannot_carry_a_limit(access):
    with pytest.raises(IntegrityError, match="decision_no_limit_without_access"), transaction.atomic():
        CreditDecisionFactory(access=access, limit_amount=Decimal("0.01"))
    CreditDecisionFactory(access=access, limit_amount=Decimal("0.00"))


def test_suspended_decision_requires_suspended_until():
    with pytest.raises(IntegrityError, match="decision_suspension_has_expiry"), transaction.atomic():
        CreditDecisionFactory(access=Access.SUSPENDED, suspended_until=None)
    CreditDecisionFactory(access=Access.SUSPENDED, suspended_until=timezone.now() + timedelta(days=7))


@pytest.mark.parametrize("field", ["limit_amount", "model_limit"])
def test_decision_limit_cannot_be_negative(field):
    with pytest.raises(IntegrityError, match="decision_limit_non_negative"), transaction.atomic():
        CreditDecisionFactory(access=Access.OPEN, **{field: Decimal("-0.01")})


@pytest.mark.parametrize("field", ["access", "model_access", "previous_access"])
def test_decision_access_values_are_enforced(field):
    # model_access defaults to access: pin it so exactly one field is bad
    with pytest.raises(IntegrityError, match=f"decision_{field}_valid"), transaction.atomic():
        CreditDecisionFactory(**{"model_access": Access.OPEN, field: "frozen"})


def test_decision_is_written_once_per_run_and_customer():
    first = CreditDecisionFactory(run=RecomputeRunFactory())

    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        CreditDecisionFactory(run=first.run, customer=first.customer)
    CreditDecisionFactory(customer=first.customer)
    CreditDecisionFactory(customer=first.customer)


@pytest.mark.parametrize("access", [Access.CLOSED, Access.SUSPENDED, Access.NOT_OFFERED])
def test_line_without_access_cannot_carry_a_limit(access):
    with pytest.raises(IntegrityError, match="line_no_limit_without_access"), transaction.atomic():
        CreditLineFactory(access=access, limit_amount=Decimal("100.00"))
    CreditLineFactory(access=access, limit_amount=Decimal("0.00"))


def test_line_limit_cannot_be_negative_and_is_one_per_customer():
    with pytest.raises(IntegrityError, match="line_limit_non_negative"), transaction.atomic():
        CreditLineFactory(limit_amount=Decimal("-1.00"))
    with pytest.raises(IntegrityError, match="line_limit_non_negative"), transaction.atomic():
        CreditLineFactory(cycle_base_limit=Decimal("-1.00"))

    line = CreditLineFactory()
    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        CreditLineFactory(customer=line.customer)


def test_line_update_that_closes_without_zeroing_the_limit_is_refused():
    # given an open line with a limit, when a bulk update closes it but forgets the limit
    line = CreditLineFactory(limit_amount=Decimal("500.00"))

    with pytest.raises(IntegrityError, match="line_no_limit_without_access"), transaction.atomic():
        type(line).objects.filter(pk=line.pk).update(access=Access.CLOSED)

    # then the line is unchanged; closing with limit 0 is fine
    line.refresh_from_db()
    assert line.access == Access.OPEN
    type(line).objects.filter(pk=line.pk).update(access=Access.CLOSED, limit_amount=0)


# --- RiskAlert --------------------------------------------------------------------------------


def test_one_open_alert_per_customer_and_rule():
    # given an open over-borrowing alert
    alert = RiskAlertFactory(rule=AlertRule.OVER_BORROWING)

    # when another open (or in-review) one is raised for the same customer and rule, then refused
    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        RiskAlertFactory(customer=alert.customer, rule=AlertRule.OVER_BORROWING)
    with pytest.raises(IntegrityError, match=UNIQUE), transaction.atomic():
        RiskAlertFactory(customer=alert.customer, rule=AlertRule.OVER_BORROWING, in_review=True)

    # and another rule, or another customer, is fine
    RiskAlertFactory(customer=alert.customer, rule=AlertRule.SPENDING_SPIKE)
    RiskAlertFactory(rule=AlertRule.OVER_BORROWING)


def test_resolved_alerts_do_not_block_a_new_open_one():
    # given a resolved and a dismissed alert of a rule
    resolved = RiskAlertFactory(resolved=True, rule=AlertRule.OVERDUE_30)
    RiskAlertFactory(dismissed=True, customer=resolved.customer, rule=AlertRule.OVERDUE_30)

    # when the rule fires again, then a new open alert is accepted
    reopened = RiskAlertFactory(customer=resolved.customer, rule=AlertRule.OVERDUE_30)

    assert RiskAlert.objects.filter(customer=resolved.customer, rule=AlertRule.OVERDUE_30).count() == 3
    assert reopened.status == AlertStatus.OPEN


def test_suspend_alert_requires_effective_until():
    with pytest.raises(IntegrityError, match="alert_suspend_has_expiry"), transaction.atomic():
        RiskAlertFactory(action=AlertAction.SUSPEND, effective_until=None)
    RiskAlertFactory(action=AlertAction.SUSPEND, effective_until=timezone.now() + timedelta(days=3))
    RiskAlertFactory(action=AlertAction.REVIEW, effective_until=None)


def test_alert_resolved_at_matches_status():
    with pytest.raises(IntegrityError, match="alert_resolved_at_iff_closed"), transaction.atomic():
        RiskAlertFactory(status=AlertStatus.RESOLVED, resolved_at=None)
    with pytest.raises(IntegrityError, match="alert_resolved_at_iff_closed"), transaction.atomic():
        RiskAlertFactory(status=AlertStatus.OPEN, resolved_at=timezone.now())


@pytest.mark.parametrize("severity", [0, 6])
def test_alert_severity_is_1_to_5(severity):
    with pytest.raises(IntegrityError, match="alert_severity_range"), transaction.atomic():
        RiskAlertFactory(severity=severity)


@pytest.mark.parametrize(
    "field, value, constraint",
    [
        ("rule", "NIGHT_OWL", "alert_rule_valid"),
        ("action", "warn", "alert_action_valid"),
        # An unknown status is neither open nor closed, so it also breaks resolved_at_iff_closed;
        # SQLite and PostgreSQL report different ones of the two.
        ("status", "snoozed", "alert_status_valid|alert_resolved_at_iff_closed"),
    ],
)
def test_alert_choices_are_enforced(field, value, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        RiskAlertFactory(**{field: value})


def test_case_note_body_cannot_be_blank():
    with pytest.raises(IntegrityError, match="note_body_not_blank"), transaction.atomic():
        CaseNoteFactory(body="")
    CaseNoteFactory(body="ok")


# --- Override ---------------------------------------------------------------------------------


def test_override_cannot_be_decided_by_its_requester():
    # given an analyst who requested an override
    requester = UserFactory()

    # when the same analyst is recorded as approver, then the database refuses (four eyes)
    with pytest.raises(IntegrityError, match="override_four_eyes"), transaction.atomic():
        OverrideFactory(approved=True, requested_by=requester, decided_by=requester)

    # and a second person approving is fine
    OverrideFactory(approved=True, requested_by=requester, decided_by=UserFactory())


def test_override_four_eyes_holds_for_bulk_updates_too():
    override = OverrideFactory()

    with pytest.raises(IntegrityError, match="override_four_eyes"), transaction.atomic():
        Override.objects.filter(pk=override.pk).update(
            state=Override.State.APPROVED, decided_by=override.requested_by, decided_at=timezone.now()
        )
    assert Override.objects.get(pk=override.pk).state == Override.State.PENDING


def test_override_must_expire_after_it_was_created():
    created_at = timezone.now()

    with pytest.raises(IntegrityError, match="override_expires_after_created"), transaction.atomic():
        OverrideFactory(created_at=created_at, expires_at=created_at - timedelta(days=1))
    with pytest.raises(IntegrityError, match="override_expires_after_created"), transaction.atomic():
        OverrideFactory(created_at=created_at, expires_at=created_at)
    OverrideFactory(created_at=created_at, expires_at=created_at + timedelta(seconds=1))


def test_override_reason_is_required():
    with pytest.raises(IntegrityError, match="override_reason_required"), transaction.atomic():
        OverrideFactory(reason="")
    OverrideFactory(reason="Payslip verified.")


def test_decided_override_records_who_and_when():
    with pytest.raises(IntegrityError, match="override_decision_recorded"), transaction.atomic():
        OverrideFactory(state=Override.State.APPROVED, decided_by=None, decided_at=None)
    with pytest.raises(IntegrityError, match="override_decision_recorded"), transaction.atomic():
        OverrideFactory(state=Override.State.REJECTED, decided_by=UserFactory(), decided_at=None)


def test_override_limit_rules():
    with pytest.raises(IntegrityError, match="override_limit_non_negative"), transaction.atomic():
        OverrideFactory(limit_amount=Decimal("-5.00"))
    with pytest.raises(IntegrityError, match="override_no_limit_without_access"), transaction.atomic():
        OverrideFactory(access=Access.CLOSED, limit_amount=Decimal("5.00"))
    with pytest.raises(IntegrityError, match="override_access_valid"), transaction.atomic():
        OverrideFactory(access="frozen")
    with pytest.raises(IntegrityError, match="override_state_valid"), transaction.atomic():
        OverrideFactory(state="on_hold")


# --- on_delete=PROTECT ------------------------------------------------------------------------


def test_customer_with_a_decision_cannot_be_deleted():
    # given a customer with a decision on record
    decision = CreditDecisionFactory()

    # when the customer is deleted, then the evidence protects it
    with pytest.raises(ProtectedError), transaction.atomic():
        decision.customer.delete()

    assert Customer.objects.filter(pk=decision.customer_id).exists()
    assert CreditDecision.objects.filter(pk=decision.pk).exists()


@pytest.mark.parametrize(
    "make_evidence",
    [ScoreSnapshotFactory, RiskAlertFactory, OverrideFactory, CreditLineFactory, CaseNoteFactory],
    ids=lambda f: f.__name__,
)
def test_customer_with_other_evidence_cannot_be_deleted(make_evidence):
    evidence = make_evidence()

    with pytest.raises(ProtectedError), transaction.atomic():
        evidence.customer.delete()


def test_policy_version_in_use_cannot_be_deleted():
    decision = CreditDecisionFactory()

    with pytest.raises(ProtectedError), transaction.atomic():
        decision.policy_version.delete()
    PolicyVersionFactory().delete()


def test_suspended_credit_line_needs_an_expiry():
    with pytest.raises(IntegrityError, match="line_suspension_has_expiry"), transaction.atomic():
        CreditLineFactory(access=Access.SUSPENDED, suspended_until=None)
    CreditLineFactory(access=Access.SUSPENDED, suspended_until=timezone.now() + timedelta(days=3))


def test_alert_expiry_must_follow_raise():
    raised = timezone.now()
    with pytest.raises(IntegrityError, match="alert_expiry_after_raised"), transaction.atomic():
        RiskAlertFactory(action=AlertAction.SUSPEND, raised_at=raised, effective_until=raised - timedelta(hours=1))
    RiskAlertFactory(action=AlertAction.SUSPEND, raised_at=raised, effective_until=raised + timedelta(hours=1))

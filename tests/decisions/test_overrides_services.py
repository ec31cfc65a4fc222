"""Override services: four eyes, bounds, the single pending request, precedence over the model
through a real recompute, expiry and revocation falling back to the model, concurrent approval."""

import copy
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from accounts.models import CustomerChangeMark
from decisions.engine.access import DecisionOutcome, apply_override
from decisions.engine.types import ActiveOverride
from decisions.models import CreditDecision, Override, PolicyVersion
from decisions.engine.policy import default_policy_body, parse_policy
from decisions.governance.services import overrides as svc
from decisions.engine.services.recompute import decision_recompute
from decisions.governance.services.overrides import expiry_sweep
from decisions.tasks import expire_overrides_and_suspensions
from riskops.core.exceptions import Conflict, FourEyesViolation, NotPermitted, OverrideNotPending, PolicyInvalid, ValidationFailed
from tests.decisions.override_factories import audit_actions, line_of, risk_admin2, scored_customer  # noqa: F401
from tests.factories import CustomerFactory, OverrideFactory

pytestmark = pytest.mark.django_db

ZERO = Decimal("0.00")


def request(customer, actor, **kw):
    kw.setdefault("reason_category", "new_evidence")
    kw.setdefault("reason", "Payslip shows a new salary the wallet has not seen yet.")
    return svc.override_request(customer=customer, actor=actor, **kw)


# --- request: bounds and validation ------------------------------------------------------------


def test_request_is_pending_audited_and_recomputes_nothing(analyst, django_capture_on_commit_callbacks):
    customer = scored_customer()
    before = CreditDecision.objects.filter(customer=customer).count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        override = request(customer, analyst, access="open", limit_amount="1200.00", days=10)
    override.refresh_from_db()
    assert (override.state, override.access, override.limit_amount, override.requested_by) == ("pending", "open", Decimal("1200.00"), analyst)
    assert override.expires_at - override.created_at == timedelta(days=10)
    assert audit_actions(override) == ["override.request"]
    assert callbacks == []  # a pending request changes nothing the customer sees
    assert CreditDecision.objects.filter(customer=customer).count() == before


def test_request_without_days_takes_the_policy_default(analyst):
    override = request(CustomerFactory(), analyst, access="suspended")
    assert override.expires_at - override.created_at == timedelta(days=30)
    assert override.limit_amount is None


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"access": "", "limit_amount": None}, "access"),
        ({"access": "frozen"}, "access"),
        ({"access": "open", "limit_amount": "-5"}, "limit_amount"),
        ({"access": "open", "limit_amount": "abc"}, "limit_amount"),
        ({"access": "open", "limit_amount": "NaN"}, "limit_amount"),
        ({"access": "open", "limit_amount": "10.005"}, "limit_amount"),
        ({"access": "open", "limit_amount": "20000.01"}, "limit_amount"),  # the policy's max_limit is 20,000
        ({"access": "closed", "limit_amount": "100"}, "limit_amount"),
        ({"access": "open", "limit_amount": "100", "reason_category": "whim"}, "reason_category"),
        ({"access": "open", "limit_amount": "100", "reason": "   "}, "reason"),
        ({"access": "open", "limit_amount": "100", "days": 0}, "days"),
        ({"access": "open", "limit_amount": "100", "days": 91}, "days"),
        ({"access": "open", "limit_amount": "100", "days": "7"}, "days"),
    ],
)
def test_bad_request_names_the_field_and_writes_nothing(analyst, kw, field):
    customer = scored_customer()
    with pytest.raises(ValidationFailed) as exc:
        request(customer, analyst, **kw)
    assert exc.value.field == field
    assert exc.value.message
    assert not Override.objects.exists()


def test_reopening_without_a_limit_is_refused_when_the_model_gives_none(analyst):
    customer = scored_customer(consents=())  # not offered: model limit 0
    assert line_of(customer).model_access == "not_offered"
    with pytest.raises(ValidationFailed) as exc:
        request(customer, analyst, access="open")
    assert exc.value.field == "limit_amount"
    assert request(customer, analyst, access="open", limit_amount="800").limit_amount == Decimal("800.00")


def test_reason_categories_and_days_follow_the_active_policy(analyst, risk_admin):
    body = copy.deepcopy(default_policy_body())
    body["overrides"] = {"reason_categories": [{"code": "goodwill", "label": "Goodwill"}], "max_days": 14, "default_days": 7}
    PolicyVersion.objects.filter(state="active").update(state="retired")
    PolicyVersion.objects.create(version=99, name="short overrides", body=body, state="active", activated_at=timezone.now())
    customer = CustomerFactory()
    with pytest.raises(ValidationFailed) as exc:
        request(customer, analyst, access="suspended", reason_category="new_evidence")
    assert exc.value.field == "reason_category"
    with pytest.raises(ValidationFailed) as exc:
        request(customer, analyst, access="suspended", reason_category="goodwill", days=15)
    assert exc.value.field == "days"
    override = request(customer, analyst, access="suspended", reason_category="goodwill")
    assert override.expires_at - override.created_at == timedelta(days=7)
    assert svc.override_bounds().category_choices() == [("goodwill", "Goodwill")]


@pytest.mark.parametrize(
    "section, field",
    [
        ({"max_days": 0}, "overrides.max_days"),
        ({"max_days": 366}, "overrides.max_days"),
        ({"max_days": 10, "default_days": 11}, "overrides.default_days"),
        ({"reason_categories": []}, "overrides.reason_categories"),
        ({"reason_categories": [{"code": "Bad Code", "label": "x"}]}, "overrides.reason_categories[0].code"),
        ({"reason_categories": [{"code": "a", "label": ""}]}, "overrides.reason_categories[0].label"),
        ({"reason_categories": [{"code": "a", "label": "A"}, {"code": "a", "label": "B"}]}, "overrides.reason_categories"),
        ({"unknown": 1}, "overrides"),
    ],
)
def test_policy_overrides_section_is_bounded_and_names_the_field(section, field):
    body = copy.deepcopy(default_policy_body())
    body["overrides"] = section
    with pytest.raises(PolicyInvalid) as exc:
        parse_policy(body)
    assert exc.value.field == field


def test_policy_without_overrides_section_gets_defaults():
    policy = parse_policy(default_policy_body())
    assert "overrides" not in default_policy_body()
    assert (policy.override_max_days, policy.override_default_days) == (90, 30)
    assert ("other", "Other") in policy.override_reason_categories


def test_compliance_cannot_request(compliance_officer):
    with pytest.raises(NotPermitted):
        request(CustomerFactory(), compliance_officer, access="closed")
    assert not Override.objects.exists()


# --- one pending request per customer -----------------------------------------------------------


def test_second_pending_request_is_refused_with_a_clear_message(analyst, risk_admin):
    customer = CustomerFactory()
    first = request(customer, analyst, access="suspended")
    with pytest.raises(Conflict) as exc:
        request(customer, risk_admin, access="closed")
    assert f"#{first.pk}" in exc.value.message and "ana" in exc.value.message
    assert Override.objects.filter(customer=customer).count() == 1
    # another customer is not affected
    request(CustomerFactory(), risk_admin, access="closed")


def test_database_backs_the_single_pending_request(analyst):
    first = OverrideFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        OverrideFactory(customer=first.customer)


def test_after_a_decision_a_new_request_may_follow(analyst, risk_admin):
    customer = CustomerFactory()
    svc.override_reject(override=request(customer, analyst, access="closed"), actor=risk_admin, note="No evidence.")
    assert request(customer, analyst, access="closed").state == "pending"


def test_a_request_nobody_decided_before_its_end_no_longer_blocks_a_new_one(analyst, risk_admin):
    customer = CustomerFactory()
    lapsed = request(customer, analyst, access="suspended", days=1)
    Override.objects.filter(pk=lapsed.pk).update(created_at=timezone.now() - timedelta(days=2), expires_at=timezone.now() - timedelta(minutes=1))

    fresh = request(customer, risk_admin, access="closed")

    lapsed.refresh_from_db()
    assert (lapsed.state, fresh.state) == ("expired", "pending")
    assert audit_actions(lapsed) == ["override.request", "override.expire"]


def test_the_hourly_sweep_expires_lapsed_requests_and_leaves_waiting_ones(analyst):
    lapsed, waiting = request(CustomerFactory(), analyst, access="suspended"), request(CustomerFactory(), analyst, access="closed")
    Override.objects.filter(pk=lapsed.pk).update(created_at=timezone.now() - timedelta(days=40), expires_at=timezone.now() - timedelta(days=10))

    due = expiry_sweep()

    lapsed.refresh_from_db(), waiting.refresh_from_db()
    assert (lapsed.state, waiting.state) == ("expired", "pending")
    assert lapsed.customer_id not in due  # it was never in force: nothing to recompute


# --- four eyes ----------------------------------------------------------------------------------


def test_self_approval_is_refused_and_changes_nothing(risk_admin):
    override = request(CustomerFactory(), risk_admin, access="suspended")
    with pytest.raises(FourEyesViolation) as exc:
        svc.override_approve(override=override, actor=risk_admin)
    assert "second risk admin" in exc.value.message
    with pytest.raises(FourEyesViolation):
        svc.override_reject(override=override, actor=risk_admin, note="never mind")
    override.refresh_from_db()
    assert (override.state, override.decided_by) == ("pending", None)
    assert audit_actions(override) == ["override.request"]


def test_analyst_and_compliance_cannot_decide(analyst, compliance_officer, risk_admin):
    override = request(CustomerFactory(), risk_admin, access="suspended")
    for user in (analyst, compliance_officer):
        for call in (svc.override_approve, svc.override_reject):
            with pytest.raises(NotPermitted):
                call(override=override, actor=user, note="x")
    override.refresh_from_db()
    assert override.state == "pending"


def test_database_refuses_self_approval_written_around_the_service(risk_admin):
    override = OverrideFactory(requested_by=risk_admin)
    with pytest.raises(IntegrityError), transaction.atomic():
        Override.objects.filter(pk=override.pk).update(state="approved", decided_by=risk_admin, decided_at=timezone.now())


# --- precedence, expiry and revocation through a real recompute -------------------------------


def test_approved_override_wins_over_the_model_then_revocation_falls_back(
    analyst, risk_admin, django_capture_on_commit_callbacks
):
    customer = scored_customer()
    assert (line_of(customer).access, line_of(customer).limit_amount) == ("open", Decimal("4500.00"))
    override = request(customer, analyst, access="suspended", days=14)

    with django_capture_on_commit_callbacks(execute=True):
        svc.override_approve(override=override, actor=risk_admin, note="Fraud team asked.")
    line = line_of(customer)
    override.refresh_from_db()
    assert (line.access, line.limit_amount, line.model_access, line.model_limit) == ("suspended", ZERO, "open", Decimal("4500.00"))
    assert line.suspended_until == override.expires_at
    decision = CreditDecision.objects.filter(customer=customer).latest()
    assert (decision.override_id, decision.trigger, decision.reasons[0]["code"]) == (override.pk, "override", "OVERRIDE")
    assert audit_actions(override) == ["override.request", "override.approve"]

    # a recompute with nothing new keeps the override in force (and writes no decision)
    count = CreditDecision.objects.count()
    decision_recompute(customer=customer, trigger="manual")
    assert line_of(customer).access == "suspended" and CreditDecision.objects.count() == count

    with django_capture_on_commit_callbacks(execute=True):
        svc.override_revoke(override=override, actor=risk_admin, note="Cleared.")
    line = line_of(customer)
    override.refresh_from_db()
    assert (override.state, override.revoked_by, override.revoke_note) == ("revoked", risk_admin, "Cleared.")
    assert (line.access, line.limit_amount, line.suspended_until) == ("open", Decimal("4500.00"), None)
    assert CreditDecision.objects.filter(customer=customer).latest().override_id is None


def _what_changed(decision):
    return next(r for r in decision.reasons if r["code"] == "WHAT_CHANGED")


def test_a_decision_after_an_override_says_the_override_not_new_data(
    analyst, risk_admin, django_capture_on_commit_callbacks
):
    from decisions.presentation.texts import reason_text

    # Given a scored customer and an override approved by a second person
    customer = scored_customer()
    override = request(customer, analyst, access="suspended", days=14)
    with django_capture_on_commit_callbacks(execute=True):
        svc.override_approve(override=override, actor=risk_admin)
    # then the decision it caused says the override is in force, not that new data arrived
    what = _what_changed(CreditDecision.objects.filter(customer=customer).latest())
    assert what["cause"] == "override_in_force"
    assert reason_text(what) == "A manual override approved by a second person now decides access and limit."
    assert "New data" not in what["text"]

    # and when it is revoked, the decision says the model decides again
    with django_capture_on_commit_callbacks(execute=True):
        svc.override_revoke(override=override, actor=risk_admin, note="Cleared.")
    what = _what_changed(CreditDecision.objects.filter(customer=customer).latest())
    assert what["cause"] == "override_ended"
    assert reason_text(what) == "The manual override ended: the model decides access and limit again."


def test_an_expired_override_is_named_in_the_decision_that_follows(analyst, risk_admin, django_capture_on_commit_callbacks):
    customer = scored_customer()
    override = request(customer, analyst, access="closed", days=1)
    with django_capture_on_commit_callbacks(execute=True):
        svc.override_approve(override=override, actor=risk_admin)
    decision_recompute(customer=customer, trigger="expiry", now=override.expires_at + timedelta(minutes=1))
    assert _what_changed(CreditDecision.objects.filter(customer=customer).latest())["cause"] == "override_ended"


def test_a_stored_new_data_reason_from_an_override_reads_as_the_override():
    from decisions.presentation.texts import reason_text

    old = {"code": "WHAT_CHANGED", "text": "New data arrived.", "trigger": "override", "inputs": {}, "time": []}
    assert reason_text(old) == "A manual override was approved, revoked or ended."
    assert reason_text({**old, "trigger": "transaction"}) == "New data arrived."


def test_expiry_sweep_expires_the_override_and_the_model_comes_back(analyst, risk_admin, django_capture_on_commit_callbacks):
    customer = scored_customer()
    override = request(customer, analyst, access="limited", limit_amount="500", days=3)
    with django_capture_on_commit_callbacks(execute=True):
        svc.override_approve(override=override, actor=risk_admin)
    assert (line_of(customer).access, line_of(customer).limit_amount) == ("limited", Decimal("500.00"))

    # an hour before the end: nothing expires
    assert customer.pk not in expiry_sweep(now=override.expires_at - timedelta(hours=1))
    # at the end: the sweep expires it (audited), leaves an outbox mark in case the task's message
    # is lost, and the task recomputes the customer (which clears the mark)
    Override.objects.filter(pk=override.pk).update(expires_at=timezone.now() - timedelta(seconds=1), created_at=timezone.now() - timedelta(days=3))
    with transaction.atomic():
        assert customer.pk in expiry_sweep()
        assert CustomerChangeMark.objects.filter(customer=customer, trigger="expiry").exists()
        transaction.set_rollback(True)
    assert expire_overrides_and_suspensions() >= 1
    assert not CustomerChangeMark.objects.filter(customer=customer).exists()
    override.refresh_from_db()
    assert override.state == "expired"
    assert audit_actions(override)[-1] == "override.expire"
    line = line_of(customer)
    assert (line.access, line.limit_amount) == ("open", Decimal("4500.00"))


def test_an_expired_but_unswept_override_no_longer_counts(analyst, risk_admin, django_capture_on_commit_callbacks):
    customer = scored_customer()
    override = request(customer, analyst, access="closed", days=1)
    with django_capture_on_commit_callbacks(execute=True):
        svc.override_approve(override=override, actor=risk_admin)
    assert line_of(customer).access == "closed"
    decision_recompute(customer=customer, trigger="expiry", now=override.expires_at + timedelta(minutes=1))
    assert line_of(customer).access == "open"


def test_approving_supersedes_the_override_in_force(analyst, risk_admin, risk_admin2, django_capture_on_commit_callbacks):
    customer = scored_customer()
    first = request(customer, analyst, access="limited", limit_amount="900")
    with django_capture_on_commit_callbacks(execute=True):
        svc.override_approve(override=first, actor=risk_admin)
    second = request(customer, risk_admin, limit_amount="1500")
    with django_capture_on_commit_callbacks(execute=True):
        svc.override_approve(override=second, actor=risk_admin2)
    first.refresh_from_db()
    assert (first.state, first.revoked_by, first.revoke_note) == ("revoked", risk_admin2, f"Superseded by override #{second.pk}.")
    assert audit_actions(first) == ["override.request", "override.approve", "override.revoke"]
    assert Override.objects.filter(customer=customer, state="approved").get() == second
    # the second one has no access: the model's (open) stays, with the override's limit
    line = line_of(customer)
    assert (line.access, line.limit_amount) == ("open", Decimal("1500.00"))


def test_blank_access_with_a_limit_on_a_closed_model_carries_zero(analyst, risk_admin, django_capture_on_commit_callbacks):
    customer = scored_customer(overdue_days=100)  # OVERDUE_90 closes the line
    assert line_of(customer).model_access == "closed"
    override = request(customer, analyst, limit_amount="700")
    with django_capture_on_commit_callbacks(execute=True):
        svc.override_approve(override=override, actor=risk_admin)
    line = line_of(customer)
    assert (line.access, line.limit_amount) == ("closed", ZERO)  # no line, no limit


def test_access_without_limit_keeps_the_models_limit(analyst, risk_admin, django_capture_on_commit_callbacks):
    customer = scored_customer()
    override = request(customer, analyst, access="limited")
    with django_capture_on_commit_callbacks(execute=True):
        svc.override_approve(override=override, actor=risk_admin)
    line = line_of(customer)
    assert (line.access, line.limit_amount, line.model_limit) == ("limited", Decimal("4500.00"), Decimal("4500.00"))


ACCESS = st.sampled_from(["open", "limited", "suspended", "closed", "not_offered"])
AMOUNT = st.decimals(min_value=0, max_value=20000, places=2, allow_nan=False, allow_infinity=False)


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    model_access=ACCESS,
    model_limit=AMOUNT,
    access=st.one_of(st.just(""), ACCESS),
    limit=st.one_of(st.none(), AMOUNT),
)
def test_override_semantics_for_every_combination(model_access, model_limit, access, limit):
    if not access and limit is None:
        return  # the database refuses an override naming neither
    now = timezone.now()
    model_limit = model_limit if model_access in ("open", "limited") else ZERO
    model_until = now + timedelta(days=2) if model_access == "suspended" else None
    out = DecisionOutcome(model_access, model_limit, model_access, model_limit, model_until, [])
    override = ActiveOverride(id=1, access=access, limit=limit, expires_at=now + timedelta(days=9))
    apply_override(out, override)
    # blank access keeps the model's access; the model's own view is never touched
    assert out.access == (access or model_access)
    assert (out.model_access, out.model_limit) == (model_access, model_limit)
    # no line, no limit (the database's rule); otherwise the override's limit, else the model's
    if out.access in ("open", "limited"):
        assert out.limit == (limit if limit is not None else model_limit)
    else:
        assert out.limit == ZERO
    # a suspension always has an end: the override's own, or the model's it kept
    if out.access == "suspended":
        assert out.suspended_until == (override.expires_at if access == "suspended" else model_until)
    else:
        assert out.suspended_until is None
    assert out.reasons[0]["code"] == "OVERRIDE" and out.override_id == 1


# --- decisions on the wrong state ---------------------------------------------------------------


def test_deciding_twice_is_refused(analyst, risk_admin, risk_admin2):
    override = request(CustomerFactory(), analyst, access="suspended")
    svc.override_reject(override=override, actor=risk_admin, note="Not enough.")
    with pytest.raises(OverrideNotPending):
        svc.override_approve(override=override, actor=risk_admin2)
    with pytest.raises(Conflict):
        svc.override_revoke(override=override, actor=risk_admin2, note="x")
    override.refresh_from_db()
    assert (override.state, override.decided_by, override.decision_note) == ("rejected", risk_admin, "Not enough.")
    assert audit_actions(override) == ["override.request", "override.reject"]


def test_reject_and_revoke_need_a_note(analyst, risk_admin):
    override = request(CustomerFactory(), analyst, access="suspended")
    with pytest.raises(ValidationFailed) as exc:
        svc.override_reject(override=override, actor=risk_admin, note=" ")
    assert exc.value.field == "note"
    svc.override_approve(override=override, actor=risk_admin)
    with pytest.raises(ValidationFailed):
        svc.override_revoke(override=override, actor=risk_admin, note="")
    override.refresh_from_db()
    assert override.state == "approved"


def test_a_request_that_expired_while_waiting_cannot_be_approved(analyst, risk_admin):
    override = request(CustomerFactory(), analyst, access="suspended", days=1)
    with pytest.raises(Conflict):
        svc.override_approve(override=override, actor=risk_admin, now=override.expires_at + timedelta(seconds=1))
    override.refresh_from_db()
    assert override.state == "pending"


# --- concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_exactly_one_succeeds(make_user):
    # Given one pending override and two risk admins approving it at the same moment
    requester = make_user("req", "analyst")
    admins = [make_user(f"adm{i}", "risk_admin") for i in range(2)]
    customer = CustomerFactory()
    override = request(customer, requester, access="suspended")
    barrier = threading.Barrier(len(admins))
    won: list[int] = []
    refused: list[BaseException] = []
    errors: list[BaseException] = []

    def approve(user):
        try:
            barrier.wait(timeout=10)
            svc.override_approve(override=Override(pk=override.pk), actor=user)
            won.append(user.pk)
        except OverrideNotPending as exc:
            refused.append(exc)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in admins]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    # Then exactly one approval went through; the other saw it approved under the lock
    assert not errors
    assert len(won) == 1 and len(refused) == 1
    override.refresh_from_db()
    assert (override.state, override.decided_by_id) == ("approved", won[0])
    assert audit_actions(override).count("override.approve") == 1


def test_a_full_run_applies_blank_access_and_null_limit_like_the_single_path(analyst, risk_admin, django_capture_on_commit_callbacks):
    from decisions.engine.services.runs import recompute_run_process_inline, recompute_run_start

    # Given three customers: a limit-only override, an access-only override, and none
    limit_only, access_only, untouched = scored_customer(), scored_customer(), scored_customer()
    with django_capture_on_commit_callbacks(execute=True):
        svc.override_approve(override=request(limit_only, analyst, limit_amount="1200"), actor=risk_admin)
        svc.override_approve(override=request(access_only, analyst, access="limited"), actor=risk_admin)
    single = {c.pk: (line_of(c).access, line_of(c).limit_amount) for c in (limit_only, access_only, untouched)}
    # When the nightly path (set-based chunk reads) recomputes the book
    recompute_run_process_inline(run=recompute_run_start(chunk_size=2, enqueue=False))
    # Then it gives the same answer as the single-customer path
    assert single == {
        limit_only.pk: ("open", Decimal("1200.00")),
        access_only.pk: ("limited", Decimal("4500.00")),
        untouched.pk: ("open", Decimal("4500.00")),
    }
    assert {c.pk: (line_of(c).access, line_of(c).limit_amount) for c in (limit_only, access_only, untouched)} == single

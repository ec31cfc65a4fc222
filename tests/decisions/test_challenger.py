"""Champion and challenger: attaching and detaching a challenger (rules, roles, audit), its shadow
rows in a nightly run, and the guarantee that nothing the challenger computes reaches a customer."""

import copy
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.seeding.generator import as_of_default
from accounts.services import demo_book_seed
from decisions.engine.planning import has_new_data, plan_customer, plan_model_view
from decisions.engine.policy_reads import active_policy
from decisions.engine.services import shadow as shadow_module
from decisions.engine.services.inputs import load_chunk
from decisions.engine.services.recompute import decision_recompute
from decisions.engine.services.runs import chunk_recompute, recompute_run_process_inline, recompute_run_start
from decisions.governance.services.challenger import attached_challenger, challenger_attach, challenger_detach
from decisions.governance.services.policy import policy_draft_copy, policy_draft_edit
from decisions.models import (
    ChallengerAttachment, CreditDecision, CreditLine, CustomerNotice, PolicyVersion, RecomputeRun, RiskAlert,
    ScoreSnapshot, ShadowScore, Trigger,
)
from riskops.core.audit import verify_chain
from riskops.core.exceptions import Conflict, NotFound, NotPermitted, PolicyInvalid
from riskops.core.models import AuditEvent
from tests.decisions.policy_factories import active_version
from tests.decisions.scenarios import make_customer
from webhooks.models import WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db

AS_OF = as_of_default()  # today 00:00 UTC: the nightly run's clock
EARLIER = AS_OF - timedelta(days=4)  # the book's first decisions, so the night has alerts and lines to move


def _draft(actor, body: dict | None = None) -> PolicyVersion:
    draft = policy_draft_copy(source=active_version(), actor=actor)
    return policy_draft_edit(version=draft, body=body, actor=actor) if body is not None else draft


def closing_body() -> dict:
    """A challenger that would close or refuse everyone: every multiplier zero (no limit, so not
    offered) and an over-borrowing rule that closes the line of anyone with another lender or debt."""
    body = copy.deepcopy(active_version().body)
    body["limits"]["multipliers"] = {band: "0" for band in "ABCDE"}
    body["rules"]["OVER_BORROWING"].update(action="close", max_external_lenders=0, max_debt_to_income="0")
    return body


def _nightly(*, chunk_size: int = 60) -> RecomputeRun:
    run = recompute_run_process_inline(run=recompute_run_start(trigger=Trigger.NIGHTLY, enqueue=False, as_of=AS_OF, chunk_size=chunk_size))
    assert run.status == "succeeded"
    return run


@pytest.fixture
def book(db):
    """A seeded book decided four days before tonight, with a webhook endpoint listening: the night
    moves lines, raises and updates alerts, writes notices and outbox events."""
    demo_book_seed(customers=240, seed=33, as_of=AS_OF, chunk_size=120)
    run = recompute_run_process_inline(run=recompute_run_start(enqueue=False, as_of=EARLIER, chunk_size=120))
    assert run.status == "succeeded"
    WebhookEndpoint.objects.create(url="https://hooks.example.test/riskops", event_types=["decision.changed", "alert.raised"])


# --- attach and detach -----------------------------------------------------------------------------


def test_attach_a_draft_then_detach_it_audited(risk_admin):
    draft = _draft(risk_admin)

    attachment = challenger_attach(version=draft, actor=risk_admin)

    assert attached_challenger() == attachment
    assert (attachment.state, attachment.attached_by, attachment.body_edited_at) == ("attached", risk_admin, draft.created_at)
    event = AuditEvent.objects.filter(action="challenger.attach").get()
    assert (event.actor_id, event.target_id, event.after["version"]) == (risk_admin.pk, str(draft.pk), draft.version)

    detached = challenger_detach(actor=risk_admin)

    assert (detached.pk, detached.state, detached.detached_by) == (attachment.pk, "detached", risk_admin)
    assert detached.detached_at >= detached.attached_at
    assert attached_challenger() is None
    assert AuditEvent.objects.filter(action="challenger.detach", actor_id=risk_admin.pk, target_id=str(draft.pk)).count() == 1
    assert verify_chain()[1] is None


def test_a_retired_version_can_be_a_challenger(risk_admin):
    retired = active_version()
    PolicyVersion.objects.filter(pk=retired.pk).update(state="retired")  # as an activation of another leaves it
    assert challenger_attach(version=retired, actor=risk_admin).version_id == retired.pk


def test_the_active_version_cannot_be_its_own_challenger(risk_admin):
    with pytest.raises(Conflict) as refused:
        challenger_attach(version=active_version(), actor=risk_admin)
    assert refused.value.field == "version" and "champion" in str(refused.value)
    assert not ChallengerAttachment.objects.exists() and not AuditEvent.objects.filter(action="challenger.attach").exists()


def test_one_challenger_at_a_time(risk_admin):
    first, second = _draft(risk_admin), _draft(risk_admin)
    challenger_attach(version=first, actor=risk_admin)

    with pytest.raises(Conflict) as refused:
        challenger_attach(version=second, actor=risk_admin)
    assert f"v{first.version}" in str(refused.value) and "detach it first" in str(refused.value)
    assert ChallengerAttachment.objects.filter(state="attached").get().version_id == first.pk

    # After a detach the next one may be attached; the history keeps both rows.
    challenger_detach(actor=risk_admin)
    challenger_attach(version=second, actor=risk_admin)
    assert list(ChallengerAttachment.objects.values_list("version_id", "state")) == [(second.pk, "attached"), (first.pk, "detached")]


def test_the_database_refuses_a_second_attached_challenger(risk_admin):
    first, second = _draft(risk_admin), _draft(risk_admin)
    now = timezone.now()
    ChallengerAttachment.objects.create(version=first, body_edited_at=now, attached_by=risk_admin, attached_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChallengerAttachment.objects.create(version=second, body_edited_at=now, attached_by=risk_admin, attached_at=now)


def test_a_body_that_no_longer_validates_is_refused(risk_admin):
    draft = _draft(risk_admin)
    body = copy.deepcopy(draft.body)
    body["limits"]["min_limit"] = "-5"
    PolicyVersion.objects.filter(pk=draft.pk).update(body=body)  # stored before today's checks

    with pytest.raises(PolicyInvalid) as refused:
        challenger_attach(version=PolicyVersion.objects.get(pk=draft.pk), actor=risk_admin)
    assert "min_limit" in refused.value.field
    assert not ChallengerAttachment.objects.exists()


@pytest.mark.parametrize("role", ["analyst", "compliance"])
def test_only_risk_admins_attach_and_detach(make_user, risk_admin, role):
    draft = _draft(risk_admin)
    other = make_user("someone", role)
    with pytest.raises(NotPermitted):
        challenger_attach(version=draft, actor=other)
    challenger_attach(version=draft, actor=risk_admin)
    with pytest.raises(NotPermitted):
        challenger_detach(actor=other)
    with pytest.raises(NotPermitted):
        challenger_attach(version=draft, actor=None)
    assert attached_challenger().version_id == draft.pk
    assert AuditEvent.objects.filter(action__startswith="challenger.").count() == 1


def test_detach_with_nothing_attached_and_an_unknown_version_are_refused(risk_admin):
    with pytest.raises(Conflict) as refused:
        challenger_detach(actor=risk_admin)
    assert refused.value.field == "challenger"
    with pytest.raises(NotFound):
        challenger_attach(version=PolicyVersion(pk=987654), actor=risk_admin)


# --- the nightly run ---------------------------------------------------------------------------


def _state(run: RecomputeRun) -> dict:
    """Everything a night writes that reaches a customer or the record, without row ids (a run
    rolled back and run again gets new ones on PostgreSQL)."""
    decisions = CreditDecision.objects.filter(run=run)
    return {
        "decisions": sorted(decisions.values_list(
            "customer_id", "decided_at", "trigger", "access", "limit_amount", "previous_access", "previous_limit",
            "model_access", "model_limit", "reasons", "suspended_until", "policy_version_id", "override_id",
        ), key=repr),
        "lines": sorted(CreditLine.objects.values_list(
            "customer_id", "access", "limit_amount", "model_access", "model_limit", "score", "band", "suspended_until",
            "cycle_started_at", "cycle_base_limit", "exposure_period_start", "exposure_limit", "last_decision__run__night",
        ), key=repr),
        "alerts": sorted(RiskAlert.objects.values_list(
            "customer_id", "rule", "action", "severity", "status", "evidence", "raised_at", "last_seen_at",
            "effective_until", "resolved_at", "snapshot__run__night",
        ), key=repr),
        "notices": sorted(CustomerNotice.objects.values_list(
            "customer_id", "kind", "language", "reasons", "review_text", "created_at", "decision__access", "decision__run__night",
        ), key=repr),
        "webhooks": sorted((
            (e.type, {k: v for k, v in e.payload["data"].items() if k not in ("decision_id", "alert_id")})
            for e in WebhookEvent.objects.all()
        ), key=repr),
        "snapshots": sorted(ScoreSnapshot.objects.filter(run=run).values_list(
            "customer_id", "score", "band", "probability_of_default", "features", "points", "reason_codes", "data_sources",
        ), key=repr),
        "chunk_audit": sorted(
            (e.after["index"], e.after["customers"], len(e.after["decision_ids"]), sorted(e.after))
            for e in AuditEvent.objects.filter(action="recompute.chunk", after__run=run.pk)
        ),
        "audit_actions": sorted(AuditEvent.objects.exclude(action__startswith="challenger.").values_list("action", flat=True)),
    }


def test_a_challenger_that_would_close_everyone_never_reaches_a_customer(book, risk_admin):
    challenger = _draft(risk_admin, closing_body())

    # The night with the challenger attached, then rolled back.
    with transaction.atomic():
        challenger_attach(version=challenger, actor=risk_admin)
        run = _nightly()
        with_challenger = _state(run)
        rows = list(ShadowScore.objects.filter(run=run).values_list("customer_id", "challenger_id", "access", "limit_amount", "champion_access"))
        transaction.set_rollback(True)
    # The same night without it.
    without = _state(_nightly())

    # Given: the challenger was scored for every scored customer and would have left nobody a usable
    # line (closed or refused; a suspension already in force stays one).
    assert len(rows) == sum(1 for s in with_challenger["snapshots"] if s[1] is not None) > 150
    assert {r[1] for r in rows} == {challenger.pk}
    assert {r[2] for r in rows} <= {"closed", "not_offered", "suspended"} and {r[3] for r in rows} == {Decimal("0.00")}
    assert sum(r[2] == "closed" for r in rows) > 50
    assert sum(r[4] in ("open", "limited") for r in rows) > 50  # the champion kept many lines open
    # The night moved things: the comparison below could have failed.
    assert len(with_challenger["decisions"]) > 10 and len(with_challenger["notices"]) > 0
    assert len(with_challenger["webhooks"]) > 10
    assert any(a[7] is not None and a[7] >= AS_OF for a in with_challenger["alerts"])  # alerts seen tonight
    # Then: every decision, line, alert, notice, outbox event, snapshot and audit event is the same.
    for key in with_challenger:
        assert with_challenger[key] == without[key], key


def test_one_shadow_row_per_scored_customer_and_a_challenger_like_the_champion_agrees_everywhere(book, risk_admin):
    """The shadow plan (`plan_model_view`) is `plan_customer`'s answer, for every kind of customer:
    a challenger with the champion's body gives the champion's score, band, access and limit."""
    challenger_attach(version=_draft(risk_admin), actor=risk_admin)

    run = _nightly()

    scored = set(ScoreSnapshot.objects.filter(run=run, score__isnull=False).values_list("customer_id", flat=True))
    unscored = ScoreSnapshot.objects.filter(run=run, score__isnull=True).count()
    rows = list(ShadowScore.objects.filter(run=run).values_list(
        "customer_id", "score", "champion_score", "band", "champion_band", "access", "champion_access", "limit_amount", "champion_limit",
    ))
    assert {r[0] for r in rows} == scored and len(rows) == len(scored) and unscored > 0
    assert all(r[1] == r[2] and r[3] == r[4] and r[5] == r[6] and r[7] == r[8] for r in rows)
    # ... and the champion's side is what the run decided (the model's own view on the line).
    lines = dict(((c, (a, lim)) for c, a, lim in CreditLine.objects.values_list("customer_id", "model_access", "model_limit")))
    assert all(lines[r[0]] == (r[6], r[8]) for r in rows)
    # Every kind of outcome was compared, not only easy ones.
    assert {"open", "limited", "suspended", "closed"} <= {r[6] for r in rows}
    assert len({r[3] for r in rows}) >= 4


def test_the_shadow_plan_reads_the_context_and_changes_nothing_in_it(book):
    """Planned on the same context, before or after the champion, the answer is the same, and the
    champion's plan is the same with or without a shadow plan before it."""
    version, policy = active_policy()
    first = min(CreditLine.objects.values_list("customer_id", flat=True))
    contexts = load_chunk(first_id=first, last_id=first + 500, now=AS_OF, lock=False)
    alerts_before = {c.customer_id: [(a.rule, a.action, a.effective_until, a.evidence) for a in c.open_alerts.values()] for c in contexts}
    assert any(alerts_before.values())

    views = [
        plan_model_view(context=c, policy=policy, now=AS_OF, new_data=has_new_data(context=c, trigger=Trigger.NIGHTLY, run=None))
        for c in contexts
    ]

    assert alerts_before == {c.customer_id: [(a.rule, a.action, a.effective_until, a.evidence) for a in c.open_alerts.values()] for c in contexts}
    plans = [plan_customer(context=c, policy=policy, version=version, trigger=Trigger.NIGHTLY, now=AS_OF, run=None) for c in contexts]
    for view, plan in zip(views, plans):
        if view is None:
            assert plan.snapshot.score is None
            continue
        assert (view.score.score, view.score.band, view.access, view.limit) == (
            plan.snapshot.score, plan.snapshot.band, plan.outcome.model_access, plan.outcome.model_limit,
        )


def test_event_recomputes_and_manual_runs_write_no_shadow_rows(risk_admin):
    customer = make_customer()
    challenger_attach(version=_draft(risk_admin, closing_body()), actor=risk_admin)

    decision_recompute(customer=customer, trigger=Trigger.TRANSACTION)
    manual = recompute_run_process_inline(run=recompute_run_start(enqueue=False))

    assert manual.status == "succeeded" and manual.trigger == Trigger.MANUAL
    assert not ShadowScore.objects.exists()
    nightly = recompute_run_process_inline(run=recompute_run_start(trigger=Trigger.NIGHTLY, enqueue=False))
    assert ShadowScore.objects.filter(run=nightly, customer=customer).get().access == "closed"


def test_the_same_night_again_writes_no_second_row(book, risk_admin):
    challenger_attach(version=_draft(risk_admin), actor=risk_admin)
    run = _nightly()
    count = ShadowScore.objects.filter(run=run).count()
    assert count > 150

    # Beat's message delivered twice: the night's run comes back, every chunk done, nothing written.
    again = recompute_run_start(trigger=Trigger.NIGHTLY, enqueue=False, as_of=AS_OF)
    assert again.pk == run.pk
    recompute_run_process_inline(run=again)
    for chunk_id in run.chunks.values_list("pk", flat=True):
        chunk_recompute(chunk_id=chunk_id)
    assert ShadowScore.objects.count() == count
    # And the key refuses a second row for the same (run, customer) outright.
    row = ShadowScore.objects.filter(run=run).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        ShadowScore.objects.bulk_create([copy.copy(row)])


def test_a_run_shadows_the_challenger_attached_when_it_started(risk_admin):
    make_customer()
    draft = _draft(risk_admin)
    run = recompute_run_start(trigger=Trigger.NIGHTLY, enqueue=False)
    challenger_attach(version=draft, actor=risk_admin)  # attached while the run is under way

    recompute_run_process_inline(run=run)
    assert not ShadowScore.objects.exists()

    # A later night has it; a draft edited after it was attached is no longer what was attached.
    tomorrow = recompute_run_process_inline(run=recompute_run_start(trigger=Trigger.NIGHTLY, enqueue=False, night=run.night + timedelta(days=1)))
    assert ShadowScore.objects.filter(run=tomorrow).count() == 1
    policy_draft_edit(version=draft, body=closing_body(), actor=risk_admin)
    edited = recompute_run_process_inline(run=recompute_run_start(trigger=Trigger.NIGHTLY, enqueue=False, night=run.night + timedelta(days=2)))
    assert not ShadowScore.objects.filter(run=edited).exists()


def test_a_failing_challenger_leaves_the_champions_night_alone(book, risk_admin, monkeypatch):
    challenger_attach(version=_draft(risk_admin), actor=risk_admin)

    def broken(**kwargs):
        raise ZeroDivisionError("a challenger bug")

    monkeypatch.setattr(shadow_module, "plan_model_view", broken)
    run = _nightly()

    assert run.done_customers == run.total_customers and run.failed_customers == 0
    assert not ShadowScore.objects.exists()
    assert CreditDecision.objects.filter(run=run).exists()

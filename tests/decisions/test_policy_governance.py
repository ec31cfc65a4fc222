"""Policy governance: drafts copied and edited (errors name the field), diffs, maker-checker
activation (four eyes, a fresh simulation) in the services and the admin, and the pages by role."""

import copy
import json

import pytest
from django.urls import reverse
from hypothesis import given, settings as hsettings, strategies as st

from decisions.governance.admin_policy import PolicyDraftForm
from decisions.models import PolicySimulation, PolicyVersion, RecomputeRun
from decisions.engine.policy import default_policy_body, validate_policy
from decisions.engine.policy_reads import active_policy, parsed_policy
from decisions.governance.services.policy import (
    policy_activation_approve,
    policy_activation_reject,
    policy_activation_request,
    policy_diff,
    policy_draft_copy,
    policy_draft_edit,
    policy_simulate,
)
from decisions.governance.services.simulation import simulation_process_inline
from riskops.core.exceptions import Conflict, FourEyesViolation, NotPermitted, PolicyInvalid, ValidationFailed
from riskops.core.models import AuditEvent
from tests.decisions.policy_factories import active_version, edited_draft, second_admin, stricter_body  # noqa: F401
from tests.decisions.scenarios import make_customer

pytestmark = pytest.mark.django_db


def _simulated(draft, actor):
    return simulation_process_inline(simulation=policy_simulate(version=draft, actor=actor, enqueue=False))


# --- copy, edit, diff ---------------------------------------------------------------------------


def test_copy_makes_a_draft_of_the_active_version_and_is_audited(risk_admin):
    v1 = active_version()
    draft = policy_draft_copy(source=v1, actor=risk_admin)
    assert (draft.state, draft.version, draft.copied_from_id, draft.body) == ("draft", 2, v1.pk, v1.body)
    assert AuditEvent.objects.get(action="policy.copy").after == {"version": 2, "copied_from": 1}


def test_edit_validates_sets_edited_at_and_audits_what_changed(risk_admin):
    draft = policy_draft_copy(source=active_version(), actor=risk_admin)
    body = copy.deepcopy(draft.body)
    body["limits"]["max_limit"] = "6000.00"
    policy_draft_edit(version=draft, body=body, actor=risk_admin, notes="higher ceiling")
    draft.refresh_from_db()
    assert draft.edited_at is not None and draft.body["limits"]["max_limit"] == "6000.00" and draft.notes == "higher ceiling"
    event = AuditEvent.objects.get(action="policy.edit")
    assert event.after["changes"] == ["limits.max_limit: 5000.00 → 6000.00"]

    # The same body again changes nothing and writes nothing.
    policy_draft_edit(version=draft, body=body, actor=risk_admin)
    assert AuditEvent.objects.filter(action="policy.edit").count() == 1


def test_a_bad_edit_is_refused_naming_the_field_and_nothing_is_written(risk_admin):
    draft = policy_draft_copy(source=active_version(), actor=risk_admin)
    body = copy.deepcopy(draft.body)
    body["limits"]["min_limit"] = "9000.00"
    with pytest.raises(PolicyInvalid) as exc:
        policy_draft_edit(version=draft, body=body, actor=risk_admin)
    assert exc.value.field == "limits.min_limit"
    draft.refresh_from_db()
    assert draft.edited_at is None and draft.body == active_version().body


def test_active_and_retired_versions_cannot_be_edited(risk_admin):
    with pytest.raises(Conflict):
        policy_draft_edit(version=active_version(), body=stricter_body(), actor=risk_admin)


def test_an_analyst_cannot_copy_or_edit(analyst, risk_admin):
    with pytest.raises(NotPermitted):
        policy_draft_copy(source=active_version(), actor=analyst)
    draft = policy_draft_copy(source=active_version(), actor=risk_admin)
    with pytest.raises(NotPermitted):
        policy_draft_edit(version=draft, body=stricter_body(), actor=analyst)


def test_an_edited_draft_is_parsed_again(risk_admin):
    draft = policy_draft_copy(source=active_version(), actor=risk_admin)
    assert parsed_policy(draft).max_limit == 5000
    policy_draft_edit(version=draft, body=stricter_body(draft.body), actor=risk_admin)
    draft.refresh_from_db()
    assert parsed_policy(draft).max_limit == 6000


def test_diff_names_changed_added_and_removed_fields():
    a = default_policy_body()
    b = copy.deepcopy(a)
    b["limits"]["max_limit"] = "6000.00"
    del b["rules"]["SPENDING_SPIKE"]
    b["rules"]["DISCLOSURE_MISSING"] = {"enabled": True, "action": "review", "severity": 2, "grace_days": 30}
    b["scorecard"]["features"]["tenure_months"]["bins"].append({"below": None, "points": 1})
    lines = [str(d) for d in policy_diff(a, b)]
    assert "limits.max_limit: 5000.00 → 6000.00" in lines
    assert any(line.startswith("rules.SPENDING_SPIKE: removed") for line in lines)
    assert any(line.startswith("rules.DISCLOSURE_MISSING: added") for line in lines)
    assert any(line.startswith("scorecard.features.tenure_months.bins[4]: added") for line in lines)
    assert len(lines) == 4


@hsettings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=3),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=2), c, max_size=3), max_leaves=12),
       st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=3),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=2), c, max_size=3), max_leaves=12))
def test_diff_is_empty_exactly_when_the_documents_are_equal(a, b):
    same = json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)  # True == 1 in Python, not in JSON
    assert (policy_diff({"x": a}, {"x": b}) == []) == same
    assert policy_diff({"x": a}, {"x": a}) == []


# --- maker-checker ------------------------------------------------------------------------------


def test_request_needs_a_simulation_of_the_draft_as_it_is(risk_admin):
    make_customer()
    draft = edited_draft(actor=risk_admin)
    with pytest.raises(Conflict, match="Simulate this draft"):
        policy_activation_request(version=draft, actor=risk_admin)

    _simulated(draft, risk_admin)
    body = copy.deepcopy(draft.body)
    body["limits"]["max_limit"] = "6500.00"
    policy_draft_edit(version=draft, body=body, actor=risk_admin)  # the simulation is stale now
    with pytest.raises(Conflict, match="edited after its last simulation"):
        policy_activation_request(version=draft, actor=risk_admin)

    _simulated(draft, risk_admin)
    policy_activation_request(version=draft, actor=risk_admin)
    draft.refresh_from_db()
    assert draft.activation_requested_by == risk_admin
    assert AuditEvent.objects.filter(action="policy.activation_request", actor=risk_admin).count() == 1


def test_the_requester_cannot_approve_and_a_second_admin_activates_and_starts_a_recompute(
    risk_admin, second_admin, django_capture_on_commit_callbacks
):
    make_customer()
    draft = edited_draft(actor=risk_admin)
    simulation = _simulated(draft, risk_admin)
    policy_activation_request(version=draft, actor=risk_admin)

    with pytest.raises(FourEyesViolation):
        policy_activation_approve(version=draft, actor=risk_admin)
    assert active_policy()[0].version == 1

    with django_capture_on_commit_callbacks(execute=True):
        version, run = policy_activation_approve(version=draft, actor=second_admin)
    assert (version.state, version.activated_by, version.activation_requested_by) == ("active", second_admin, risk_admin)
    old = PolicyVersion.objects.get(version=1)
    assert old.state == "retired" and old.retired_at is not None
    run.refresh_from_db()
    assert run.policy_version_id == draft.pk and run.requested_by == second_admin and run.status == "succeeded"
    assert run.origin == "activation"  # the runs page says the activation started it
    assert AuditEvent.objects.get(action="recompute.start", target_id=str(run.pk)).after["origin"] == "activation"
    event = AuditEvent.objects.get(action="policy.activate")
    assert event.actor == second_admin
    assert event.after["requested_by"] == risk_admin.username and event.after["simulation"] == simulation.pk


@pytest.mark.parametrize("hand", ["wrote", "edited"])
def test_whoever_wrote_or_edited_the_draft_cannot_approve_it_even_when_another_admin_asked(
    hand, risk_admin, second_admin, make_user
):
    third_admin = make_user("tara", "risk_admin", is_staff=True)
    make_customer()
    # The author copies (and edits) the draft, or a colleague copies it and the author edits it;
    # then a second admin presses "request" and the author tries to approve.
    draft = edited_draft(actor=risk_admin if hand == "wrote" else third_admin)
    if hand == "edited":
        body = copy.deepcopy(draft.body)
        body["limits"]["max_limit"] = "6400.00"
        policy_draft_edit(version=draft, body=body, actor=risk_admin)
    _simulated(draft, second_admin)
    policy_activation_request(version=draft, actor=second_admin)

    with pytest.raises(FourEyesViolation, match="wrote or edited"):
        policy_activation_approve(version=draft, actor=risk_admin)
    assert PolicyVersion.objects.get(pk=draft.pk).state == "draft" and not RecomputeRun.objects.exists()

    outsider = third_admin if hand == "wrote" else make_user("otto", "risk_admin", is_staff=True)
    version, _run = policy_activation_approve(version=draft, actor=outsider)
    assert version.state == "active" and version.activated_by == outsider


def test_an_edit_after_the_request_withdraws_it_and_approval_is_refused(risk_admin, second_admin):
    draft = edited_draft(actor=risk_admin)
    _simulated(draft, risk_admin)
    policy_activation_request(version=draft, actor=risk_admin)
    body = copy.deepcopy(draft.body)
    body["limits"]["max_limit"] = "6500.00"
    policy_draft_edit(version=draft, body=body, actor=risk_admin)
    draft.refresh_from_db()
    assert draft.activation_requested_by is None
    with pytest.raises(Conflict, match="request it first"):
        policy_activation_approve(version=draft, actor=second_admin)


def test_approval_rechecks_the_simulation(risk_admin, second_admin):
    draft = edited_draft(actor=risk_admin)
    simulation = _simulated(draft, risk_admin)
    policy_activation_request(version=draft, actor=risk_admin)
    # The simulation goes stale behind the request's back (e.g. another version was activated).
    PolicySimulation.objects.filter(pk=simulation.pk).update(status="failed")
    with pytest.raises(Conflict, match="failed"):
        policy_activation_approve(version=draft, actor=second_admin)
    assert PolicyVersion.objects.get(pk=draft.pk).state == "draft"
    assert not RecomputeRun.objects.exists()


def test_another_activation_makes_a_simulation_stale(risk_admin, second_admin):
    first, other = edited_draft(actor=risk_admin), edited_draft(actor=risk_admin)
    _simulated(first, risk_admin)
    _simulated(other, risk_admin)
    policy_activation_request(version=first, actor=risk_admin)
    policy_activation_approve(version=first, actor=second_admin)
    with pytest.raises(Conflict, match="Another policy version was activated"):
        policy_activation_request(version=other, actor=risk_admin)


def test_reject_needs_a_note_and_keeps_the_draft(risk_admin, second_admin):
    draft = edited_draft(actor=risk_admin)
    _simulated(draft, risk_admin)
    policy_activation_request(version=draft, actor=risk_admin)
    with pytest.raises(ValidationFailed) as exc:
        policy_activation_reject(version=draft, actor=second_admin, note="  ")
    assert exc.value.field == "note"
    policy_activation_reject(version=draft, actor=second_admin, note="too generous for band C")
    draft.refresh_from_db()
    assert draft.state == "draft" and draft.activation_requested_by is None
    assert AuditEvent.objects.get(action="policy.activation_reject").after == {"note": "too generous for band C"}


def test_an_analyst_cannot_request_or_approve(analyst, risk_admin):
    draft = edited_draft(actor=risk_admin)
    _simulated(draft, risk_admin)
    with pytest.raises(NotPermitted):
        policy_activation_request(version=draft, actor=analyst)
    policy_activation_request(version=draft, actor=risk_admin)
    with pytest.raises(NotPermitted):
        policy_activation_approve(version=draft, actor=analyst)


# --- the admin ----------------------------------------------------------------------------------


def _admin_url(name, *args):
    return reverse(f"admin:decisions_policyversion_{name}", args=args)


def test_the_admin_form_names_the_bad_field():
    draft = PolicyVersion(version=9, name="d", body=default_policy_body())
    body = copy.deepcopy(default_policy_body())
    body["rules"]["OVERDUE_30"]["suspend_days"] = -1
    form = PolicyDraftForm(data={"name": "d", "notes": "", "body": json.dumps(body)}, instance=draft)
    assert not form.is_valid()
    assert "rules.OVERDUE_30.suspend_days" in form.errors["body"][0]

    form = PolicyDraftForm(data={"name": "d", "notes": "", "body": "{not json"}, instance=draft)
    assert not form.is_valid() and "body" in form.errors


def test_the_admin_form_says_where_the_json_breaks():
    draft = PolicyVersion(version=9, name="d", body=default_policy_body())
    text = json.dumps(default_policy_body(), indent=2).splitlines()
    text[3] = text[3].rstrip(",")  # line 4 loses its comma: the error is on line 5
    form = PolicyDraftForm(data={"name": "d", "notes": "", "body": "\n".join(text)}, instance=draft)
    assert not form.is_valid()
    message = form.errors["body"][0]
    assert message.startswith("Not valid JSON at line 5, column ") and "delimiter" in message
    assert form["body"].value().startswith("{")  # what was typed is kept for the fix


@pytest.mark.parametrize("path, value, words", [
    (("limits", "max_limit"), "5000.001", "'5000.001' must be a positive amount with at most 2 decimals"),
    (("limits", "min_limit"), "-1", "must be a positive amount with at most 2 decimals"),
    (("limits", "multipliers", "B"), "1,5", "must be a number with at most 10 decimals"),
    (("limits", "max_increase_pct"), "12.12345", "must be a positive number with at most 4 decimals"),
])
def test_pattern_errors_are_said_in_words_not_as_a_regex(path, value, words):
    body = copy.deepcopy(default_policy_body())
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(PolicyInvalid) as error:
        validate_policy(body)
    assert error.value.field == ".".join(path)
    assert words in error.value.message and "^" not in error.value.message and "\\d" not in error.value.message


def test_admin_flow_copy_edit_diff_simulate_request_and_second_admin_approves(
    client, risk_admin, second_admin, django_capture_on_commit_callbacks
):
    make_customer()
    client.force_login(risk_admin)
    # Copy as draft (the changelist action) lands on the new draft's page.
    response = client.post(_admin_url("changelist"), {"action": "copy_as_draft", "_selected_action": [active_version().pk]})
    draft = PolicyVersion.objects.get(state="draft")
    assert response.status_code == 302 and response.url == _admin_url("change", draft.pk)

    # A bad edit: the page says which field, nothing is saved.
    bad = copy.deepcopy(draft.body)
    bad["limits"]["round_to"] = "0"
    response = client.post(_admin_url("change", draft.pk), {"name": draft.name, "notes": "", "body": json.dumps(bad)})
    assert response.status_code == 200 and "limits.round_to" in response.content.decode()
    draft.refresh_from_db()
    assert draft.edited_at is None

    # A good edit goes through the service (audited).
    response = client.post(_admin_url("change", draft.pk), {"name": "stricter", "notes": "n", "body": json.dumps(stricter_body(draft.body))})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.name == "stricter" and draft.edited_at is not None
    assert AuditEvent.objects.filter(action="policy.edit", actor=risk_admin).exists()

    page = client.get(_admin_url("change", draft.pk)).content.decode()
    assert _admin_url("diff", draft.pk) in page and _admin_url("simulate", draft.pk) in page
    diff = client.get(_admin_url("diff", draft.pk)).content.decode()
    assert "limits.max_limit" in diff and "6000.00" in diff

    # Simulate: a confirmation page, then the POST starts it and opens its page.
    assert client.get(_admin_url("simulate", draft.pk)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_admin_url("simulate", draft.pk))
    simulation = PolicySimulation.objects.get(policy_version=draft)
    assert response.url == reverse("decisions:simulation", args=[simulation.pk])
    simulation.refresh_from_db()
    assert simulation.status == "succeeded"

    # Request; the requester's own approval is refused in the admin too.
    assert client.get(_admin_url("request", draft.pk)).status_code == 200
    client.post(_admin_url("request", draft.pk), {"note": "Stricter top limit after the Q3 losses."})
    response = client.post(_admin_url("approve", draft.pk), follow=True)
    assert "a second risk admin must approve it" in response.content.decode()
    assert PolicyVersion.objects.get(pk=draft.pk).state == "draft"

    # A second risk admin approves: active, and a full recompute started.
    client.force_login(second_admin)
    assert "approve" in client.get(_admin_url("approve", draft.pk)).content.decode().lower()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_admin_url("approve", draft.pk))
    assert response.url == reverse("decisions:runs")
    assert PolicyVersion.objects.get(pk=draft.pk).state == "active"
    assert RecomputeRun.objects.get().policy_version_id == draft.pk


def test_admin_reject_with_a_note(client, risk_admin, second_admin):
    draft = edited_draft(actor=risk_admin)
    _simulated(draft, risk_admin)
    policy_activation_request(version=draft, actor=risk_admin)
    client.force_login(second_admin)
    assert client.get(_admin_url("reject", draft.pk)).status_code == 200
    client.post(_admin_url("reject", draft.pk), {"note": "no"})
    assert PolicyVersion.objects.get(pk=draft.pk).activation_requested_by is None


def test_active_version_is_read_only_in_the_admin(client, risk_admin):
    client.force_login(risk_admin)
    v1 = active_version()
    page = client.get(_admin_url("change", v1.pk)).content.decode()
    assert 'name="_save"' not in page
    assert client.post(_admin_url("change", v1.pk), {"name": "x", "body": "{}"}).status_code == 403


@pytest.mark.parametrize("who, status", [("analyst", 403), ("compliance_officer", 403)])
def test_governance_pages_refuse_other_roles(client, request, risk_admin, who, status):
    draft = edited_draft(actor=risk_admin)
    user = request.getfixturevalue(who)
    user.is_staff = True
    user.save()
    client.force_login(user)
    for name in ("simulate", "request", "approve", "reject"):
        assert client.post(_admin_url(name, draft.pk)).status_code == status
    assert not PolicySimulation.objects.exists()


# --- the simulation page ------------------------------------------------------------------------


@pytest.fixture
def finished_simulation(risk_admin):
    for n in range(6):
        make_customer()
    draft = edited_draft(actor=risk_admin)
    return _simulated(draft, risk_admin)


@pytest.mark.parametrize("who, status", [("risk_admin", 200), ("compliance_officer", 200), ("analyst", 403)])
def test_simulation_page_by_role(client, request, finished_simulation, who, status):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("decisions:simulation", args=[finished_simulation.pk])).status_code == status
    assert client.get(reverse("decisions:simulation-progress", args=[finished_simulation.pk])).status_code == status


def test_simulation_page_anonymous_goes_to_login(client, finished_simulation):
    response = client.get(reverse("decisions:simulation", args=[finished_simulation.pk]))
    assert response.status_code == 302 and "login" in response.url


def test_the_finished_simulation_page_has_its_charts_diff_and_sample(client, risk_admin, finished_simulation):
    client.force_login(risk_admin)
    response = client.get(reverse("decisions:simulation", args=[finished_simulation.pk]))
    body = response.content.decode()
    for chart in ("sim-transitions", "sim-limit-changes", "sim-exposure-band", "sim-rule-hits"):
        assert f'data-chart="{chart}"' in body and f'id="{chart}"' in body
    assert "limits.max_limit" in body  # the diff
    assert "<script>" not in body  # strict CSP: no inline script
    report = response.context["report"]
    assert report["customers"] == 6
    for item in report["sample"]:
        assert reverse("decisions:customer", args=[item["external_id"]]) in body


def test_a_running_simulation_polls_its_progress_and_reloads_when_done(client, risk_admin):
    make_customer()
    draft = edited_draft(actor=risk_admin)
    simulation = policy_simulate(version=draft, actor=risk_admin, enqueue=False)
    client.force_login(risk_admin)
    body = client.get(reverse("decisions:simulation", args=[simulation.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in body and "sim-transitions" not in body
    progress_url = reverse("decisions:simulation-progress", args=[simulation.pk])
    assert "HX-Refresh" not in client.get(progress_url, HTTP_HX_REQUEST="true")
    simulation_process_inline(simulation=simulation)
    response = client.get(progress_url, HTTP_HX_REQUEST="true")
    assert response["HX-Refresh"] == "true" and 'hx-trigger' not in response.content.decode()


def test_simulation_page_query_budget(client, risk_admin, django_assert_max_num_queries):
    for n in range(30):
        make_customer()
    simulation = _simulated(edited_draft(actor=risk_admin), risk_admin)
    client.force_login(risk_admin)
    # session, user, groups (role context processor), the simulation with its versions and
    # requester, the chunks done (progress)
    with django_assert_max_num_queries(6):
        assert client.get(reverse("decisions:simulation", args=[simulation.pk])).status_code == 200


# --- concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_activate_once(make_user):
    import threading

    from django.db import connection

    maker = make_user("maker", "risk_admin")
    checkers = [make_user(f"checker{i}", "risk_admin") for i in range(2)]
    make_customer()
    draft = edited_draft(actor=maker)
    _simulated(draft, maker)
    policy_activation_request(version=draft, actor=maker)
    barrier = threading.Barrier(len(checkers))
    won, refused, errors = [], [], []

    def approve(user):
        try:
            barrier.wait(timeout=10)
            policy_activation_approve(version=PolicyVersion(pk=draft.pk), actor=user)
            won.append(user.pk)
        except Conflict as exc:
            refused.append(exc)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in checkers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not errors
    assert len(won) == 1 and len(refused) == 1
    assert PolicyVersion.objects.get(pk=draft.pk).activated_by_id == won[0]
    assert AuditEvent.objects.filter(action="policy.activate").count() == 1
    assert RecomputeRun.objects.count() == 1


def test_a_failed_simulation_is_resumed_from_its_page_by_a_risk_admin(client, risk_admin, compliance_officer, monkeypatch):
    make_customer()
    draft = edited_draft(actor=risk_admin)
    simulation = policy_simulate(version=draft, actor=risk_admin, enqueue=False)
    from decisions.governance.services import simulation as module

    real = module.plan_customer
    monkeypatch.setattr(module, "plan_customer", lambda **kw: (_ for _ in ()).throw(ZeroDivisionError("boom")))
    simulation = simulation_process_inline(simulation=simulation)
    assert simulation.status == "failed"
    url = reverse("decisions:simulation", args=[simulation.pk])
    resume = reverse("decisions:simulation-resume", args=[simulation.pk])

    client.force_login(compliance_officer)
    assert resume not in client.get(url).content.decode()
    assert client.post(resume).status_code == 403
    # the service itself refuses too, whoever calls it
    from decisions.governance.services.simulation import simulation_resume

    with pytest.raises(NotPermitted):
        simulation_resume(simulation=simulation, actor=compliance_officer, enqueue=False)
    assert PolicySimulation.objects.get(pk=simulation.pk).status == "failed"

    monkeypatch.setattr(module, "plan_customer", real)
    client.force_login(risk_admin)
    assert resume in client.get(url).content.decode()
    response = client.post(resume)  # eager tasks run on commit; this test's transaction never commits
    assert response.status_code == 302
    simulation.refresh_from_db()
    assert simulation.status == "running" and simulation.chunks.filter(status="pending").count() == 1
    assert AuditEvent.objects.filter(action="policy.simulate", after__resumed=True).count() == 1


def test_a_simulation_without_progress_for_too_long_says_it_is_stalled(client, risk_admin, settings):
    make_customer()
    simulation = policy_simulate(version=edited_draft(actor=risk_admin), actor=risk_admin, enqueue=False)
    client.force_login(risk_admin)
    url = reverse("decisions:simulation", args=[simulation.pk])
    assert "Stalled" not in client.get(url).content.decode()
    settings.RISKOPS_CHUNK_STALE_SECONDS = -1
    body = client.get(url).content.decode()
    assert "Stalled" in body and reverse("decisions:simulation-resume", args=[simulation.pk]) in body


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_drafts_approved_at_once_one_wins_the_other_must_simulate_again(make_user):
    import threading

    from django.db import connection

    maker = make_user("maker", "risk_admin")
    checkers = [make_user(f"checker{i}", "risk_admin") for i in range(2)]
    make_customer()
    drafts = [edited_draft(actor=maker) for _ in range(2)]
    for draft in drafts:
        _simulated(draft, maker)
        policy_activation_request(version=draft, actor=maker)
    barrier = threading.Barrier(2)
    won, refused, errors = [], [], []

    def approve(draft, user):
        try:
            barrier.wait(timeout=10)
            policy_activation_approve(version=PolicyVersion(pk=draft.pk), actor=user)
            won.append(draft.pk)
        except Conflict as exc:
            refused.append(exc.message)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(d, u)) for d, u in zip(drafts, checkers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not errors
    assert len(won) == 1 and len(refused) == 1 and "Another policy version was activated" in refused[0]
    assert list(PolicyVersion.objects.filter(state="active").values_list("pk", flat=True)) == won


def test_the_simulation_page_speaks_chinese(client, risk_admin, finished_simulation):
    from django.utils import translation

    client.force_login(risk_admin)
    with translation.override("zh-hans"):  # the request activates Chinese; leave the thread as it was
        body = client.get(reverse("decisions:simulation", args=[finished_simulation.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "将发生的变化" in body and "状态：当前 → 草稿下" in body


# --- the copy's name, and an edit that withdraws a request -------------------------------------


def test_a_copy_of_a_copy_names_only_its_own_source(risk_admin):
    first = policy_draft_copy(source=active_version(), actor=risk_admin)
    second = policy_draft_copy(source=first, actor=risk_admin)
    third = policy_draft_copy(source=second, actor=risk_admin)
    base = active_version().name
    assert first.name == f"{base} (draft of v{active_version().version})"
    assert third.name == f"{base} (draft of v{second.version})"
    assert "(draft of" not in third.name.replace(f"(draft of v{second.version})", "")
    assert policy_draft_copy(source=first, actor=risk_admin, name="mine").name == "mine"


def test_an_approver_who_edits_a_requested_draft_is_told_the_request_was_withdrawn(client, risk_admin, second_admin):
    draft = edited_draft(actor=risk_admin)
    _simulated(draft, risk_admin)
    policy_activation_request(version=draft, actor=risk_admin)
    client.force_login(second_admin)
    body = copy.deepcopy(draft.body)
    body["limits"]["max_limit"] = "6500.00"
    response = client.post(_admin_url("change", draft.pk), {"name": draft.name, "notes": "", "body": json.dumps(body)}, follow=True)
    page = response.content.decode()
    assert f"The activation request by {risk_admin.username} was withdrawn" in page
    draft.refresh_from_db()
    assert draft.activation_requested_by is None


def test_an_edit_of_an_unrequested_draft_says_nothing_about_a_request(client, risk_admin):
    draft = edited_draft(actor=risk_admin)
    client.force_login(risk_admin)
    body = copy.deepcopy(draft.body)
    body["limits"]["max_limit"] = "6500.00"
    page = client.post(_admin_url("change", draft.pk), {"name": draft.name, "notes": "", "body": json.dumps(body)}, follow=True).content.decode()
    assert "was withdrawn" not in page


# --- the justification of an activation request ------------------------------------------------


def test_the_request_needs_a_justification_which_the_approver_reads_and_the_audit_keeps(client, risk_admin, second_admin):
    draft = edited_draft(actor=risk_admin)
    _simulated(draft, risk_admin)
    client.force_login(risk_admin)
    page = client.get(_admin_url("request", draft.pk)).content.decode()
    assert 'name="note"' in page and "Justification" in page
    response = client.post(_admin_url("request", draft.pk), {"note": "  "}, follow=True)
    assert "Say why this draft should be activated" in response.content.decode()
    draft.refresh_from_db()
    assert draft.activation_requested_by is None

    client.post(_admin_url("request", draft.pk), {"note": "Q3 losses: lower the top limit."})
    draft.refresh_from_db()
    assert (draft.activation_requested_by, draft.activation_justification) == (risk_admin, "Q3 losses: lower the top limit.")
    event = AuditEvent.objects.filter(action="policy.activation_request").latest("pk")
    assert event.after["justification"] == "Q3 losses: lower the top limit."

    client.force_login(second_admin)
    assert "Q3 losses: lower the top limit." in client.get(_admin_url("approve", draft.pk)).content.decode()


def test_an_edit_or_a_rejection_clears_the_justification(risk_admin, second_admin):
    draft = edited_draft(actor=risk_admin)
    _simulated(draft, risk_admin)
    policy_activation_request(version=draft, actor=risk_admin, justification="why")
    policy_activation_reject(version=draft, actor=second_admin, note="not now")
    draft.refresh_from_db()
    assert draft.activation_justification == ""
    policy_activation_request(version=draft, actor=risk_admin, justification="why again")
    body = copy.deepcopy(draft.body)
    body["limits"]["max_limit"] = "6500.00"
    policy_draft_edit(version=draft, body=body, actor=risk_admin)
    draft.refresh_from_db()
    assert (draft.activation_requested_by, draft.activation_justification) == (None, "")

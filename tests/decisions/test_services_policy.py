"""Policy versions: validated on create, activation retires the previous one and is audited."""

import copy
from dataclasses import replace
from decimal import Decimal

import pytest
from django.urls import reverse

from decisions.models import CreditDecision, CreditLine, PolicyVersion, RiskAlert, ScoreSnapshot
from decisions.engine.policy import default_policy_body, parse_policy
from decisions.governance.services import policy as services_policy
from decisions.engine.policy_reads import active_policy
from decisions.governance.services.policy import policy_activate, policy_create, policy_dry_run
from riskops.core.exceptions import Conflict, PolicyInvalid
from riskops.core.models import AuditEvent
from tests.decisions.scenarios import make_customer
from tests.factories import PolicyVersionFactory

pytestmark = pytest.mark.django_db


def test_the_default_policy_ships_active_as_version_1():
    version, policy = active_policy()
    assert version.version == 1 and version.state == "active"
    assert policy.band_for(700) == "A"


def test_a_bad_policy_is_refused_naming_the_field_and_nothing_is_written(risk_admin):
    body = copy.deepcopy(default_policy_body())
    body["rules"]["OVERDUE_30"]["suspend_days"] = -1
    with pytest.raises(PolicyInvalid) as exc:
        policy_create(name="broken", body=body, actor=risk_admin)
    assert exc.value.field == "rules.OVERDUE_30.suspend_days"
    assert PolicyVersion.objects.count() == 1


def test_activation_retires_the_previous_version_and_is_audited(risk_admin):
    body = copy.deepcopy(default_policy_body())
    body["rules"]["SPENDING_SPIKE"]["action"] = "suspend"
    body["rules"]["SPENDING_SPIKE"]["suspend_days"] = 3
    draft = policy_create(name="stricter spikes", body=body, actor=risk_admin)
    assert draft.version == 2 and draft.state == "draft"

    policy_activate(version=draft, actor=risk_admin)

    assert PolicyVersion.objects.get(version=1).state == "retired"
    version, policy = active_policy()
    assert version.pk == draft.pk and policy.rules["SPENDING_SPIKE"].action == "suspend"
    event = AuditEvent.objects.get(action="policy.activate")
    assert (event.before, event.after, event.actor_label) == ({"active_version": 1}, {"active_version": 2}, risk_admin.username)
    with pytest.raises(Conflict):
        policy_activate(version=PolicyVersion.objects.get(version=1), actor=risk_admin)  # retired stays retired


def test_the_admin_has_no_one_step_activation(client, risk_admin):
    # Activation goes through maker-checker (tests/decisions/test_policy_governance.py).
    draft = PolicyVersionFactory()
    client.force_login(risk_admin)
    response = client.post(
        reverse("admin:decisions_policyversion_changelist"),
        {"action": "activate", "_selected_action": [draft.pk]},
        follow=True,
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.state == "draft"
    assert not AuditEvent.objects.filter(action="policy.activate").exists()


def test_an_analyst_cannot_activate(client, analyst):
    draft = PolicyVersionFactory()
    analyst.is_staff = True
    analyst.save()
    client.force_login(analyst)
    client.post(reverse("admin:decisions_policyversion_changelist"), {"action": "activate", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.state == "draft"


# --- the dry run on a sample of the book ---------------------------------------------------------


def _book_rows() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (CreditLine, CreditDecision, ScoreSnapshot, RiskAlert, AuditEvent)}


def test_activation_dry_runs_the_policy_on_the_book_and_writes_nothing(risk_admin):
    # given a small book whose customers have no credit line yet (the dry run must create none)
    customers = [make_customer(), make_customer(overdue_days=35), make_customer(consents=())]
    draft = policy_create(name="same as default", body=copy.deepcopy(default_policy_body()), actor=risk_admin)
    before = _book_rows()

    # when the dry run plans them
    planned = policy_dry_run(policy=parse_policy(draft.body), version=draft)

    # then every customer was planned and nothing was written (lines, decisions, snapshots, alerts, audit)
    assert planned == len(customers)
    assert _book_rows() == before


def test_a_policy_that_fails_the_dry_run_is_not_activated(risk_admin, monkeypatch):
    # given a draft whose parsed policy cannot score a customer: pdo 1e-6 overflows PD scaling (the
    # schema refuses it now; the parse is patched to let it through, as a validation gap would)
    make_customer()
    draft = policy_create(name="broken scaling", body=copy.deepcopy(default_policy_body()), actor=risk_admin)
    real_parse = services_policy.parse_policy
    monkeypatch.setattr(services_policy, "parse_policy", lambda body, **kw: replace(real_parse(body, **kw), pdo=Decimal("0.000001")))
    before = _book_rows()

    # when it is activated
    with pytest.raises(PolicyInvalid) as exc:
        policy_activate(version=draft, actor=risk_admin)

    # then it is refused naming the error, v1 stays active and nothing was written or audited
    assert exc.value.field == "(dry run)"
    assert "OverflowError" in exc.value.message and "customer" in exc.value.message
    draft.refresh_from_db()
    assert draft.state == "draft"
    assert active_policy()[0].version == 1
    assert _book_rows() == before


def test_a_plan_that_would_not_fit_its_column_fails_the_dry_run(risk_admin):
    # given a policy object (not a document: the schema bounds max_limit) whose limits exceed the column
    make_customer()
    version, policy = active_policy()
    huge = replace(policy, max_limit=Decimal("1e15"), min_limit=Decimal("1e13"))

    with pytest.raises(PolicyInvalid) as exc:
        policy_dry_run(policy=huge, version=version)
    assert "does not fit its column" in exc.value.message


def test_the_dry_run_samples_windows_spread_over_the_id_range(monkeypatch):
    # given 40 customers and a sample of 4 windows of 3
    ids = [make_customer(consents=(), income=None, bureau=None).pk for _ in range(40)]
    monkeypatch.setattr(services_policy, "DRY_RUN_WINDOWS", 4)
    monkeypatch.setattr(services_policy, "DRY_RUN_PER_WINDOW", 3)

    # when the ranges are chosen / then 4 runs of 3 consecutive customers, from the first to the last quarter
    ranges = services_policy._sample_ranges()
    assert [(ids.index(a), ids.index(b)) for a, b in ranges] == [(0, 2), (10, 12), (20, 22), (30, 32)]


def test_on_a_small_book_the_windows_merge_into_the_whole_book(monkeypatch):
    ids = [make_customer(consents=(), income=None, bureau=None).pk for _ in range(5)]
    assert services_policy._sample_ranges() == [(ids[0], ids[-1])]


def test_an_empty_book_dry_runs_trivially(risk_admin):
    version, policy = active_policy()
    assert policy_dry_run(policy=policy, version=version) == 0

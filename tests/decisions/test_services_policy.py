"""Policy versions: validated on create, activation retires the previous one and is audited."""

import copy

import pytest
from django.urls import reverse

from decisions.models import PolicyVersion
from decisions.policy import default_policy_body
from decisions.services.policy import active_policy, policy_activate, policy_create
from riskops.core.exceptions import Conflict, PolicyInvalid
from riskops.core.models import AuditEvent
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


def test_risk_admin_activates_a_version_from_the_admin(client, risk_admin):
    draft = PolicyVersionFactory()
    client.force_login(risk_admin)
    response = client.post(
        reverse("admin:decisions_policyversion_changelist"),
        {"action": "activate", "_selected_action": [draft.pk]},
        follow=True,
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.state == "active"
    assert AuditEvent.objects.filter(action="policy.activate", actor=risk_admin).exists()


def test_an_analyst_cannot_activate(client, analyst):
    draft = PolicyVersionFactory()
    analyst.is_staff = True
    analyst.save()
    client.force_login(analyst)
    client.post(reverse("admin:decisions_policyversion_changelist"), {"action": "activate", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.state == "draft"

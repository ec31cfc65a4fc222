import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from riskops.core.roles import ROLE_PERMISSIONS


@pytest.mark.django_db
def test_migrations_create_each_role_with_exactly_its_permissions():
    for role, codes in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert granted == set(codes)


@pytest.mark.django_db
def test_compliance_cannot_change_decisions_and_analyst_cannot_approve_overrides(make_user):
    compliance = make_user("c", "compliance")
    analyst = make_user("a", "analyst")
    admin = make_user("r", "risk_admin")
    assert compliance.has_perm("core.view_auditevent")
    assert not any(compliance.has_perm(p) for p in ("decisions.change_riskalert", "decisions.add_override", "decisions.change_policyversion"))
    assert analyst.has_perm("decisions.add_override") and not analyst.has_perm("decisions.approve_override")
    assert admin.has_perm("decisions.approve_override")


def test_anonymous_user_is_sent_to_login(client, db):
    response = client.get(reverse("decisions:overview"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_user_without_role_sees_no_page(client, make_user):
    client.force_login(make_user("nobody"))
    response = client.get(reverse("decisions:overview"))
    assert response.status_code == 403
    assert b"no RiskOps role" in response.content
    assert b"analyst, compliance officer or risk admin" in response.content


@pytest.mark.parametrize("role", ["analyst", "compliance", "risk_admin"])
def test_every_role_logs_in_and_sees_the_overview(client, make_user, role):
    make_user("u", role)
    response = client.post(reverse("login"), {"username": "u", "password": "pw-u-123"}, follow=True)
    assert response.status_code == 200
    assert b"Overview" in response.content
    assert role.encode() in response.content


def test_login_page_renders_with_local_css_only(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"/static/css/riskops.css" in response.content
    assert b"cdn" not in response.content.lower()

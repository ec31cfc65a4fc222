"""After signing in each role lands where its work is; an explicit ?next= still wins."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _sign_in(client, username, **extra):
    return client.post(reverse("login") + extra.pop("query", ""), {"username": username, "password": f"pw-{username}-123"}, REMOTE_ADDR="10.9.9.9")


def test_compliance_lands_on_the_compliance_home(client, compliance_officer):
    response = _sign_in(client, compliance_officer.username)
    assert response.status_code == 302 and response["Location"] == reverse("compliance:index")


def test_analysts_and_risk_admins_land_on_the_overview(client, analyst, risk_admin):
    assert _sign_in(client, analyst.username)["Location"] == reverse("decisions:overview")
    client.logout()
    assert _sign_in(client, risk_admin.username)["Location"] == reverse("decisions:overview")


def test_next_still_wins_for_compliance(client, compliance_officer):
    response = _sign_in(client, compliance_officer.username, query="?next=" + reverse("compliance:audit"))
    assert response["Location"] == reverse("compliance:audit")

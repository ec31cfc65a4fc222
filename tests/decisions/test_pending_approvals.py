"""The second approver knows there is work: pending override and activation requests counted in
the navigation and on the overview, for risk admins only, in one query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from decisions.governance.pending_selectors import pending_approvals
from tests.factories import OverrideFactory, PolicyVersionFactory

pytestmark = pytest.mark.django_db


def _work(make_user):
    requester = make_user("asker", "risk_admin")
    OverrideFactory(requested_by=requester)
    OverrideFactory(requested_by=requester)
    OverrideFactory(approved=True)  # decided: not waiting
    PolicyVersionFactory(activation_requested_by=requester)
    PolicyVersionFactory()  # a draft nobody asked to activate


def test_counts_only_what_waits_in_one_query(make_user):
    _work(make_user)
    with CaptureQueriesContext(connection) as queries:
        counts = pending_approvals()
    assert (counts.overrides, counts.activations, counts.total) == (2, 1, 3)
    assert len(queries) == 1


def test_nothing_waiting_is_empty():
    counts = pending_approvals()
    assert (counts.overrides, counts.activations) == (0, 0) and not counts


def test_risk_admin_sees_count_in_nav_and_panel_on_overview(client, make_user):
    _work(make_user)
    client.force_login(make_user("checker", "risk_admin"))
    html = client.get(reverse("decisions:overview")).content.decode()
    assert "3 to approve" in html
    assert 'id="h-overview-pending-approvals"' in html
    assert "2 override requests pending approval" in html
    assert "1 policy activation request" in html
    assert reverse("admin:decisions_override_changelist") + "?state__exact=pending" in html


def test_nav_count_costs_one_query_for_risk_admins(client, make_user):
    _work(make_user)
    client.force_login(make_user("checker", "risk_admin"))
    url = reverse("decisions:queue")
    with CaptureQueriesContext(connection) as with_work:
        client.get(url)
    counted = [q["sql"] for q in with_work.captured_queries if "decisions_override" in q["sql"] and "COUNT" in q["sql"].upper()]
    assert len(counted) == 1


@pytest.mark.parametrize("role", ["analyst", "compliance"])
def test_other_roles_see_no_count_and_pay_no_query(client, make_user, role):
    _work(make_user)
    client.force_login(make_user("u", role))
    home = reverse("decisions:queue") if role == "analyst" else reverse("decisions:overview")
    with CaptureQueriesContext(connection) as queries:
        html = client.get(home, follow=True).content.decode()
    assert "to approve" not in html and "h-overview-pending-approvals" not in html
    assert not any("decisions_override" in q["sql"] and "COUNT" in q["sql"].upper() for q in queries.captured_queries)


def test_no_count_when_nothing_waits(client, make_user):
    client.force_login(make_user("checker", "risk_admin"))
    html = client.get(reverse("decisions:overview")).content.decode()
    assert "to approve" not in html and "h-overview-pending-approvals" not in html

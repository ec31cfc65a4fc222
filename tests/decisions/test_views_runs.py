"""The runs page: progress for every role, starting a run for risk admins only."""

import pytest
from django.urls import reverse

from decisions.models import RecomputeRun
from tests.decisions.scenarios import make_customer
from tests.factories import RecomputeRunFactory

pytestmark = pytest.mark.django_db


def test_runs_page_shows_progress_with_a_constant_number_of_queries(analyst_client, django_assert_max_num_queries):
    RecomputeRunFactory.create_batch(30, running=True, total_customers=100, done_customers=40)
    # session, user, groups (role check, cached for the template), user perms + group perms
    # (may the user start a run?), runs with requester and policy joined
    with django_assert_max_num_queries(6):
        response = analyst_client.get(reverse("decisions:runs"))
    assert response.status_code == 200
    assert response.content.count(b"<progress") == 30
    assert b"40 / 100" in response.content
    assert b"Start a full recompute" not in response.content  # analysts cannot start one
    assert b"js/runs.js" in response.content


def test_progress_endpoint_reports_json(analyst_client):
    run = RecomputeRunFactory(running=True, total_customers=200, done_customers=50, failed_customers=10)
    data = analyst_client.get(reverse("decisions:run-progress", args=[run.pk])).json()
    assert data["percent"] == 30.0 and data["done"] == 50 and data["failed"] == 10 and data["finished"] is False


def test_only_a_risk_admin_starts_a_run(client, analyst, risk_admin, django_capture_on_commit_callbacks):
    make_customer()
    client.force_login(analyst)
    assert client.post(reverse("decisions:run-start")).status_code == 403
    assert not RecomputeRun.objects.exists()

    client.force_login(risk_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("decisions:run-start"), follow=True)

    run = RecomputeRun.objects.get()
    assert run.requested_by == risk_admin and run.status == "succeeded"  # eager in tests: done at once
    assert b"started over 1 customers" in response.content


def test_users_without_a_role_see_no_runs(client, make_user):
    client.force_login(make_user("nobody"))
    assert client.get(reverse("decisions:runs")).status_code == 403
    assert client.get(reverse("decisions:run-progress", args=[1])).status_code == 403

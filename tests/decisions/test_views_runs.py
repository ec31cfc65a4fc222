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
        response = client.post(reverse("decisions:run-start"), {"confirmed": "yes"}, follow=True)

    run = RecomputeRun.objects.get()
    assert run.requested_by == risk_admin and run.status == "succeeded"  # eager in tests: done at once
    assert b"Run %d started over 1 customer." % run.pk in response.content
    assert run.origin == ""  # started by a person: the runs page adds nothing to the trigger


def test_a_full_recompute_asks_for_confirmation_first(client, risk_admin):
    # Given a book of three customers and a risk admin on the runs page
    for _ in range(3):
        make_customer()
    client.force_login(risk_admin)
    runs_page = client.get(reverse("decisions:runs")).content.decode()
    # the runs page offers a link to the confirmation page, not a form that starts a run at once
    assert 'href="%s"' % reverse("decisions:run-start") in runs_page
    assert 'action="%s"' % reverse("decisions:run-start") not in runs_page

    # when they open it, it says what the run covers, and nothing has started
    page = client.get(reverse("decisions:run-start"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Start a full recompute?" in text and "policy v1: 3 customers." in text
    assert 'name="confirmed" value="yes"' in text
    assert not RecomputeRun.objects.exists()

    # a POST without the confirmation (an old form) starts nothing and goes back to the question
    response = client.post(reverse("decisions:run-start"))
    assert response.status_code == 302 and response.url == reverse("decisions:run-start")
    assert not RecomputeRun.objects.exists()


def test_the_confirmation_page_is_refused_to_an_analyst_naming_the_role(analyst_client):
    response = analyst_client.get(reverse("decisions:run-start"))
    assert response.status_code == 403
    text = response.content.decode()
    assert "This page is for the role: risk admin." in text
    assert "Your role is analyst." in text
    assert "no RiskOps role" not in text


def test_runs_started_by_an_activation_or_a_replay_say_so(analyst_client):
    RecomputeRunFactory(origin="activation")
    RecomputeRunFactory(origin="replay", trigger="nightly")
    RecomputeRunFactory()
    text = analyst_client.get(reverse("decisions:runs")).content.decode()
    assert text.count("data-run-origin") == 2
    assert "Started by a policy activation" in text and "Replay of a past day" in text


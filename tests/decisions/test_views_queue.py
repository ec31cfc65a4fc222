"""Queue page and triage actions over HTTP: every URL × role, bad input, htmx answers."""

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from decisions.models import AlertStatus, CaseNote, RiskAlert
from riskops.core.models import AuditEvent
from tests.factories import CreditLineFactory, RiskAlertFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["analyst", "compliance", "risk_admin", "none", "anonymous"]


@pytest.fixture(autouse=True)
def no_broker():
    # Dismiss/confirm/recompute enqueue a recompute on commit; the task itself is tested elsewhere.
    with mock.patch("decisions.tasks.recompute_customer.delay") as delay:
        yield delay


@pytest.fixture
def client_as(client, make_user):
    def login(role: str):
        if role == "anonymous":
            return client, None
        user = make_user(f"u-{role}", *([] if role == "none" else [role]))
        client.force_login(user)
        return client, user

    return login


@pytest.fixture
def alert():
    return RiskAlertFactory(customer=CreditLineFactory().customer)


def action_requests(alert, assignee_pk):
    external_id = alert.customer.external_id
    close = {"note": "False positive: payslip seen.", "suppress_days": "7"}
    return [
        ("queue-next", reverse("decisions:queue-next"), {}),
        ("queue-assign", reverse("decisions:queue-assign"), {"alert_ids": str(alert.pk), "assignee": assignee_pk}),
        ("alert-claim", reverse("decisions:alert-claim", args=[alert.pk]), {}),
        ("alert-unassign", reverse("decisions:alert-unassign", args=[alert.pk]), {}),
        ("alert-assign", reverse("decisions:alert-assign", args=[alert.pk]), {"assignee": assignee_pk}),
        ("alert-dismiss", reverse("decisions:alert-dismiss", args=[alert.pk]), close),
        ("alert-confirm", reverse("decisions:alert-confirm", args=[alert.pk]), close),
        ("note-add", reverse("decisions:note-add", args=[external_id]), {"body": "Called the customer."}),
        ("customer-recompute", reverse("decisions:customer-recompute", args=[external_id]), {}),
    ]


# --- the queue page --------------------------------------------------------------------------


@pytest.mark.parametrize("role, status", [("analyst", 200), ("compliance", 200), ("risk_admin", 200), ("none", 403)])
def test_queue_page_by_role(client_as, alert, role, status):
    client, _user = client_as(role)
    response = client.get(reverse("decisions:queue"))
    assert response.status_code == status
    if status == 200:
        assert alert.customer.external_id in response.content.decode()


def test_anonymous_is_sent_to_login(client, alert):
    response = client.get(reverse("decisions:queue"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_compliance_sees_the_queue_without_any_action_control(client_as, alert):
    client, _user = client_as("compliance")
    html = client.get(reverse("decisions:queue")).content.decode()
    assert alert.customer.external_id in html
    for marker in ("data-claim-form", "data-next-form", "bulk-assign", reverse("decisions:alert-claim", args=[alert.pk])):
        assert marker not in html


def test_analyst_sees_claim_and_next_but_no_bulk_assign(client_as, alert):
    client, _user = client_as("analyst")
    html = client.get(reverse("decisions:queue")).content.decode()
    assert "data-claim-form" in html and "data-next-form" in html
    assert 'id="bulk-assign"' not in html


def test_risk_admin_sees_bulk_assign_checkboxes(client_as, alert):
    client, _user = client_as("risk_admin")
    html = client.get(reverse("decisions:queue")).content.decode()
    assert 'id="bulk-assign"' in html and 'form="bulk-assign"' in html


def test_the_queue_shows_badges_masked_phone_and_overdue_sla_in_words(client_as):
    from datetime import timedelta

    from django.utils import timezone

    line = CreditLineFactory(access="limited", limit_amount="1200.00", band="D")
    RiskAlertFactory(customer=line.customer, severity=4, raised_at=timezone.now() - timedelta(hours=10))  # SLA 8 h
    client, _user = client_as("analyst")
    html = client.get(reverse("decisions:queue")).content.decode()
    assert 'class="badge access-limited"' in html and 'class="badge band-D"' in html and 'class="badge sev-4"' in html
    assert "2 h over" in html
    assert line.customer.phone not in html and line.customer.phone[-3:] in html
    assert "1,200.00" in html


def test_filters_are_get_params_and_the_empty_state_says_how_to_widen(client_as, alert):
    client, _user = client_as("analyst")
    response = client.get(reverse("decisions:queue"), {"rule": "OVERDUE_90"})
    html = response.content.decode()
    assert alert.customer.external_id not in html
    assert "No flagged account matches these filters" in html and "clear all filters" in html
    html = client.get(reverse("decisions:queue"), {"rule": alert.rule}).content.decode()
    assert alert.customer.external_id in html


def test_empty_queue_says_why(client_as):
    client, _user = client_as("analyst")
    html = client.get(reverse("decisions:queue")).content.decode()
    assert "No flagged accounts." in html


def test_malformed_params_are_ignored_not_an_error(client_as, alert):
    client, _user = client_as("analyst")
    response = client.get(reverse("decisions:queue"), {"severity": "x", "page": "-3", "page_size": "7", "sort": "drop table", "rule": "NOPE"})
    assert response.status_code == 200 and alert.customer.external_id in response.content.decode()


# --- actions × roles -------------------------------------------------------------------------


ACTIONS = ["queue-next", "queue-assign", "alert-claim", "alert-unassign", "alert-assign", "alert-dismiss", "alert-confirm", "note-add", "customer-recompute"]


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_every_action_by_role(client_as, make_user, alert, role, name):
    """Analysts and risk admins act (assign: risk admins only, checked by the service); compliance
    and no role get 403; anonymous goes to the login page. A refused request writes nothing."""
    assignee = make_user("target", "analyst")
    client, user = client_as(role)
    if name == "alert-unassign" and role in ("analyst", "risk_admin"):
        # Something to give back: the actor holds the alert.
        RiskAlert.objects.filter(pk=alert.pk).update(status="in_review", assigned_to=user, claimed_at=alert.raised_at)
    url, data = next((u, d) for n, u, d in action_requests(alert, assignee.pk) if n == name)
    events_before = AuditEvent.objects.count()

    response = client.post(url, data)

    if role == "anonymous":
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
    elif role in ("compliance", "none") or (role == "analyst" and name in ("queue-assign", "alert-assign")):
        assert response.status_code == 403
    else:
        assert response.status_code == 302
        assert AuditEvent.objects.count() > events_before
        return
    assert AuditEvent.objects.count() == events_before


@pytest.mark.parametrize("name", ["alert-claim", "alert-dismiss", "queue-next", "note-add"])
def test_actions_refuse_get(client_as, alert, name):
    client, _user = client_as("analyst")
    url = next(u for n, u, _d in action_requests(alert, 1) if n == name)
    assert client.get(url).status_code == 405


def test_actions_need_csrf(client, analyst, alert):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(analyst)
    assert strict.post(reverse("decisions:alert-claim", args=[alert.pk])).status_code == 403
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_claim_redirects_with_a_flash_and_a_double_claim_is_a_flash_not_a_500(client, make_user, alert):
    first, second = make_user("one", "analyst"), make_user("two", "analyst")
    client.force_login(first)
    response = client.post(reverse("decisions:alert-claim", args=[alert.pk]), follow=True)
    assert response.status_code == 200
    assert "You are now working on" in response.content.decode()
    client.force_login(second)
    response = client.post(reverse("decisions:alert-claim", args=[alert.pk]), follow=True)
    assert response.status_code == 200
    assert "is already working on this account" in response.content.decode()
    alert.refresh_from_db()
    assert alert.assigned_to == first


def test_next_case_claims_and_opens_the_profile(analyst_client, analyst, alert):
    response = analyst_client.post(reverse("decisions:queue-next"))
    assert response.status_code == 302
    assert response.url == reverse("decisions:customer", kwargs={"external_id": alert.customer.external_id})
    alert.refresh_from_db()
    assert alert.assigned_to == analyst


def test_one_account_one_analyst_through_the_pages(client, make_user):
    first, second = make_user("one", "analyst"), make_user("two", "analyst")
    alert = RiskAlertFactory(customer=CreditLineFactory().customer, raised_at=timezone.now() - timedelta(hours=9))
    sibling = RiskAlertFactory(customer=alert.customer, rule="SPENDING_SPIKE", raised_at=timezone.now() - timedelta(hours=8))
    other = RiskAlertFactory(customer=CreditLineFactory().customer, raised_at=timezone.now() - timedelta(hours=1))
    profile = reverse("decisions:customer", kwargs={"external_id": alert.customer.external_id})
    # The first analyst claims one alert of the account: the account is theirs
    client.force_login(first)
    client.post(reverse("decisions:alert-claim", args=[alert.pk]), {"next": profile})
    # The second one's "next case" opens the other account; claiming the sibling is refused
    client.force_login(second)
    response = client.post(reverse("decisions:queue-next"))
    assert response.url == reverse("decisions:customer", kwargs={"external_id": other.customer.external_id})
    response = client.post(reverse("decisions:alert-claim", args=[sibling.pk]), {"next": profile}, follow=True)
    html = response.content.decode()
    assert "one is already working on this account" in html
    # The profile lists one assignee
    assert html.count("<td>one</td>") == 2 and "<td>two</td>" not in html
    sibling.refresh_from_db()
    assert sibling.assigned_to == first


def test_next_case_takes_the_most_severe_account_not_the_oldest(analyst_client, analyst):
    RiskAlertFactory(customer=CreditLineFactory().customer, severity=2, raised_at=timezone.now() - timedelta(days=2))
    urgent = RiskAlertFactory(customer=CreditLineFactory().customer, severity=5, rule="OVERDUE_90")
    response = analyst_client.post(reverse("decisions:queue-next"))
    assert response.url == reverse("decisions:customer", kwargs={"external_id": urgent.customer.external_id})


def test_the_shortcut_help_says_which_case_comes_next(analyst_client, alert):
    html = analyst_client.get(reverse("decisions:queue")).content.decode()
    assert 'data-key-n="Claim the next unassigned account: highest severity, then nearest SLA deadline, then oldest; and open it"' in html


def test_next_case_with_nothing_waiting_says_so(analyst_client):
    response = analyst_client.post(reverse("decisions:queue-next"), {"rule": "OVERDUE_90"}, follow=True)
    assert "No unassigned case matches these filters." in response.content.decode()


def test_dismiss_closes_the_alert_and_leaves_the_queue(analyst_client, alert):
    response = analyst_client.post(
        reverse("decisions:alert-dismiss", args=[alert.pk]),
        {"note": "Salary advance, not over-borrowing.", "suppress_days": "14", "next": reverse("decisions:queue")},
    )
    assert response.status_code == 302 and response.url == reverse("decisions:queue")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.DISMISSED
    html = analyst_client.get(reverse("decisions:queue")).content.decode()
    assert "dismissed as a false positive" in html  # the flash
    assert f'data-customer="{alert.customer.external_id}"' not in html  # the row is gone


@pytest.mark.parametrize(
    "data, field_error",
    [
        ({"note": "   ", "suppress_days": "7"}, "This field is required."),
        ({"note": "fine", "suppress_days": "0"}, "greater than or equal to 1"),
        ({"note": "fine", "suppress_days": "91"}, "less than or equal to 90"),
        ({"note": "fine", "suppress_days": "soon"}, "Enter a whole number."),
    ],
)
@pytest.mark.parametrize("verb", ["dismiss", "confirm"])
def test_bad_close_input_is_a_form_error_and_nothing_is_written(analyst_client, alert, data, field_error, verb):
    events = AuditEvent.objects.count()
    response = analyst_client.post(reverse(f"decisions:alert-{verb}", args=[alert.pk]), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert field_error in html and "error-summary" in html
    # what was typed is kept
    assert data["note"].strip() in html
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN and alert.suppressed_until is None
    assert not CaseNote.objects.exists() and AuditEvent.objects.count() == events


def test_htmx_claim_swaps_the_alert_block(analyst_client, alert):
    response = analyst_client.post(reverse("decisions:alert-claim", args=[alert.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="alert-actions-{alert.pk}"' in html and "You are working on it" in html
    assert "<html" not in html


def test_htmx_claim_of_an_account_with_several_alerts_reloads_the_page(analyst_client, analyst, alert):
    sibling = RiskAlertFactory(customer=alert.customer, rule="SPENDING_SPIKE")
    response = analyst_client.post(reverse("decisions:alert-claim", args=[alert.pk]), HTTP_HX_REQUEST="true")
    # every alert block of the account changed: htmx reloads the page, the message waits for it
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    sibling.refresh_from_db()
    assert sibling.assigned_to == analyst
    html = analyst_client.get(reverse("decisions:customer", kwargs={"external_id": alert.customer.external_id})).content.decode()
    assert "You are now working on" in html


def test_htmx_bad_input_answers_the_block_with_errors(analyst_client, alert):
    response = analyst_client.post(
        reverse("decisions:alert-confirm", args=[alert.pk]), {"note": "", "suppress_days": "3"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_blank_note_is_a_flash_and_nothing_written(analyst_client, alert):
    response = analyst_client.post(reverse("decisions:note-add", args=[alert.customer.external_id]), {"body": " "}, follow=True)
    assert response.status_code == 200 and "Write the note before saving it." in response.content.decode()
    assert not CaseNote.objects.exists()


def test_bulk_assign_by_risk_admin(client_as, make_user):
    client, _admin = client_as("risk_admin")
    target = make_user("target", "analyst")
    alerts = RiskAlertFactory.create_batch(3)
    ids = ",".join(str(a.pk) for a in alerts[:2])
    response = client.post(reverse("decisions:queue-assign"), {"alert_ids": [ids, str(alerts[2].pk)], "assignee": target.pk}, follow=True)
    assert "3 account(s) assigned to target." in response.content.decode()
    assert RiskAlert.objects.filter(assigned_to=target).count() == 3


def test_bulk_assign_to_someone_without_a_role_is_a_flash(client_as):
    client, _admin = client_as("risk_admin")
    alert = RiskAlertFactory()
    response = client.post(reverse("decisions:queue-assign"), {"alert_ids": str(alert.pk), "assignee": UserFactory().pk}, follow=True)
    assert response.status_code == 200 and "can only be assigned to an analyst" in response.content.decode()


def test_unknown_alert_is_404(analyst_client):
    assert analyst_client.post(reverse("decisions:alert-claim", args=[999999])).status_code == 404


def test_open_redirects_are_refused(analyst_client, alert):
    response = analyst_client.post(reverse("decisions:alert-claim", args=[alert.pk]), {"next": "https://evil.example/"})
    assert response.status_code == 302 and not response.url.startswith("https://evil.example")

"""The Override admin: filters, inline decisions, actions through confirmation pages and the
services (self-approval refused), the add form as a request, nothing written around services."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin import helpers
from django.urls import reverse
from django.utils import timezone

from decisions.models import CreditDecision, Override
from decisions.governance.services import overrides as svc
from tests.decisions.override_factories import audit_actions, line_of, risk_admin2, scored_customer  # noqa: F401
from tests.factories import CreditLineFactory, CustomerFactory, OverrideFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:decisions_override_changelist"


def changelist():
    return reverse(CHANGELIST)


def act(client, verb, overrides, *, confirm=False, note="", **params):
    data = {"action": verb, helpers.ACTION_CHECKBOX_NAME: [o.pk for o in overrides]}
    if confirm:
        data.update(confirm="yes", note=note)
    else:
        data["index"] = 0
    return client.post(changelist() + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""), data)


def request(customer, actor, **kw):
    kw.setdefault("reason_category", "new_evidence")
    kw.setdefault("reason", "Salary letter seen.")
    return svc.override_request(customer=customer, actor=actor, **kw)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


# --- the list ---------------------------------------------------------------------------------


def test_list_shows_effective_and_model_decision_inline(client, risk_admin):
    line = CreditLineFactory(access="open", limit_amount=Decimal("1500.00"), model_access="closed", model_limit=Decimal("0"))
    OverrideFactory(customer=line.customer, approved=True)
    client.force_login(risk_admin)
    html = client.get(changelist()).content.decode()
    assert line.customer.external_id in html
    assert "Open · ¥1,500.00" in html and "Closed · ¥0.00" in html


def test_list_query_budget_does_not_grow_with_rows(client, risk_admin, django_assert_max_num_queries):
    for _ in range(60):
        line = CreditLineFactory()
        OverrideFactory(customer=line.customer, approved=True)
    client.force_login(risk_admin)
    # session, user, its groups (role), its permissions (user + group), count, rows (customer +
    # line + requester + approver joined), the requester filter's users, the approver filter's users,
    # and a few for the admin frame (the action form's permission checks share the cached perms)
    with django_assert_max_num_queries(12):
        response = client.get(changelist())
    assert response.status_code == 200
    assert response.content.decode().count('class="action-select"') == 50  # list_per_page


def test_filters_state_requester_approver_and_expiring(client, risk_admin, make_user):
    asker = make_user("asker", "analyst")
    approver = make_user("appr", "risk_admin")
    now = timezone.now()
    soon = OverrideFactory(approved=True, decided_by=approver, requested_by=asker, created_at=now - timedelta(days=20), expires_at=now + timedelta(days=3))
    later = OverrideFactory(approved=True, created_at=now - timedelta(days=1), expires_at=now + timedelta(days=30))
    pending = OverrideFactory(requested_by=asker)
    client.force_login(risk_admin)

    def ids(query):
        response = client.get(changelist() + query)
        assert response.status_code == 200
        return set(response.context["cl"].result_list.values_list("pk", flat=True))

    assert ids("?state__exact=pending") == {pending.pk}
    assert ids(f"?requested_by__id__exact={asker.pk}") == {soon.pk, pending.pk}
    assert ids(f"?decided_by__id__exact={approver.pk}") == {soon.pk}
    assert ids("?expiring=7d") == {soon.pk}
    assert ids(f"?q={later.customer.external_id}") == {later.pk}


def test_analyst_and_compliance_are_not_admin_users(client, analyst, compliance_officer):
    for user in (analyst, compliance_officer):
        client.force_login(user)
        assert client.get(changelist()).status_code == 302  # not staff: the admin's login page


def test_staff_without_risk_admin_sees_no_actions_and_no_add(client, make_user):
    viewer = make_user("viewer", "compliance", is_staff=True)
    OverrideFactory()
    client.force_login(viewer)
    response = client.get(changelist())
    assert response.status_code == 200
    assert 'name="action"' not in response.content.decode()
    assert client.get(reverse("admin:decisions_override_add")).status_code == 403


# --- actions ----------------------------------------------------------------------------------


def test_approve_asks_for_confirmation_then_approves_and_recomputes(client, analyst, risk_admin, django_capture_on_commit_callbacks):
    customer = scored_customer()
    override = request(customer, analyst, access="suspended")
    client.force_login(risk_admin)

    page = act(client, "approve", [override])
    assert page.status_code == 200
    assert "override-approve-confirmation" in page.content.decode() and customer.external_id in page.content.decode()
    override.refresh_from_db()
    assert override.state == "pending"  # nothing happens before the confirmation

    with django_capture_on_commit_callbacks(execute=True):
        done = act(client, "approve", [override], confirm=True, note="Checked with fraud.")
    assert done.status_code == 302
    override.refresh_from_db()
    assert (override.state, override.decided_by, override.decision_note) == ("approved", risk_admin, "Checked with fraud.")
    assert line_of(customer).access == "suspended"
    assert audit_actions(override) == ["override.request", "override.approve"]


def test_self_approval_in_the_admin_is_refused_with_a_message(client, risk_admin):
    override = request(CustomerFactory(), risk_admin, access="closed")
    client.force_login(risk_admin)
    page = act(client, "approve", [override]).content.decode()
    assert "you cannot decide it" in page  # warned on the confirmation page
    response = act(client, "approve", [override], confirm=True)
    assert response.status_code == 302
    assert any("second risk admin" in m for m in messages_of(response))
    override.refresh_from_db()
    assert (override.state, override.decided_by) == ("pending", None)
    assert audit_actions(override) == ["override.request"]


def test_reject_needs_a_note_on_the_confirmation_page(client, analyst, risk_admin):
    override = request(CustomerFactory(), analyst, access="closed")
    client.force_login(risk_admin)
    page = act(client, "reject", [override], confirm=True, note="")
    assert page.status_code == 200 and "errornote" in page.content.decode()
    override.refresh_from_db()
    assert override.state == "pending"
    act(client, "reject", [override], confirm=True, note="No evidence attached.")
    override.refresh_from_db()
    assert (override.state, override.decision_note) == ("rejected", "No evidence attached.")


def test_revoke_returns_the_customer_to_the_model(client, analyst, risk_admin, risk_admin2, django_capture_on_commit_callbacks):
    customer = scored_customer()
    override = request(customer, analyst, access="closed")
    with django_capture_on_commit_callbacks(execute=True):
        svc.override_approve(override=override, actor=risk_admin2)
    assert line_of(customer).access == "closed"
    client.force_login(risk_admin)
    with django_capture_on_commit_callbacks(execute=True):
        act(client, "revoke", [override], confirm=True, note="Customer paid.")
    override.refresh_from_db()
    assert (override.state, override.revoked_by) == ("revoked", risk_admin)
    assert (line_of(customer).access, line_of(customer).limit_amount) == ("open", Decimal("4500.00"))


def test_an_action_on_the_wrong_state_changes_nothing(client, risk_admin, risk_admin2):
    override = OverrideFactory(rejected=True)
    client.force_login(risk_admin)
    response = act(client, "approve", [override], confirm=True)
    assert any("not waiting for approval" in m for m in messages_of(response))
    override.refresh_from_db()
    assert override.state == "rejected"


# --- add: a request through the service -----------------------------------------------------


def test_add_form_creates_a_pending_request(client, risk_admin):
    customer = CustomerFactory()
    client.force_login(risk_admin)
    assert client.get(reverse("admin:decisions_override_add")).status_code == 200
    response = client.post(
        reverse("admin:decisions_override_add"),
        {"customer": customer.external_id, "access": "suspended", "limit_amount": "", "reason_category": "fraud_suspected",
         "reason": "Device fingerprint matches a known ring.", "days": "14"},
    )
    assert response.status_code == 302
    override = Override.objects.get(customer=customer)
    assert (override.state, override.requested_by, override.access) == ("pending", risk_admin, "suspended")
    assert audit_actions(override) == ["override.request"]


def test_add_form_errors_name_the_field_and_write_nothing(client, risk_admin):
    customer = CustomerFactory()
    OverrideFactory(customer=customer)  # already one pending
    client.force_login(risk_admin)
    url = reverse("admin:decisions_override_add")
    base = {"customer": customer.external_id, "access": "closed", "reason_category": "other", "reason": "x", "days": "10"}
    response = client.post(url, {**base, "days": "365"})
    assert response.status_code == 400 and response.context["form"].has_error("days")
    response = client.post(url, {**base, "customer": "nobody"})
    assert response.context["form"].has_error("customer")
    response = client.post(url, base)  # the second pending request
    assert response.status_code == 400 and "already has an override request waiting" in response.content.decode()
    assert Override.objects.filter(customer=customer).count() == 1


def test_change_page_is_read_only_and_nothing_deletes(client, risk_admin):
    override = OverrideFactory()
    client.force_login(risk_admin)
    url = reverse("admin:decisions_override_change", args=[override.pk])
    assert client.get(url).status_code == 200
    client.post(url, {"state": "approved", "reason": "edited"})
    override.refresh_from_db()
    assert (override.state, override.reason) == ("pending", OverrideFactory._meta.declarations["reason"])
    assert client.post(reverse("admin:decisions_override_delete", args=[override.pk]), {"post": "yes"}).status_code == 403
    assert Override.objects.filter(pk=override.pk).exists()


# --- the override's own page: titled with the customer, Approve / Reject for a second admin ------


def change_url(override):
    return reverse("admin:decisions_override_change", args=[override.pk])


def test_change_page_titled_with_customer_and_limit_with_currency(client, risk_admin):
    override = OverrideFactory(limit_amount=Decimal("1234.50"))
    client.force_login(risk_admin)
    html = client.get(change_url(override)).content.decode()
    assert f"Override #{override.pk} for {override.customer.external_id}" in html
    assert "¥1,234.50" in html


def test_second_admin_approves_from_the_change_page_through_the_confirmation(client, risk_admin, risk_admin2):
    customer = scored_customer()
    override = request(customer, risk_admin, access="limited", limit_amount=Decimal("500.00"), days=30)
    client.force_login(risk_admin2)
    html = client.get(change_url(override)).content.decode()
    assert 'value="approve"' in html and 'value="reject"' in html
    # The button posts the list's action: the confirmation page first, nothing decided yet.
    page = client.post(changelist(), {"action": "approve", "index": 0, helpers.ACTION_CHECKBOX_NAME: [override.pk]})
    assert page.status_code == 200 and "override-approve-confirmation" in page.content.decode()
    override.refresh_from_db()
    assert override.state == "pending"
    act(client, "approve", [override], confirm=True)
    override.refresh_from_db()
    assert (override.state, override.decided_by) == ("approved", risk_admin2)


def test_requester_sees_no_buttons_on_own_request(client, risk_admin):
    customer = scored_customer()
    override = request(customer, risk_admin, access="limited", limit_amount=Decimal("500.00"), days=30)
    client.force_login(risk_admin)
    html = client.get(change_url(override)).content.decode()
    assert 'value="approve"' not in html and 'value="reject"' not in html
    assert "another risk admin approves or rejects it" in html


def test_decided_override_has_no_buttons(client, risk_admin):
    override = OverrideFactory(approved=True)
    client.force_login(risk_admin)
    html = client.get(change_url(override)).content.decode()
    assert 'value="approve"' not in html and 'value="reject"' not in html

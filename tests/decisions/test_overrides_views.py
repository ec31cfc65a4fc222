"""The overrides panel on the risk profile and the request form: every URL × role, errors per
field with nothing written, what the panel shows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from decisions.models import Override
from decisions.governance.override_selectors import customer_override_panel
from decisions.governance.services import overrides as svc
from tests.decisions.override_factories import audit_actions, line_of, risk_admin2, scored_customer  # noqa: F401
from tests.factories import CreditLineFactory, CustomerFactory, OverrideFactory

pytestmark = pytest.mark.django_db

GOOD = {"access": "limited", "limit_amount": "800.00", "reason_category": "hardship", "reason": "Lost job; agreed plan.", "days": "30"}


def profile_url(customer):
    return reverse("decisions:customer", kwargs={"external_id": customer.external_id})


def request_url(customer):
    return reverse("decisions:override-request", kwargs={"external_id": customer.external_id})


# --- URL × role -------------------------------------------------------------------------------


@pytest.mark.parametrize("role, get_status, post_status", [
    ("analyst", 200, 302), ("risk_admin", 200, 302), ("compliance", 403, 403), (None, 403, 403),
])
def test_request_url_by_role(client, make_user, role, get_status, post_status):
    customer = CustomerFactory()
    user = make_user("u", *([role] if role else []))
    client.force_login(user)
    assert client.get(request_url(customer)).status_code == get_status
    assert client.post(request_url(customer), GOOD).status_code == post_status
    assert Override.objects.filter(customer=customer).exists() == (post_status == 302)


def test_request_url_needs_login(client):
    customer = CustomerFactory()
    response = client.post(request_url(customer), GOOD)
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert not Override.objects.exists()


def test_unknown_customer_is_404(analyst_client):
    assert analyst_client.post(reverse("decisions:override-request", kwargs={"external_id": "nope"}), GOOD).status_code == 404


@pytest.mark.parametrize("role, sees_form", [("analyst", True), ("risk_admin", True), ("compliance", False)])
def test_profile_panel_by_role(client, make_user, role, sees_form):
    customer = scored_customer()
    OverrideFactory(customer=customer, reason="Customer sent a payslip.")
    client.force_login(make_user("u", role))
    html = client.get(profile_url(customer)).content.decode()
    assert 'id="h-overrides"' in html and "Customer sent a payslip." in html  # everyone sees overrides
    assert request_url(customer) not in html  # a pending request hides the form, for every role
    Override.objects.filter(customer=customer).update(
        state="rejected", decided_by=make_user("decider", "risk_admin"), decided_at=timezone.now()
    )
    html = client.get(profile_url(customer)).content.decode()
    assert (request_url(customer) in html) == sees_form  # compliance never gets the form


# --- the request form -------------------------------------------------------------------------


def test_valid_request_redirects_to_the_profile_with_a_message(analyst_client, analyst):
    customer = scored_customer()
    response = analyst_client.post(request_url(customer), GOOD, follow=True)
    override = Override.objects.get(customer=customer)
    assert (override.state, override.requested_by, override.limit_amount) == ("pending", analyst, Decimal("800.00"))
    assert response.redirect_chain[-1][0].startswith(profile_url(customer))
    html = response.content.decode()
    assert f"Override #{override.pk} requested" in html
    assert f'data-override="{override.pk}" data-state="pending"' in html


@pytest.mark.parametrize("change, field", [
    ({"access": "", "limit_amount": ""}, "access"),
    ({"limit_amount": "-1"}, "limit_amount"),
    ({"limit_amount": "abc"}, "limit_amount"),
    ({"access": "suspended", "limit_amount": "500"}, "limit_amount"),  # the service's rule
    ({"reason_category": "whim"}, "reason_category"),
    ({"reason": ""}, "reason"),
    ({"days": "91"}, "days"),
    ({"days": "0"}, "days"),
])
def test_bad_input_shows_the_error_next_to_the_field_keeps_input_and_writes_nothing(analyst_client, change, field):
    customer = scored_customer()
    response = analyst_client.post(request_url(customer), {**GOOD, **change})
    assert response.status_code == 400
    form = response.context["form"]
    assert form.has_error(field)
    html = response.content.decode()
    assert 'class="error-summary"' in html and f'href="#override-{field}"' in html
    assert "Lost job; agreed plan." in html or change.get("reason") == ""  # what was typed is kept
    assert not Override.objects.exists()


def test_second_pending_request_shows_the_conflict(analyst_client, risk_admin):
    customer = scored_customer()
    first = svc.override_request(customer=customer, actor=risk_admin, access="closed", reason_category="other", reason="x")
    response = analyst_client.post(request_url(customer), GOOD)
    assert response.status_code == 409
    assert f"#{first.pk}" in response.content.decode()
    assert Override.objects.filter(customer=customer).count() == 1


# --- the panel --------------------------------------------------------------------------------


def test_panel_shows_in_force_with_who_asked_who_approved_and_the_model_beside(
    client, analyst, risk_admin, django_capture_on_commit_callbacks
):
    customer = scored_customer()
    override = svc.override_request(customer=customer, actor=analyst, access="closed", reason_category="fraud_suspected", reason="Ring.")
    with django_capture_on_commit_callbacks(execute=True):
        svc.override_approve(override=override, actor=risk_admin)
    client.force_login(analyst)
    html = client.get(profile_url(customer)).content.decode()
    panel = html[html.index('id="h-overrides"'):html.index('id="h-alerts"')]
    assert "In force" in panel and "ana" in panel and "rita" in panel and "Suspected fraud" in panel
    assert "access-closed" in panel and "¥0.00" in panel  # effective
    assert "The model's own decision" in panel and "¥4,500.00" in panel  # the model's, beside it


def test_panel_selector_splits_pending_active_and_past_in_one_query(django_assert_num_queries, risk_admin):
    line = CreditLineFactory()
    now = timezone.now()
    for n in range(8):
        OverrideFactory(customer=line.customer, rejected=True, created_at=now - timedelta(days=40 + n))
    active = OverrideFactory(customer=line.customer, approved=True, created_at=now - timedelta(days=60), expires_at=now + timedelta(days=5))
    pending = OverrideFactory(customer=line.customer)
    with django_assert_num_queries(1):
        panel = customer_override_panel(customer_id=line.customer_id, line=line)
    assert [r.override for r in panel.pending] == [pending]
    assert [r.override for r in panel.active] == [active]  # older than every past one, still shown
    assert len(panel.past) == 5 and panel.past_more


def test_panel_target_words_for_blank_access_and_null_limit(analyst):
    line = CreditLineFactory()
    OverrideFactory(customer=line.customer, access="", limit_amount=Decimal("900.00"))
    panel = customer_override_panel(customer_id=line.customer_id, line=line)
    assert panel.pending[0].target == "model's access · ¥900.00"


def test_panel_and_form_in_chinese(analyst_client):
    customer = scored_customer()
    analyst_client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    html = analyst_client.get(profile_url(customer)).content.decode()
    assert "人工干预" in html and "申请人工干预…" in html and "模型自身的决策" in html
    response = analyst_client.post(request_url(customer), {**GOOD, "days": "91"})
    html = response.content.decode()
    assert "确保该值小于或等于90" in html  # Django's own message, in Chinese, next to the field
    assert "1 到 90 天，自申请时起算" in html  # the help text names the policy's bound


def test_access_card_names_the_models_access_for_a_limit_only_override(analyst_client):
    customer = scored_customer()
    OverrideFactory(customer=customer, approved=True, access="", limit_amount=Decimal("900.00"))
    html = analyst_client.get(profile_url(customer)).content.decode()
    assert "In force: model&#x27;s access until" in html or "In force: model's access until" in html

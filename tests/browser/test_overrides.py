"""Overrides in a real browser: requested from the risk profile, decided in the real admin by a
second risk admin (self-approval refused), and the profile then shows the override in force."""

import pytest
from django.urls import reverse

from decisions.models import CreditLine, Override
from tests.decisions.override_factories import scored_customer

from .helpers import assert_no_serious_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _profile(live_server, customer) -> str:
    return live_server.url + reverse("decisions:customer", kwargs={"external_id": customer.external_id})


def _request_from_profile(page, *, access: str, reason: str, limit: str = "") -> None:
    page.click("details.override-request summary")
    page.select_option("#override-access", access)
    if limit:
        page.fill("#override-limit_amount", limit)
    page.select_option("#override-reason_category", "new_evidence")
    page.fill("#override-reason", reason)
    with page.expect_navigation():
        page.click("[data-request-override]")


def _admin_action(page, live_server, override_pk: int, verb: str, note: str = "") -> None:
    page.goto(live_server.url + reverse("admin:decisions_override_changelist"))
    page.check(f"input[name=_selected_action][value='{override_pk}']")
    page.select_option("select[name=action]", verb)
    with page.expect_navigation():
        page.click("button[name=index]")
    assert page.locator(f"body.override-{verb}-confirmation").count() == 1
    if note:
        page.fill("#id_note", note)
    with page.expect_navigation():
        page.click("[data-confirm-action]")


def test_analyst_requests_an_override_and_sees_it_pending(page, live_server, login, analyst):
    customer = scored_customer()
    login(page, live_server, analyst)
    page.goto(_profile(live_server, customer))
    assert_no_serious_axe_violations(page)

    # a first try without a reason: the error is next to the field, nothing is written
    page.click("details.override-request summary")
    page.select_option("#override-access", "limited")
    page.select_option("#override-reason_category", "hardship")
    with page.expect_navigation():
        page.click("[data-request-override]")
    assert page.locator(".error-summary").is_visible()
    assert page.locator(".field.has-error #override-reason").count() == 1
    assert page.locator("#override-access").input_value() == "limited"  # what was typed is kept
    assert_no_serious_axe_violations(page)
    assert not Override.objects.exists()

    page.goto(_profile(live_server, customer))
    _request_from_profile(page, access="limited", limit="900.00", reason="Agreed a hardship plan by phone.")
    override = Override.objects.get(customer=customer)
    row = page.locator(f"[data-override='{override.pk}']")
    assert row.get_attribute("data-state") == "pending"
    assert "Pending approval" in row.inner_text() and "ana" in row.inner_text()
    assert "requested" in page.locator(".messages, [role=status], .message").first.inner_text()
    # the line has not moved: a request waits for a second person
    assert CreditLine.objects.get(customer=customer).access == "open"


def test_second_risk_admin_approves_in_the_admin_and_the_profile_shows_it(page, live_server, login, risk_admin, make_user):
    customer = scored_customer()
    second = make_user("remy", "risk_admin", is_staff=True)

    # Rita asks for a suspension from the profile
    login(page, live_server, risk_admin)
    page.goto(_profile(live_server, customer))
    _request_from_profile(page, access="suspended", reason="Card reported stolen; hold the line.")
    override = Override.objects.get(customer=customer)

    # and is refused when she approves her own request in the admin
    _admin_action(page, live_server, override.pk, "approve")
    assert "second risk admin" in page.locator(".messagelist .error").inner_text()
    override.refresh_from_db()
    assert override.state == "pending"

    # Remy approves it in the admin
    page.context.clear_cookies()
    login(page, live_server, second)
    _admin_action(page, live_server, override.pk, "approve", note="Confirmed with the card team.")
    assert f"#{override.pk} approved" in page.locator(".messagelist .success").inner_text()
    override.refresh_from_db()
    assert (override.state, override.decided_by_id) == ("approved", second.pk)

    # the profile shows the override in force and the line suspended; the model's decision beside it
    page.goto(_profile(live_server, customer))
    row = page.locator(f"[data-override='{override.pk}']")
    assert "In force" in row.inner_text() and "rita" in row.inner_text() and "remy" in row.inner_text()
    compare = page.locator(".override-compare").inner_text()
    assert "Suspended" in compare and "Open" in compare
    assert page.locator("#h-access ~ dl .badge.access-suspended").count() == 1
    assert CreditLine.objects.get(customer=customer).access == "suspended"
    assert_no_serious_axe_violations(page)

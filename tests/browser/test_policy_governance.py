"""Policy governance in a real browser: copy the active version as a draft in the admin, edit its
JSON (an error names the field), simulate it (the chart page), request activation, be refused
when approving one's own request, and a second risk admin approves it."""

import json

import pytest
from django.urls import reverse

from decisions.models import PolicySimulation, PolicyVersion, RecomputeRun
from tests.decisions.policy_factories import stricter_body
from tests.decisions.scenarios import make_customer

from .helpers import assert_no_serious_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _admin(live_server, name: str, *args) -> str:
    return live_server.url + reverse(f"admin:decisions_policyversion_{name}", args=args)


def _confirm(page) -> None:
    with page.expect_navigation():
        page.click("#content-main form input[type=submit]")


def test_copy_edit_simulate_request_and_a_second_admin_approves(page, live_server, login, risk_admin, make_user):
    for _ in range(5):
        make_customer()
    second = make_user("sam", "risk_admin", is_staff=True)
    v1 = PolicyVersion.objects.get(state="active")

    login(page, live_server, risk_admin)
    page.goto(_admin(live_server, "changelist"))
    page.check(f"input[name=_selected_action][value='{v1.pk}']")
    page.select_option("select[name=action]", "copy_as_draft")
    with page.expect_navigation():
        page.click("button[name=index]")
    draft = PolicyVersion.objects.get(state="draft")
    assert page.url.rstrip("/").endswith(f"/{draft.pk}/change")

    # A bad document: the error names the field; what was typed stays in the box.
    bad = stricter_body(draft.body)
    bad["limits"]["min_limit"] = "9000.00"
    page.fill("#id_body", json.dumps(bad, indent=2))
    with page.expect_navigation():
        page.click("input[name=_continue]")
    assert "limits.min_limit" in page.locator(".errorlist").first.inner_text()
    assert "9000.00" in page.input_value("#id_body")
    assert PolicyVersion.objects.get(pk=draft.pk).edited_at is None

    page.fill("#id_body", json.dumps(stricter_body(draft.body), indent=2))
    with page.expect_navigation():
        page.click("input[name=_continue]")
    assert PolicyVersion.objects.get(pk=draft.pk).edited_at is not None

    # Simulate: confirmation page, then the report (the tasks run in-process here).
    with page.expect_navigation():
        page.click("text=Simulate on the book")
    _confirm(page)
    simulation = PolicySimulation.objects.get(policy_version=draft)
    assert page.url.endswith(reverse("decisions:simulation", args=[simulation.pk]))
    page.wait_for_selector("[data-chart='sim-transitions'] .main-svg")
    assert page.locator("[data-chart]").count() == 4
    assert "limits.max_limit" in page.inner_text("main")
    assert_no_serious_axe_violations(page)

    # Request activation, then try to approve one's own request: refused.
    page.goto(_admin(live_server, "change", draft.pk))
    with page.expect_navigation():
        page.click("text=Request activation")
    page.fill("#id_note", "Stricter top limit after the Q3 losses.")
    _confirm(page)
    assert "second risk admin" in page.locator(".messagelist").inner_text()
    assert page.locator("text=Approve activation").count() == 0  # not offered to the requester
    page.goto(_admin(live_server, "approve", draft.pk))
    _confirm(page)
    assert "a second risk admin must approve it" in page.locator(".messagelist .error").inner_text()
    assert PolicyVersion.objects.get(pk=draft.pk).state == "draft"

    # A second risk admin approves: the draft is active and a full recompute started.
    page.context.clear_cookies()
    login(page, live_server, second)
    page.goto(_admin(live_server, "change", draft.pk))
    with page.expect_navigation():
        page.click("text=Approve activation")
    _confirm(page)
    assert page.url.endswith(reverse("decisions:runs"))
    assert PolicyVersion.objects.get(pk=draft.pk).state == "active"
    assert RecomputeRun.objects.get().policy_version_id == draft.pk


def test_a_band_cut_off_edited_in_the_form(page, live_server, login, risk_admin):
    from decisions.governance.services.policy import policy_draft_copy

    draft = policy_draft_copy(source=PolicyVersion.objects.get(state="active"), actor=risk_admin)
    login(page, live_server, risk_admin)
    page.goto(_admin(live_server, "change", draft.pk))
    with page.expect_navigation():
        page.click("text=Edit in a form")
    assert page.url.endswith(reverse("admin:decisions_policyversion_sections", args=[draft.pk]))
    assert page.input_value("#id_bands__1__min_score") == "640"
    assert_no_serious_axe_violations(page)

    # A cut-off above band A's: said beside the box, in words; nothing saved.
    page.fill("#id_bands__1__min_score", "700")
    with page.expect_navigation():
        page.click("input[name=_save]")
    assert "must be below band A's 680" in page.inner_text("#content-main")
    assert page.input_value("#id_bands__1__min_score") == "700"
    assert PolicyVersion.objects.get(pk=draft.pk).edited_at is None
    assert_no_serious_axe_violations(page)

    page.fill("#id_bands__1__min_score", "645")
    with page.expect_navigation():
        page.click("input[name=_save]")
    assert "Saved: 1 value of the draft changed." in page.locator(".messagelist").inner_text()
    saved = PolicyVersion.objects.get(pk=draft.pk)
    assert saved.body["bands"][1] == {"band": "B", "min_score": 645}
    assert {k: v for k, v in saved.body.items() if k != "bands"} == {k: v for k, v in draft.body.items() if k != "bands"}
    assert page.input_value("#id_bands__1__min_score") == "645"

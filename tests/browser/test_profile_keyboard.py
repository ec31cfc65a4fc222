"""Working a case from the profile with the keyboard only (issue 22, item 4): `?` lists the
profile's keys, `c` claims, `d` opens the dismiss note, Ctrl+Enter sends it, `n` goes on to the
next case in the queue's order, `q` back to the queue; "Dismiss, next case" and the note counter;
axe on every step."""

from decimal import Decimal

import pytest
from django.urls import reverse

from decisions.engine.services.recompute import decision_recompute
from decisions.models import AlertStatus, CaseNote, RiskAlert
from tests.decisions.scenarios import make_customer

from .helpers import assert_no_serious_axe_violations
from .test_queue import ensure_active_policy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_cases(db):
    """Two flagged accounts: over-borrowing (severity lower) and 35 days overdue (more severe)."""
    ensure_active_policy()
    over = make_customer(bureau={"score": 720, "external_lenders": 6, "external_debt": Decimal("500.00")})
    overdue = make_customer(overdue_days=35)
    decision_recompute(customer=over, trigger="manual")
    decision_recompute(customer=overdue, trigger="overdue")
    return over, overdue


def profile(live_server, customer) -> str:
    return live_server.url + reverse("decisions:customer", kwargs={"external_id": customer.external_id})


def test_an_analyst_claims_dismisses_and_moves_on_with_the_keyboard(page, live_server, login, analyst, two_cases):
    over, overdue = two_cases
    alert = RiskAlert.objects.filter(customer=over, status__in=RiskAlert.OPEN_STATUSES).order_by("-severity").first()
    login(page, live_server, analyst)
    page.goto(profile(live_server, over))
    page.get_by_role("heading", name="Work this case").wait_for()
    assert_no_serious_axe_violations(page)

    # `?` lists the profile's keys, with the queue's order for `n`
    page.get_by_role("heading", name="Work this case").click()
    page.keyboard.press("?")
    help_dialog = page.locator("#kbd-help")
    help_dialog.wait_for(state="visible")
    text = help_dialog.inner_text()
    for phrase in ("Claim this account", "Dismiss the current alert", "Confirm the current alert as a real risk",
                   "Done, next case", "highest severity, then nearest SLA deadline, then oldest", "Back to the queue"):
        assert phrase in text
    assert_no_serious_axe_violations(page)
    page.keyboard.press("Escape")
    help_dialog.wait_for(state="hidden")

    # `c` claims the account
    with page.expect_navigation():
        page.keyboard.press("c")
    page.get_by_text("You are working on this account.").wait_for()
    assert set(RiskAlert.objects.filter(customer=over, status__in=RiskAlert.OPEN_STATUSES).values_list("assigned_to", flat=True)) == {analyst.pk}

    # `d` puts the cursor in the current alert's dismiss note (the key itself is not typed)
    page.locator("body").press("d")
    note = page.locator(f"#note-{alert.pk}")
    assert note.evaluate("el => el === document.activeElement")
    assert note.input_value() == ""
    page.keyboard.type("Old lenders closed; bureau file is stale.")
    # the counter follows what is typed
    assert page.locator(f"#note-count-{alert.pk}").inner_text() == "41 of 5,000 characters"
    # Ctrl+Enter sends the dismissal (htmx swaps the alert's block)
    page.keyboard.press("Control+Enter")
    page.locator(f"#alert-actions-{alert.pk}").get_by_text("dismissed as a false positive").wait_for()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.DISMISSED
    assert CaseNote.objects.filter(alert=alert, body="Old lenders closed; bureau file is stale.").exists()

    # `n`: done, the next case in the queue's order opens, and it is this analyst's
    page.locator("h1").click()
    with page.expect_navigation():
        page.keyboard.press("n")
    assert page.url == profile(live_server, overdue)
    assert RiskAlert.objects.filter(customer=overdue, assigned_to=analyst).exists()
    page.get_by_text(f"Next case: {overdue.external_id} is yours.").wait_for()
    assert_no_serious_axe_violations(page)

    # `q`: back to the queue
    with page.expect_navigation():
        page.keyboard.press("q")
    assert page.url.split("?")[0] == live_server.url + reverse("decisions:queue")


def test_dismiss_next_case_button_goes_on_then_back_to_the_queue_when_none_is_left(page, live_server, login, analyst, two_cases):
    over, overdue = two_cases
    login(page, live_server, analyst)
    page.goto(profile(live_server, overdue))
    alert = RiskAlert.objects.filter(customer=overdue, status__in=RiskAlert.OPEN_STATUSES).order_by("-severity").first()
    # Confirm with "Confirm, next case": the other account opens
    page.fill(f"#confirm-note-{alert.pk}", "Overdue 35 days; no payment plan.")
    with page.expect_navigation():
        page.locator(f"#alert-actions-{alert.pk} button[data-confirm-next]").click()
    assert page.url == profile(live_server, over)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.CONFIRMED
    # The confirmation never talked about suppression
    assert "uppress" not in page.locator("main").inner_text()

    # Dismiss every open alert of this one with "Dismiss, next case": nothing waits, back to the queue
    for each in RiskAlert.objects.filter(customer=over, status__in=RiskAlert.OPEN_STATUSES):
        page.goto(profile(live_server, over))
        page.fill(f"#note-{each.pk}", "Stale bureau file.")
        with page.expect_navigation():
            page.locator(f"#alert-actions-{each.pk} button[data-dismiss-next]").click()
    assert page.url.split("?")[0] == live_server.url + reverse("decisions:queue")
    page.get_by_text("No unassigned case is waiting: the queue is clear for now.").wait_for()
    assert_no_serious_axe_violations(page)


def test_compliance_sees_no_case_keys_but_can_go_back_to_the_queue(page, live_server, login, compliance_officer, two_cases):
    over, _overdue = two_cases
    login(page, live_server, compliance_officer)
    page.goto(profile(live_server, over))
    page.locator("h1").click()
    page.keyboard.press("?")
    text = page.locator("#kbd-help").inner_text()
    assert "Back to the queue" in text and "Claim this account" not in text and "Dismiss the current alert" not in text
    page.keyboard.press("Escape")
    page.keyboard.press("c")  # nothing to claim: the page stays
    assert page.url == profile(live_server, over)
    assert_no_serious_axe_violations(page)

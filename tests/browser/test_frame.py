"""The frame in a real browser: logging in, navigation by role, language, accessibility, lockout."""

import pytest
from django.urls import reverse

from riskops.core.models import AuditEvent

from .helpers import BROWSER_PASSWORD, assert_no_serious_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _nav_labels(page) -> list[str]:
    return [t.strip() for t in page.locator("nav.mainnav a").all_inner_texts()]


@pytest.fixture
def csp_violations(page):
    """Console reports of anything the Content-Security-Policy blocked on the page."""
    seen: list[str] = []
    page.on("console", lambda msg: seen.append(msg.text) if "Content Security Policy" in msg.text else None)
    return seen


def test_analyst_logs_in_through_the_form_and_lands_on_the_overview(page, live_server, login, analyst):
    login(page, live_server, analyst)

    assert page.url == live_server.url + reverse("decisions:overview")
    assert _nav_labels(page) == ["Overview", "Queue", "Runs"]
    assert page.locator("nav.mainnav a[aria-current=page]").inner_text() == "Overview"
    page.click("details.usermenu summary")
    assert page.locator(".usermenu-panel").inner_text().startswith("Roles: analyst")


def test_risk_admin_also_gets_the_admin_link_and_the_action_that_compliance_does_not(
    page, live_server, login, risk_admin, compliance_officer, browser
):
    login(page, live_server, risk_admin, next_url=reverse("decisions:runs"))
    assert "Admin" in _nav_labels(page)
    assert page.get_by_role("link", name="Start a full recompute…").count() == 1

    other = browser.new_context().new_page()
    login(other, live_server, compliance_officer, next_url=reverse("decisions:runs"))
    assert _nav_labels(other) == ["Overview", "Queue", "Runs", "Compliance"]
    assert other.get_by_role("link", name="Start a full recompute…").count() == 0
    other.context.close()


def test_anonymous_visitor_is_sent_to_the_login_page(page, live_server):
    page.goto(live_server.url + reverse("decisions:runs"))

    assert page.url.startswith(live_server.url + reverse("login"))
    assert page.get_by_role("heading", name="Log in to RiskOps").is_visible()


def test_user_without_a_role_gets_the_403_page_in_the_frame(page, live_server, login, make_user):
    nobody = make_user("nobody")

    login(page, live_server, nobody, next_url=reverse("decisions:runs"))
    response = page.goto(live_server.url + reverse("decisions:runs"))

    assert response.status == 403
    assert page.get_by_role("heading", name="You cannot open this page").is_visible()
    assert page.locator("nav.mainnav").count() == 0  # no links to pages it cannot open
    assert_no_serious_axe_violations(page)


def test_switching_to_chinese_shows_the_frame_in_chinese_and_it_sticks(page, live_server, login, analyst):
    login(page, live_server, analyst)

    with page.expect_navigation():
        page.click("form.langswitch button[value=zh-hans]")

    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert _nav_labels(page) == ["概览", "队列", "重算"]
    page.goto(live_server.url + reverse("decisions:runs"))
    assert page.get_by_role("heading", name="重算记录").is_visible()


def test_question_mark_opens_the_shortcut_help_but_not_while_typing(page, live_server, login, analyst):
    login(page, live_server, analyst)
    page.goto(live_server.url + reverse("login"))  # a page with a text field

    page.focus("#id_username")
    page.keyboard.type("?")
    assert not page.locator("#kbd-help").is_visible()
    assert page.input_value("#id_username").endswith("?")

    page.locator("h1").click()  # focus leaves the field
    page.keyboard.press("?")
    assert page.locator("#kbd-help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#kbd-help").is_visible()


def test_registered_page_keys_run_and_are_listed_in_the_help(page, live_server, login, analyst):
    login(page, live_server, analyst)
    page.evaluate(
        "window.RiskOpsKeys.register('x', 'Mark the test', function () { document.body.dataset.pressed = 'x'; })"
    )

    page.keyboard.press("x")
    page.keyboard.press("?")

    assert page.locator("body").get_attribute("data-pressed") == "x"
    assert page.locator("#kbd-help").get_by_text("Mark the test").is_visible()


@pytest.mark.parametrize("url_name", ["decisions:overview", "decisions:runs"])
def test_staff_pages_have_no_serious_accessibility_violations_and_nothing_blocked_by_csp(
    page, live_server, login, analyst, csp_violations, url_name
):
    login(page, live_server, analyst)
    page.goto(live_server.url + reverse(url_name))
    page.wait_for_load_state("networkidle")

    assert_no_serious_axe_violations(page)
    assert csp_violations == []


def test_login_page_has_no_serious_accessibility_violations(page, live_server, csp_violations):
    page.goto(live_server.url + reverse("login"))

    assert_no_serious_axe_violations(page)
    assert csp_violations == []


def test_five_wrong_passwords_lock_the_login_with_a_plain_page_and_an_audit_row(page, live_server, analyst):
    analyst.set_password(BROWSER_PASSWORD)
    analyst.save()
    page.goto(live_server.url + reverse("login"))

    for _ in range(5):
        page.fill("#id_username", analyst.username)
        page.fill("#id_password", "not-the-password")
        with page.expect_navigation():
            page.click("#login-form button[type=submit]")
        if page.locator("#login-form").count() == 0:
            break

    assert page.get_by_role("heading", name="Too many failed attempts").is_visible()
    assert AuditEvent.objects.filter(action="login.locked_out", target_id=analyst.username).exists()
    assert_no_serious_axe_violations(page)

    # The right password does not help while the lock lasts.
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", analyst.username)
    page.fill("#id_password", BROWSER_PASSWORD)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")
    assert page.get_by_role("heading", name="Too many failed attempts").is_visible()


def test_slash_focuses_the_pages_search_field(page, live_server, login, analyst):
    login(page, live_server, analyst, next_url=reverse("decisions:queue"))
    page.locator("h1").click()

    page.keyboard.press("/")

    assert page.evaluate("document.activeElement.hasAttribute('data-search')")
    page.keyboard.type("C00")  # the slash itself was not typed into the field
    assert page.evaluate("document.activeElement.value") == "C00"


def test_enter_on_a_button_or_disclosure_is_left_to_the_browser(page, live_server, login, analyst):
    login(page, live_server, analyst)
    page.evaluate("window.RiskOpsKeys.register('Enter', 'Open', function () { document.body.dataset.opened = '1'; })")

    page.focus("details.usermenu summary")
    page.keyboard.press("Enter")

    assert page.locator(".usermenu-panel").is_visible()  # the menu opened, as Enter does there
    assert page.locator("body").get_attribute("data-opened") is None
    page.locator("h1").click()
    page.keyboard.press("Enter")
    assert page.locator("body").get_attribute("data-opened") == "1"

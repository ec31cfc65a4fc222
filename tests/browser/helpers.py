"""Helpers shared by the browser tests (Playwright on Debian's Chromium against `live_server`)."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse

# The password the `login` fixture gives a user before typing it into the real login form.
BROWSER_PASSWORD = "pw-browser-123"
BLOCKING_IMPACTS = ("serious", "critical")

_axe = Axe()


def login_through_form(page, live_server, user, *, password: str | None = None, next_url: str = ""):
    """Log `user` in through the login page, as a person would. Returns the page, logged in.

    Without `password` the user gets BROWSER_PASSWORD first (tests make users with any hash).
    """
    if password is None:
        user.set_password(BROWSER_PASSWORD)
        user.save(update_fields=["password"])
        password = BROWSER_PASSWORD
    url = live_server.url + reverse("login") + (f"?next={next_url}" if next_url else "")
    page.goto(url)
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")
    if page.url.split("?")[0].endswith(reverse("login")):
        pytest.fail(f"login as {user.get_username()!r} failed; the page says: {page.inner_text('main')[:300]}")
    return page


def assert_no_serious_axe_violations(page, context: str | dict | None = None) -> None:
    """Run axe-core on the page as it is now; fail on any serious or critical violation, listing them."""
    results = _axe.run(page, context=context)
    blocking = [v for v in results.response["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    if blocking:
        lines = [f"axe-core found {len(blocking)} serious/critical violation(s) on {page.url}:"]
        for violation in blocking:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} [{violation['helpUrl']}]")
            for node in violation["nodes"][:5]:
                lines.append(f"    {', '.join(map(str, node['target']))}: {node.get('failureSummary', '').splitlines()[-1:]}")
        report = "\n".join(lines)
        print(report)
        pytest.fail(report, pytrace=False)

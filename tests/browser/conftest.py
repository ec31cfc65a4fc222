"""Browser-test fixtures. `browser_type_launch_args` (Debian's Chromium) and the skip when it is
missing live in tests/conftest.py; `page` comes from pytest-playwright, `live_server` from
pytest-django.

Write a browser test as:

    pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

    def test_x(page, live_server, login, analyst):
        login(page, live_server, analyst)
        page.goto(live_server.url + reverse("decisions:queue"))
        assert_no_serious_axe_violations(page)   # from tests.browser.helpers

A transactional test flushes every table when it ends: the role groups come back by themselves
(`post_migrate`), and tests/conftest.py puts the default policy v1 back before the next one.
"""

import pytest

from .helpers import login_through_form


@pytest.fixture
def login():
    """`login(page, live_server, user, password=None, next_url="")` logs in through the real form."""
    return login_through_form


@pytest.fixture(autouse=True)
def _page_default_timeout(request):
    # Fail in seconds, not in Playwright's default 30 s per step, when a page misbehaves.
    if "page" in request.fixturenames:
        request.getfixturevalue("page").set_default_timeout(10_000)

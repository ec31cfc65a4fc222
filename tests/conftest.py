import os
from datetime import datetime, time, timezone as dt_timezone

import pytest
import time_machine
from django.db import connection

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# Debian's Chromium: Playwright drives it directly (`playwright install` cannot download here).
CHROMIUM = os.environ.get("RISKOPS_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """pytest-playwright's launch options: the system Chromium, quiet and sandbox-free (CI runs as root)."""
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


# Tests marked `clock` run on a fixed time of day (UTC, today's date): 12:00 unless
# RISKOPS_TEST_CLOCK says otherwise. CI runs them once more with RISKOPS_TEST_CLOCK=00:06, the
# hour in which "now - 5 hours" lies on yesterday, so a test that quietly assumed midday fails
# there and not at whatever hour a submission happens to stop. Only the time of day is fixed:
# the date stays today's, so cookies the live server sets are not expired in the browser's eyes.
TEST_CLOCK = os.environ.get("RISKOPS_TEST_CLOCK", "12:00")


def test_clock_now() -> datetime:
    try:
        at = time.fromisoformat(TEST_CLOCK)
    except ValueError:
        raise pytest.UsageError(f"RISKOPS_TEST_CLOCK must be a time of day like 00:06, not {TEST_CLOCK!r}")
    return datetime.combine(datetime.now(dt_timezone.utc).date(), at, tzinfo=dt_timezone.utc)


@pytest.fixture(autouse=True)
def _fixed_clock(request):
    if request.node.get_closest_marker("clock") is None:
        yield None
        return
    # tick=True: time moves on from the fixed point, so timeouts and waits still work.
    with time_machine.travel(test_clock_now(), tick=True) as traveller:
        yield traveller


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://... (CI does)")
    skip_redis = pytest.mark.skip(reason="needs Redis and a Celery worker: set CELERY_BROKER_URL=redis://... (CI does)")
    skip_browser = pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM}: apt-get install chromium (CI does)")
    for item in items:
        if "browser" in item.keywords and not os.path.exists(CHROMIUM):
            item.add_marker(skip_browser)
        if "postgres" in item.keywords and not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not settings.CELERY_BROKER_URL:
            item.add_marker(skip_redis)


@pytest.fixture
def make_user(db):
    from django.contrib.auth.models import Group, User

    def make(username: str = "user", *roles: str, **extra) -> User:
        user = User.objects.create_user(username=username, password="pw-" + username + "-123", **extra)
        for role in roles:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def analyst(make_user):
    return make_user("ana", "analyst")


@pytest.fixture
def compliance_officer(make_user):
    return make_user("cora", "compliance")


@pytest.fixture
def risk_admin(make_user):
    return make_user("rita", "risk_admin", is_staff=True)


@pytest.fixture
def analyst_client(client, analyst):
    client.force_login(analyst)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness buys nothing in tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _celery_eager_unless_integration(request):
    """Unit tests run tasks in-process even when CI sets a broker; `redis` tests use a real worker."""
    from celery._state import _set_task_join_will_block

    from riskops.celery import app

    # Celery keeps "inside a task, joining would block" in one process-wide flag that every eager
    # task sets and restores; two threads running eager tasks at once (the concurrency tests)
    # can restore it in the wrong order and leave it set, so a later test's result.get() would
    # refuse to wait. Each test starts outside any task.
    _set_task_join_will_block(False)
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = "redis" not in request.keywords
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """A request in Chinese leaves its language active in the thread (the locale middleware
    activates it); the next test must not read its labels in Chinese because of who ran before."""
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Pages cache book-wide figures (FIGURES_TTL); a figure cached by one test must not be what
    the next test's page shows."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _default_policy_after_a_flush(request):
    """A transactional test ends with a flush of every table, which takes policy v1 (a data
    migration's row) with it; the role groups come back by themselves (`post_migrate`). Put v1
    back, from the migration's frozen literal, before each transactional test. (Not
    serialized_rollback: it re-inserts the serialized role groups on top of the ones post_migrate
    recreated, and fails on their unique names.)"""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        import importlib

        request.getfixturevalue("transactional_db")
        from django.utils import timezone

        from decisions.models import PolicyVersion

        if not PolicyVersion.objects.filter(state="active").exists():
            frozen = importlib.import_module("decisions.migrations.0003_default_policy")
            PolicyVersion.objects.update_or_create(
                version=1,
                defaults={"name": "Default scorecard and rules", "body": frozen.POLICY_V1, "state": "active", "activated_at": timezone.now()},
            )
    yield


@pytest.fixture
def largest_statement(db):
    """The most values any single statement bound while the test ran (SQLite's variable limit)."""
    seen = [0]

    def count(execute, sql, params, many, context):
        if params and not many:
            seen[0] = max(seen[0], len(params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield seen

"""Readiness: may this process take traffic, and is the system behind it doing its work?

`/readyz` (riskops/core/health_views.py) runs every check below and answers 503 when one fails.
The checks of the platform live here: the database answers, the broker answers, every migration
this code knows is applied, a Celery worker answers a ping. The checks of the domain belong to the
apps that own the data (the last nightly run: decisions; the last audit verification:
compliance) and are registered from their `AppConfig.ready`, so this lowest layer imports none
of them (docs/decisions/0003-layers-and-registries.md).

Every check is bounded in time: the database by `connect_timeout` and a statement timeout, the
broker by a socket timeout, the worker ping by RISKOPS_READYZ_WORKER_TIMEOUT. A check that raises
is a failed check named with the exception's class; what it said goes to the details, which only
a monitoring token or a monitoring network sees (`may_see_details`).
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

# The database statement timeout for a check's queries (PostgreSQL), in milliseconds.
STATEMENT_TIMEOUT_MS = 2000
DETAIL_CHARS = 200  # a failure's text is cut here: a probe needs the gist, not a traceback


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    ms: int


@dataclass(frozen=True)
class Readiness:
    ok: bool
    checks: tuple[CheckResult, ...]

    @property
    def failing(self) -> list[str]:
        return [check.name for check in self.checks if not check.ok]


class CheckFailed(Exception):
    """Raised by a check to fail with a message of its own (not an exception's class)."""


# A check takes the clock and returns what it found (a short sentence), or raises.
Check = Callable[[datetime], str]
_DATABASE_CHECKS: dict[str, Check] = {}


def register_database_check(name: str, check: Check) -> None:
    """A check that reads the database (run only when the database answers; inside a read-only
    transaction with a statement timeout). Registered from an app's `AppConfig.ready`."""
    _DATABASE_CHECKS[name] = check


def _text(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{exc.__class__.__name__}: {first}"[:DETAIL_CHARS] if first else exc.__class__.__name__


def _timed(name: str, check: Callable[[], str]) -> CheckResult:
    started = time.perf_counter()
    try:
        detail, ok = check(), True
    except CheckFailed as exc:
        detail, ok = str(exc)[:DETAIL_CHARS], False
    except Exception as exc:  # noqa: BLE001 - any failure is the answer, never a 500
        detail, ok = _text(exc), False
    return CheckResult(name, ok, detail, round((time.perf_counter() - started) * 1000))


def _bounded_read(check: Check, now: datetime) -> Callable[[], str]:
    """Run a database check in a transaction whose statements are cut off after a timeout."""

    def run() -> str:
        connection = connections[DEFAULT_DB_ALIAS]
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
            return check(now)

    return run


def _database() -> str:
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return f"{connection.vendor} answers"


_migrations_applied = False  # once all are applied they stay so for this process's code


def _migrations(now: datetime) -> str:
    global _migrations_applied
    if _migrations_applied:
        return "all applied"
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:3])
        raise CheckFailed(f"{len(plan)} not applied: {names}{', …' if len(plan) > 3 else ''}")
    _migrations_applied = True
    return "all applied"


def _broker() -> str:
    if not settings.CELERY_BROKER_URL:
        return "none configured: tasks run in-process"
    from kombu import Connection

    timeout = settings.RISKOPS_READYZ_BROKER_TIMEOUT
    options = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "socket_timeout": timeout, "socket_connect_timeout": timeout}
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=timeout, transport_options=options) as conn:
        # One attempt, no retry loop: a probe wants the answer now (kombu would retry for minutes).
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, interval_max=0, timeout=timeout)
    return "answers"


def _worker() -> str:
    if not settings.CELERY_BROKER_URL:
        return "none needed: tasks run in-process"
    from riskops.celery import app

    replies = app.control.ping(timeout=settings.RISKOPS_READYZ_WORKER_TIMEOUT) or []
    if not replies:
        raise CheckFailed(f"no worker answered a ping within {settings.RISKOPS_READYZ_WORKER_TIMEOUT:g} s")
    return f"{len(replies)} answered"


def readiness(*, now: datetime) -> Readiness:
    """Every check, in a fixed order: the database, the migrations, the broker, a worker, then the
    domain's. A check that needs a service that is down fails as "not checked" naming it."""
    results = [_timed("database", _database)]
    database_up = results[0].ok
    database_checks: dict[str, Check] = {"migrations": _migrations, **_DATABASE_CHECKS}
    broker = _timed("broker", _broker)

    def skipped(name: str, needs: str) -> CheckResult:
        return CheckResult(name, False, f"not checked: the {needs} is unavailable", 0)

    results.append(_timed("migrations", _bounded_read(_migrations, now)) if database_up else skipped("migrations", "database"))
    results.append(broker)
    results.append(_timed("worker", _worker) if broker.ok else skipped("worker", "broker"))
    for name, check in database_checks.items():
        if name == "migrations":
            continue
        results.append(_timed(name, _bounded_read(check, now)) if database_up else skipped(name, "database"))
    return Readiness(ok=all(r.ok for r in results), checks=tuple(results))


# --- who may read the details ----------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def may_see_details(*, authorization: str, remote_addr: str) -> bool:
    """True for `Authorization: Bearer <RISKOPS_MONITORING_TOKEN>` (compared in constant time) or
    a client address inside RISKOPS_MONITORING_NETWORKS. With neither set, nobody: the probes
    still get their status code and `{"status": ...}`."""
    token = settings.RISKOPS_MONITORING_TOKEN
    scheme, _, offered = authorization.partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(offered.strip().encode(), token.encode()):
        return True
    networks = _networks(tuple(settings.RISKOPS_MONITORING_NETWORKS))
    if not networks or not remote_addr:
        return False
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in network for network in networks)

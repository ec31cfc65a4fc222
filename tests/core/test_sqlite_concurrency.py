"""The SQLite demo under a few people at once: writers and readers on one file never see
"database is locked" (riskops/settings.py, RISKOPS_SQLITE_OPTIONS: WAL, BEGIN IMMEDIATE, a busy
timeout). Runs on a SQLite file of its own whatever the suite's database is, through Django's
own SQLite backend with the settings' options, one connection per thread as under runserver.

The workload is the one that failed: transactions that read and then write (a recompute, an
audited export) while others read a whole table (an export). Under the old options a deferred
transaction that had read asked for the write lock mid-way and failed at once with SQLITE_BUSY,
which no busy timeout waits out.
"""

import threading
import time

import pytest
from django.conf import settings
from django.db import OperationalError, connections, transaction

WRITERS, READERS, ROUNDS = 4, 3, 25


ALIAS = "sqlite_demo"


def _connections(path):
    """Django's connections with one more alias, a SQLite file with the settings' options; each
    thread that asks for it gets its own connection, and `transaction.atomic(using=ALIAS)` is
    Django's own BEGIN (IMMEDIATE or not)."""
    connections.settings[ALIAS] = connections.configure_settings({"default": dict(connections.settings["default"]), ALIAS: {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": dict(settings.RISKOPS_SQLITE_OPTIONS),
    }})[ALIAS]
    return connections


def test_the_sqlite_options_are_wal_immediate_with_a_busy_timeout():
    options = settings.RISKOPS_SQLITE_OPTIONS
    assert "journal_mode=WAL" in options["init_command"] and "synchronous=NORMAL" in options["init_command"]
    assert options["transaction_mode"] == "IMMEDIATE" and options["timeout"] >= 5
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        assert settings.DATABASES["default"]["OPTIONS"] == options


@pytest.fixture(autouse=True)
def _own_database(django_db_blocker):
    # A database file of the test's own, not the suite's test database: pytest-django's guard
    # stands aside for it.
    with django_db_blocker.unblock():
        yield
    if ALIAS in connections.settings:
        connections[ALIAS].close()
        del connections[ALIAS]
        del connections.settings[ALIAS]


def test_concurrent_writers_and_readers_never_see_a_locked_database(tmp_path):
    handler = _connections(tmp_path / "demo.sqlite3")
    with handler[ALIAS].cursor() as cursor:
        cursor.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, who TEXT NOT NULL, n INTEGER NOT NULL)")
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
    handler[ALIAS].close()

    errors: list[str] = []
    read_counts: list[int] = []
    barrier = threading.Barrier(WRITERS + READERS)

    def writer(i: int) -> None:
        connection = handler[ALIAS]  # this thread's own connection
        try:
            barrier.wait()
            for n in range(ROUNDS):
                with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                    # Read, then write in the same transaction: the pattern that failed.
                    cursor.execute("SELECT COUNT(*) FROM ledger WHERE who = %s", [f"w{i}"])
                    seen = cursor.fetchone()[0]
                    time.sleep(0.002)  # the work between the read and the write, where another writer gets in
                    cursor.execute("INSERT INTO ledger (who, n) VALUES (%s, %s)", [f"w{i}", seen])
        except OperationalError as exc:
            errors.append(f"writer {i}: {exc}")
        finally:
            connection.close()

    def reader(i: int) -> None:
        connection = handler[ALIAS]
        try:
            barrier.wait()
            for _ in range(ROUNDS):
                with connection.cursor() as cursor:
                    cursor.execute("SELECT id, who, n FROM ledger ORDER BY id")
                    read_counts.append(len(cursor.fetchall()))
        except OperationalError as exc:
            errors.append(f"reader {i}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    threads += [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    with handler[ALIAS].cursor() as cursor:
        cursor.execute("SELECT who, COUNT(*), MAX(n) FROM ledger GROUP BY who ORDER BY who")
        rows = cursor.fetchall()
    handler[ALIAS].close()
    # Every write landed, and each writer's reads saw its own earlier writes (serialised, not lost).
    assert rows == [(f"w{i}", ROUNDS, ROUNDS - 1) for i in range(WRITERS)]
    assert len(read_counts) == READERS * ROUNDS


def test_the_same_workload_fails_under_deferred_transactions(tmp_path, settings):
    """The control: without IMMEDIATE the workload above does hit "database is locked", so the
    test above proves the options and not a lucky schedule."""
    settings.RISKOPS_SQLITE_OPTIONS = {**settings.RISKOPS_SQLITE_OPTIONS, "transaction_mode": None, "timeout": 0.05}
    handler = _connections(tmp_path / "demo.sqlite3")
    with handler[ALIAS].cursor() as cursor:
        cursor.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, who TEXT NOT NULL, n INTEGER NOT NULL)")
    handler[ALIAS].close()
    errors: list[str] = []
    barrier = threading.Barrier(WRITERS)

    def writer(i: int) -> None:
        connection = handler[ALIAS]
        try:
            barrier.wait()
            for n in range(ROUNDS * 4):
                try:
                    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                        cursor.execute("SELECT COUNT(*) FROM ledger WHERE who = %s", [f"w{i}"])
                        seen = cursor.fetchone()[0]
                        time.sleep(0.002)
                        cursor.execute("INSERT INTO ledger (who, n) VALUES (%s, %s)", [f"w{i}", seen])
                except OperationalError as exc:
                    errors.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert any("locked" in error for error in errors)

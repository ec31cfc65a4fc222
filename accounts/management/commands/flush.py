"""`flush`, as Django's, except that on SQLite it lifts the disclosure guard for its own statements.

Migration accounts/0004 makes accounts_disclosure refuse UPDATE and DELETE. PostgreSQL's flush is a
TRUNCATE, which no row trigger sees; SQLite's is `DELETE FROM`, which the guard would refuse, so
the test runner's flush after each transactional test (and `manage.py flush`, which empties the
whole database on purpose) drops the SQLite triggers, flushes, and puts them back.
"""

from django.core.management.commands.flush import Command as DjangoFlush
from django.db import DEFAULT_DB_ALIAS, connections

# The triggers of migration accounts/0004 (which keeps its own frozen copy of this SQL).
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS accounts_disclosure_no_update",
    "DROP TRIGGER IF EXISTS accounts_disclosure_no_delete",
]
SQLITE_CREATE = SQLITE_DROP + [
    "CREATE TRIGGER accounts_disclosure_no_update BEFORE UPDATE ON accounts_disclosure "
    "BEGIN SELECT RAISE(ABORT, 'accounts_disclosure is immutable: UPDATE is not allowed (publish a new version)'); END",
    "CREATE TRIGGER accounts_disclosure_no_delete BEFORE DELETE ON accounts_disclosure "
    "BEGIN SELECT RAISE(ABORT, 'accounts_disclosure is immutable: DELETE is not allowed (publish a new version)'); END",
]


def _execute(connection, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


class Command(DjangoFlush):
    def handle(self, **options):
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        if connection.vendor != "sqlite":
            return super().handle(**options)
        _execute(connection, SQLITE_DROP)
        try:
            return super().handle(**options)
        finally:
            if "accounts_disclosure" in connection.introspection.table_names():
                _execute(connection, SQLITE_CREATE)

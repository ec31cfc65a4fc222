"""A cursor whose statements PostgreSQL parses and plans once per connection, for hot reads.

Django turns psycopg's automatic prepared statements off (`prepare_threshold=None`, so that
transaction-mode connection poolers keep working) and binds parameters on the client, so every
execution of a statement is parsed and planned again. For the draw check's single read that
planning was most of PostgreSQL's work: `EXPLAIN ANALYZE` on the bench book showed 1.7 ms of
planning for 0.2–0.9 ms of execution, on the same two cores as the request path. This cursor
binds on the server and executes with `prepare=True`: psycopg prepares the statement on its
first use on a connection and reuses it after (its cache is per connection, up to
`prepared_max` statements; a new connection prepares again).

Use it only for a few fixed statements on the hot path: only statements executed through it are
prepared (the connection's threshold is set out of reach, so psycopg never prepares anything on
its own). Behind a transaction-mode pooler prepared statements need the pooler's support
(PgBouncer ≥ 1.21, `max_prepared_statements`); `RISKOPS_PREPARED_STATEMENTS=false` turns them
off, and this is then the ordinary cursor, as it is on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections

# psycopg prepares a statement seen this many times, or one executed with prepare=True: out of
# reach, so only this module's statements are prepared.
ONLY_WHEN_ASKED = 2**62


def _classes():
    from django.db.backends.postgresql.base import CursorDebugWrapper, ServerBindingCursor
    from django.db.backends.utils import CursorWrapper

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            if self._conn.prepare_threshold is None:  # Django connects with preparation off
                self._conn.prepare_threshold = ONLY_WHEN_ASKED
            return super().execute(query, params, prepare=True, binary=binary)

    class PreparedDebugWrapper(CursorDebugWrapper):
        # psycopg keeps no "last query" for a prepared execution, so Django's log (DEBUG,
        # assertNumQueries) would say None: it logs the statement as written instead.
        def execute(self, sql, params=None):
            with self.debug_sql(sql, params):
                return CursorWrapper.execute(self, sql, params)

    return PreparingCursor, PreparedDebugWrapper


_cursor_classes: list = []


@contextmanager
def prepared_cursor() -> Iterator:
    """Django's cursor wrapper (errors translated, queries logged and counted as usual) around a
    server-binding psycopg cursor that prepares what it executes."""
    if connection.vendor != "postgresql" or not settings.RISKOPS_PREPARED_STATEMENTS:
        with connection.cursor() as cursor:
            yield cursor
        return
    if not _cursor_classes:
        _cursor_classes.extend(_classes())
    preparing, debug_wrapper = _cursor_classes
    db = connections[DEFAULT_DB_ALIAS]  # the proxy `connection` costs a lookup per attribute
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    with db.wrap_database_errors:
        raw = preparing(db.connection)
    wrapped = debug_wrapper(raw, db) if db.queries_logged else db.make_cursor(raw)
    with wrapped as cursor:
        yield cursor

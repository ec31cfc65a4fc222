"""Rows to model instances and back, without the ORM's query compiler, for the hot path.

For the few statements on the hot path of every request (the API token lookup, the draw check's
append-only record), where compiling the
ORM query costs several times what the query itself does (measured: ~0.65 ms of CPU for
`select_related(...).filter(...).first()` against ~0.12 ms for the same SELECT by hand, on
PostgreSQL). The values go through the converters the ORM's compiler applies (the backend's
and the field's: JSON text to objects, SQLite's text datetimes and integer booleans), and the
instance is built with `Model.from_db`, so it behaves as a queried one (saved state, the other
fields deferred as with `.only()`). `insert_row` is the other direction: one INSERT … RETURNING
with the values prepared by each field (`get_db_prep_save`, as `save()` does), as a prepared
statement on PostgreSQL. It sends no signals and runs no `pre_save` (no `auto_now`): use it for
plain append-only records only.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, connections, models

from .prepared import prepared_cursor

# (vendor, model, attname) → (column expression, converters): computed once per process.
_plans: dict[tuple[str, type, str], tuple[Any, list]] = {}


def _plan(alias: str, model: type[models.Model], attname: str) -> tuple[Any, list]:
    connection = connections[alias]
    key = (connection.vendor, model, attname)
    if key not in _plans:
        field = next(f for f in model._meta.concrete_fields if f.attname == attname)
        column = field.get_col(model._meta.db_table)
        _plans[key] = (column, connection.ops.get_db_converters(column) + column.get_db_converters(connection))
    return _plans[key]


def instance_from_row(model: type[models.Model], values: dict[str, Any], *, alias: str = "default") -> models.Model:
    """A `model` instance loaded from `values` ({attname: database value}, e.g. "client_id")."""
    connection = connections[alias]
    names, converted = [], []
    for field in model._meta.concrete_fields:  # from_db takes the values in the fields' order
        if field.attname not in values:
            continue
        value = values[field.attname]
        column, converters = _plan(alias, model, field.attname)
        for converter in converters:
            value = converter(value, column, connection)
        names.append(field.attname)
        converted.append(value)
    return model.from_db(alias, names, converted)


_insert_sql: dict[tuple[str, type, tuple[str, ...], bool], str] = {}


def insert_row(model: type[models.Model], *, values: dict[str, Any], async_commit: bool = False) -> models.Model:
    """INSERT one row of `model` ({attname: value}) and return it as a saved instance with its pk.

    `async_commit`: on PostgreSQL, when the INSERT is its own transaction (autocommit, no atomic
    block around it), commit it without waiting for its WAL to reach the disk
    (`synchronous_commit = off` for this one transaction, set inside the statement so it costs no
    round trip). The row is visible to every other session at once, as any committed row; what
    changes is durability: a crash of the database server (not of this process) can lose the
    rows committed in the last moments before it (at most 3 × `wal_writer_delay`, 600 ms by
    default), never half a row and never anything else. Inside an atomic block the INSERT is
    plain: the enclosing transaction decides, and is never downgraded from here."""
    fields = [field for field in model._meta.concrete_fields if field.attname in values]
    names = tuple(field.attname for field in fields)
    asynchronous = async_commit and connection.vendor == "postgresql" and not connection.in_atomic_block
    key = (connection.vendor, model, names, asynchronous)
    returning = connection.features.can_return_columns_from_insert  # SQLite before 3.35: lastrowid
    if key not in _insert_sql:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        if asynchronous:
            # set_config(..., is_local => true) lasts until this statement's own transaction ends,
            # and PostgreSQL reads synchronous_commit when it writes that transaction's commit.
            insert = (
                "WITH commit_mode AS (SELECT set_config('synchronous_commit', 'off', true)) "
                f"INSERT INTO {quote(model._meta.db_table)} ({columns}) SELECT {placeholders} FROM commit_mode"
            )
        else:
            insert = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
        _insert_sql[key] = insert + (f" RETURNING {quote(model._meta.pk.column)}" if returning else "")
    params = [field.get_db_prep_save(values[field.attname], connection) for field in fields]
    with prepared_cursor() as cursor:
        cursor.execute(_insert_sql[key], params)
        pk = cursor.fetchone()[0] if returning else cursor.lastrowid
    instance = model(**values)
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance

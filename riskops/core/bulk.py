"""Fast set-based inserts: COPY on PostgreSQL, executemany elsewhere.

Rows are tuples in the order of `columns`, holding Python values (str for Decimals is fine).
Used by the seeder and by chunked recomputes, where per-row `save()` would be far too slow.
"""

import json
from typing import Any, Iterable, Sequence

from django.db import connection, models
from django.db.models import Max


def copy_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """Insert rows into model's table; returns how many. Call inside a transaction."""
    fields = [model._meta.get_field(c) for c in columns]
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    count = 0
    if connection.vendor == "postgresql":
        json_positions = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    if json_positions:
                        row = list(row)
                        for i in json_positions:
                            row[i] = json.dumps(row[i])
                    copy.write_row(row)
                    count += 1
        return count
    placeholders = ", ".join(["%s"] * len(fields))
    prepared = [tuple(f.get_db_prep_save(v, connection) for f, v in zip(fields, row)) for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({placeholders})", prepared)
    return len(prepared)


def next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1


def reset_sequences(*model_classes: type[models.Model]) -> None:
    """After inserting explicit ids, move each table's id sequence past them (PostgreSQL)."""
    from django.core.management.color import no_style

    statements = connection.ops.sequence_reset_sql(no_style(), list(model_classes))
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def insert_objects(model: type[models.Model], objs: list[models.Model]) -> list[models.Model]:
    """Insert unsaved instances and set their primary keys; COPY on PostgreSQL.

    bulk_create binds every value as a parameter, which costs more than the insert itself for a
    chunk of thousands of wide rows. Here ids come from the table's own sequence in one query
    and the rows go in by COPY. Elsewhere this is plain bulk_create.
    """
    if not objs:
        return objs
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs)
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(objs)]
        )
        ids = [row[0] for row in cursor.fetchall()]
    for obj, pk in zip(objs, ids):
        obj.pk = pk
    fields = [f for f in model._meta.concrete_fields]
    quoted = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.connection.cursor() as cursor:
        with cursor.copy(f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields])
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias
    return objs

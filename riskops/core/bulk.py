"""Fast set-based writes: COPY on PostgreSQL, multi-row INSERTs batched under the variable limit
elsewhere.

Rows are tuples in the order of `columns`, holding Python values (str for Decimals is fine).
Used by the seeder and by chunked recomputes, where per-row `save()` would be far too slow.

SQLite refuses a statement that binds more variables than its limit (999 in Django's portable
assumption, `features.max_query_params`; builds differ: 32,766 by default since 3.32, 250,000 on
Debian). A seeding chunk of 2,000 customers is about 100,000 transaction rows × 8 columns, so
every non-COPY path here splits its statement into batches the backend accepts, and
`ids_param` lets an `__in` filter over a whole chunk of ids bind one parameter instead of
thousands.
"""

import json
import uuid
from itertools import islice
from typing import Any, Collection, Iterable, Iterator, Sequence

from django.db import connection, models
from django.db.models import Max
from django.db.models.expressions import RawSQL


# Below this many rows the plain ORM statement beats COPY's extra round trips (single recomputes).
SMALL_BATCH = 50


def copy_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """Insert rows into model's table; returns how many. Call inside a transaction."""
    fields = [model._meta.get_field(c) for c in columns]
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    count = 0
    if connection.vendor == "postgresql" and not (isinstance(rows, list) and len(rows) < SMALL_BATCH):
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
    # Multi-row INSERTs (one round trip per batch; COPY costs several), each batch under the
    # backend's variable limit: one statement for the whole chunk is what failed on SQLite.
    rows = iter(rows)
    batch_size = max(1, connection.ops.bulk_batch_size(fields, [None] * _UNBOUNDED_ROWS))
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for batch in _batches(rows, batch_size):
            params = [f.get_db_prep_save(v, connection) for row in batch for f, v in zip(fields, row)]
            cursor.execute(f"INSERT INTO {table} ({cols}) VALUES {', '.join([row_sql] * len(batch))}", params)
            count += len(batch)
    return count


# bulk_batch_size(fields, objs) answers len(objs) when the backend has no limit (PostgreSQL);
# the rows here may be a generator, so it is asked about a notional batch of this many rows.
_UNBOUNDED_ROWS = 5_000


def _batches(rows: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    while batch := list(islice(rows, size)):
        yield batch


def ids_param(ids: Collection[int]) -> "Collection[int] | RawSQL":
    """A value for `field__in=` that is safe for any number of integer ids on every backend.

    Up to the backend's variable limit this is the ids themselves (a plain `IN (…)` the planner
    knows best). Beyond it, on SQLite, the ids travel as one JSON parameter unpacked by
    `json_each` (JSON1 is built into every SQLite Django supports): `IN (SELECT value FROM
    json_each(%s))`. PostgreSQL has no limit on client-side bound values, so ids pass through.
    """
    limit = connection.features.max_query_params
    if limit is None or len(ids) <= limit or connection.vendor != "sqlite":
        return ids
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps([int(i) for i in ids])])


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
    and the rows go in by COPY. Elsewhere this is plain bulk_create, which already splits its
    INSERTs by `connection.ops.bulk_batch_size` (999 variables on SQLite).
    """
    if not objs:
        return objs
    if connection.vendor != "postgresql" or len(objs) < SMALL_BATCH:
        return model.objects.bulk_create(objs)
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(objs)]
        )
        ids = [row[0] for row in cursor.fetchall()]
    for obj, pk in zip(objs, ids):
        obj.pk = pk
    _copy_objects(table, list(model._meta.concrete_fields), objs)
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias
    return objs


def _copy_objects(table: str, fields: list, objs: list[models.Model]) -> None:
    # Values go to COPY as Python objects psycopg adapts itself (int, str, Decimal, datetime,
    # None); only JSON needs encoding. Far cheaper than get_db_prep_save per field and row.
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    attnames = [f.attname for f in fields]
    quoted = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.connection.cursor() as cursor:
        with cursor.copy(f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row(
                    [_json(getattr(obj, a)) if a in json_fields else getattr(obj, a) for a in attnames]
                )


def _json(value: Any) -> str:
    from django.core.serializers.json import DjangoJSONEncoder

    return json.dumps(value, cls=DjangoJSONEncoder)


def update_objects(model: type[models.Model], objs: list[models.Model], fields: Sequence[str]) -> None:
    """Write `fields` of existing rows in one statement; on PostgreSQL via COPY into a temporary
    table and UPDATE … FROM (bulk_update builds a CASE per row and field: ten times slower)."""
    if not objs:
        return
    if len(objs) < SMALL_BATCH:
        # One plain UPDATE per row: bulk_update's CASE expressions cost ~10 ms of Python even
        # for a single row, which is most of a single-customer recompute. Each binds only its
        # own row's values, so no variable limit applies.
        for obj in objs:
            obj.save(update_fields=list(fields))
        return
    if connection.vendor != "postgresql":
        # SQLite: the same one-row UPDATE, prepared once and run for every row (executemany).
        # Model.save() costs ~0.5 ms of Python a row: most of a replayed night on the demo book.
        meta = model._meta
        concrete = [meta.get_field(name) for name in fields]
        qn = connection.ops.quote_name
        sql = (
            f"UPDATE {qn(meta.db_table)} SET {', '.join(f'{qn(f.column)} = %s' for f in concrete)} "
            f"WHERE {qn(meta.pk.column)} = %s"
        )
        rows = [
            [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in concrete] + [obj.pk] for obj in objs
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
        return
    meta = model._meta
    concrete = [meta.pk] + [meta.get_field(name) for name in fields]
    temp = f"tmp_update_{uuid.uuid4().hex[:12]}"
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in concrete)
    with connection.cursor() as cursor:
        # The columns' types without their constraints; dropped with the transaction.
        cursor.execute(f"CREATE TEMPORARY TABLE {qn(temp)} ON COMMIT DROP AS SELECT {columns} FROM {qn(meta.db_table)} WITH NO DATA")
    _copy_objects(temp, concrete, objs)
    assignments = ", ".join(f"{qn(f.column)} = t.{qn(f.column)}" for f in concrete[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(meta.db_table)} AS m SET {assignments} FROM {qn(temp)} AS t WHERE m.{qn(meta.pk.column)} = t.{qn(meta.pk.column)}"
        )


def refresh_planner_statistics(*model_classes: type[models.Model]) -> None:
    """ANALYZE the tables of these models after a bulk load into them, on PostgreSQL.

    Autovacuum does it on a normal server some time after the load; where it is off, or before it
    wakes up, the planner costs a table of millions of rows as the few thousand it had at its last
    ANALYZE, and may pick a bitmap scan of a low-selectivity index for every one of 100,000 probes
    (seen: the monitoring query went from 1 s to 56 s). Only the tables loaded: the others keep
    the statistics they have."""
    if connection.vendor == "postgresql" and model_classes:
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in model_classes)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {tables}")

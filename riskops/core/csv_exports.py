"""Streamed, audited CSV exports, shared by every app that exports (compliance/export_views.py,
decisions/casework/queue_export.py).

Memory stays flat whatever the row count: rows come from a queryset `.iterator(chunk_size=...)`
(a server-side cursor on PostgreSQL), are written a few hundred at a time into a small buffer
and handed to `StreamingHttpResponse`; nothing holds the list of rows or counts them first.

Every export is recorded twice in the audit trail, each in its own transaction (the request's is
long gone when a streamed body is sent): `export.start` (who, which export, which filters) before
the first byte leaves, so an export is on record even if the process is killed mid-stream (a
SIGKILL, the OOM killer, a gunicorn worker timeout: no `finally` runs then); and `export.csv`
when the stream ends, with how many rows were sent and whether it was complete.

A client that disconnects mid-stream: the WSGI server closes the response, Django closes our
generator, and its `finally` still records the event, with the rows sent so far and
`"complete": false`. Whatever reached the client is on record; a partial export is never
silent. (A generator closed before its first row never started: nothing left the server, and
nothing is recorded.)

Cells are written one way in every export: a time as `2024-05-01 14:05` in UTC (the file's name
ends in `-UTC` to say so once), a date as `2024-05-01`, an amount as its plain decimal with two
places (`12345.00`, which a spreadsheet sums; the pages add the currency and separators).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Iterator, Sequence

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from riskops.core.audit import audit_record
from riskops.core.formats import utc_when
from riskops.core.models import AuditAction

logger = logging.getLogger(__name__)

# Characters a spreadsheet reads as the start of a formula (OWASP "CSV injection"): = + - @,
# and tab / carriage return, which some spreadsheets strip before looking for those.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_WRITE = 500


def neutralise(value: Any) -> str:
    """One cell as text a spreadsheet shows instead of running: a leading formula character gets
    a `'` in front (the cell then reads as text, e.g. `'=HYPERLINK(...)`). Applied to every cell,
    numbers included: `-5` becomes `'-5`, the price of never running `-2+3+cmd|...`."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        text = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    elif isinstance(value, datetime):
        # As every page writes a time, in UTC (the file's name says so once): `2024-05-01 14:05`,
        # not ISO with seconds, microseconds and an offset in every cell.
        text = utc_when(value)
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    else:
        text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


@dataclass
class ExportRecord:
    """What the audit event says about one export; `rows` and `complete` fill in as it streams."""

    actor: Any
    name: str
    filters: dict[str, Any]
    rows: int = 0
    complete: bool = False
    recorded: bool = field(default=False, repr=False)


def _record_start(export: ExportRecord) -> None:
    with transaction.atomic():
        audit_record(
            actor=export.actor, action=AuditAction.EXPORT_START, target=("export", export.name),
            after={"export": export.name, "filters": export.filters},
        )


def _record(export: ExportRecord) -> None:
    if export.recorded:
        return
    export.recorded = True
    with transaction.atomic():
        audit_record(
            actor=export.actor,
            action=AuditAction.EXPORT_CSV,
            target=("export", export.name),
            after={
                "export": export.name,
                "filters": export.filters,
                "rows": export.rows,
                "complete": export.complete,
                "finished_at": timezone.now(),
            },
        )


def csv_stream(*, header: Sequence[str], rows: Iterable[Sequence[Any]], export: ExportRecord) -> Iterator[bytes]:
    """The CSV body in chunks of bytes (UTF-8 with a BOM, so spreadsheets pick the encoding for
    Chinese text), each cell neutralised; records the export when it ends, however it ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def take() -> bytes:
        chunk = buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        return chunk

    # On record before anything leaves; if this fails, nothing is sent.
    _record_start(export)
    # The body of a generator runs from the first next(): `finally` covers every way it ends
    # (exhausted, closed by a disconnect, a database error mid-stream).
    try:
        buffer.write("\ufeff")
        writer.writerow([neutralise(h) for h in header])
        yield take()
        pending = 0
        for row in rows:
            writer.writerow([neutralise(cell) for cell in row])
            pending += 1
            if pending == ROWS_PER_WRITE:
                # Counted as sent once handed to the server: a disconnect at this yield still
                # records these rows (they may well have reached the client).
                export.rows += pending
                pending = 0
                yield take()
        if pending:
            export.rows += pending
            yield take()
        export.complete = True
    finally:
        # Close the row source first: it may hold a read transaction (`stream_queryset`), and the
        # export's audit event must commit in a transaction of its own, not inside that one.
        close = getattr(rows, "close", None)
        if close is not None:
            close()
        try:
            _record(export)
        except Exception:
            # On a disconnect this runs inside Django's response.close(), which swallows errors:
            # say it loudly, an export missing from the trail must not go unnoticed.
            logger.exception("export.csv audit event NOT recorded: %s by %s, %s rows", export.name, export.actor, export.rows)
            raise


def csv_response(
    *, filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]], export: ExportRecord
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_stream(header=header, rows=rows, export=export), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    # The zone of every time in the file, named once: in its name (a CSV has no place for a note).
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}-UTC.csv"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def stream_queryset(qs: QuerySet, *, chunk_size: int) -> Iterator[Any]:
    """Rows of `qs`, `chunk_size` at a time, inside a read transaction.

    On PostgreSQL `.iterator()` reads through a server-side cursor. Outside a transaction Django
    declares it WITH HOLD, and PostgreSQL then materialises the whole result on the server when
    the DECLARE commits (a million rows written to a temp file before the first one is sent); in
    a transaction the cursor streams. The transaction is read-only work and ends with the rows."""
    with transaction.atomic(using=qs.db):
        yield from qs.iterator(chunk_size=chunk_size)


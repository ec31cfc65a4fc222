"""`make bench` (exports): stream the audit-trail CSV export of >= 1,000,000 events through the real
view and report rows, seconds and memory.

If the trail holds fewer events than `--rows`, synthetic ones are appended first, with a valid
chain (each hashed by `riskops.core.audit.event_hash` over the real tail), under the chain's
advisory lock, in batches written with COPY on PostgreSQL (bulk_create elsewhere). They are
labelled `target_type="bench.synthetic"` and, like every audit row, are never deleted.

The export is requested through Django's test client as a compliance user (full middleware,
session, the view, `StreamingHttpResponse`), and its `streaming_content` consumed chunk by chunk.
Memory: the process's resident set (VmRSS) is sampled after every chunk; the report gives it
before the export, its peak during it, and at 10/50/100 % of the rows: flat means streaming.
"""

from __future__ import annotations

import resource
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from riskops.core.audit import AUDIT_LOCK_KEY, GENESIS_HASH, canonical_json, event_hash
from riskops.core.models import AuditAction, AuditEvent
from riskops.core.roles import COMPLIANCE

SYNTHETIC_TYPE = "bench.synthetic"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Command(BaseCommand):
    help = "Measure a streamed CSV export of the audit trail (>= --rows events; appends synthetic ones if short)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=1_000_000, help="events the trail must hold before the export")
        parser.add_argument("--batch", type=int, default=50_000, help="synthetic events per insert transaction")

    def handle(self, *args, rows: int, batch: int, **options):
        have = AuditEvent.objects.count()
        if have < rows:
            started = time.perf_counter()
            self._append_synthetic(rows - have, batch)
            self.stdout.write(f"appended {rows - have:,} synthetic audit events in {time.perf_counter() - started:.1f} s")
        total = AuditEvent.objects.count()

        user, _ = User.objects.get_or_create(username="bench-compliance")
        user.groups.add(Group.objects.get(name=COMPLIANCE))
        client = Client(HTTP_HOST=(settings.ALLOWED_HOSTS or ["localhost"])[0].replace("*", "localhost"))
        client.force_login(user)

        rss_before = rss_mb()
        marks = {int(total * f): None for f in (0.1, 0.5)}
        peak, lines, size = rss_before, 0, 0
        started = time.perf_counter()
        response = client.get(reverse("compliance:export-audit"), secure=True)
        if response.status_code != 200:
            self.stderr.write(f"export answered {response.status_code}")
            return
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
            now = rss_mb()
            peak = max(peak, now)
            for mark in marks:
                if marks[mark] is None and lines >= mark:
                    marks[mark] = now
        # No response.close() here: the test client's wrapper closed it when the stream ended
        # (a second close fires request_finished again, which closes the database connection).
        seconds = time.perf_counter() - started
        rows_out = lines - 1  # the header
        recorded = AuditEvent.objects.filter(action=AuditAction.EXPORT_CSV, actor=user).order_by("-id").first()
        self.stdout.write(
            f"audit export: {rows_out:,} rows, {size / 1e6:,.0f} MB of CSV in {seconds:.1f} s "
            f"({rows_out / seconds:,.0f} rows/s)\n"
            f"  RSS before {rss_before:.0f} MB, peak during the export {peak:.0f} MB (+{peak - rss_before:.0f} MB); "
            f"at 10 % {marks[int(total * 0.1)] or 0:.0f} MB, 50 % {marks[int(total * 0.5)] or 0:.0f} MB, end {rss_mb():.0f} MB\n"
            f"  process peak (ru_maxrss, includes any synthetic insert above) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB\n"
            f"  audited: export.csv #{recorded.pk if recorded else '-'} rows={recorded.after.get('rows') if recorded else '-'} "
            f"complete={recorded.after.get('complete') if recorded else '-'}"
        )

    def _append_synthetic(self, count: int, batch: int) -> None:
        written = 0
        base = timezone.now()
        while written < count:
            n = min(batch, count - written)
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_KEY])
                prev = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS_HASH
                events = []
                for i in range(n):
                    seq = written + i
                    event = AuditEvent(
                        occurred_at=base + timedelta(microseconds=seq),
                        actor_id=None,
                        actor_label="system",
                        action=AuditAction.SEED_DEMO_BOOK.value,
                        target_type=SYNTHETIC_TYPE,
                        target_id=str(seq),
                        before={},
                        after={"n": seq, "note": "synthetic event for bench_audit_export"},
                        prev_hash=prev,
                    )
                    event.hash = prev = event_hash(event)
                    events.append(event)
                self._insert(events)
            written += n
            self.stdout.write(f"  {written:,} / {count:,}")

    def _insert(self, events: list[AuditEvent]) -> None:
        if connection.vendor != "postgresql":
            AuditEvent.objects.bulk_create(events, batch_size=2000)
            return
        columns = "occurred_at, actor_id, actor_label, action, target_type, target_id, before, after, prev_hash, hash"
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY core_auditevent ({columns}) FROM STDIN") as copy:
                for e in events:
                    copy.write_row(
                        (e.occurred_at, None, e.actor_label, e.action, e.target_type, e.target_id,
                         canonical_json(e.before), canonical_json(e.after), e.prev_hash, e.hash)
                    )

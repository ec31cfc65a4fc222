"""bench_audit_export on a small trail: it tops the trail up with a valid chain and streams the real export."""

import pytest
from django.core.management import call_command

from riskops.core.audit import audit_record, verify_chain
from riskops.core.models import AuditEvent


@pytest.mark.django_db
def test_bench_appends_a_valid_chain_and_streams_every_row(capsys):
    audit_record(actor=None, action="note.add", target=("t", 1))  # an existing tail to chain onto
    call_command("bench_audit_export", rows=1_234, batch=500)
    out = capsys.readouterr().out
    assert "appended 1,233 synthetic audit events" in out
    assert AuditEvent.objects.filter(target_type="bench.synthetic").count() == 1_233
    assert verify_chain(payload_checks=[]) == (AuditEvent.objects.count(), None)
    # the trail's 1,234 events and the export's own start event (recorded before the first byte)
    assert "audit export: 1,235 rows" in out and "peak during the export" in out
    export = AuditEvent.objects.get(action="export.csv")
    assert export.after["rows"] == 1_235 and export.after["complete"] is True
    # a second run finds enough events and appends none
    call_command("bench_audit_export", rows=1_000, batch=500)
    assert "appended" not in capsys.readouterr().out

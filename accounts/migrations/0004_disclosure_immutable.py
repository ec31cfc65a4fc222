"""Published disclosures are never edited or deleted: a change is a new version.

The database refuses UPDATE and DELETE on accounts_disclosure, on PostgreSQL (a trigger function,
like the audit trail's in core 0002) and on SQLite (RAISE(ABORT) triggers), so neither the admin,
nor `Disclosure.objects.filter(...).update(...)`, nor `.delete()`, nor raw SQL can rewrite what a
customer was shown. PostgreSQL's TRUNCATE (flush) fires no row trigger; on SQLite flush is a
DELETE, so accounts' `flush` command (accounts/management/commands/flush.py) lifts the SQLite triggers for its own statements only.

Also the indexes the compliance lists sort by: consents by grant time, acknowledgements by time.
"""

from django.db import migrations

PG_CREATE = """
CREATE OR REPLACE FUNCTION riskops_disclosure_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'accounts_disclosure is immutable: %% is not allowed (publish a new version)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS accounts_disclosure_immutable ON accounts_disclosure;
CREATE TRIGGER accounts_disclosure_immutable
    BEFORE UPDATE OR DELETE ON accounts_disclosure
    FOR EACH ROW EXECUTE FUNCTION riskops_disclosure_immutable();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS accounts_disclosure_immutable ON accounts_disclosure;
DROP FUNCTION IF EXISTS riskops_disclosure_immutable();
"""
# Statement lists: SQLite's executor runs one statement per execute().
SQLITE_CREATE = [
    "DROP TRIGGER IF EXISTS accounts_disclosure_no_update",
    "DROP TRIGGER IF EXISTS accounts_disclosure_no_delete",
    "CREATE TRIGGER accounts_disclosure_no_update BEFORE UPDATE ON accounts_disclosure "
    "BEGIN SELECT RAISE(ABORT, 'accounts_disclosure is immutable: UPDATE is not allowed (publish a new version)'); END",
    "CREATE TRIGGER accounts_disclosure_no_delete BEFORE DELETE ON accounts_disclosure "
    "BEGIN SELECT RAISE(ABORT, 'accounts_disclosure is immutable: DELETE is not allowed (publish a new version)'); END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS accounts_disclosure_no_update",
    "DROP TRIGGER IF EXISTS accounts_disclosure_no_delete",
]
INDEXES = [
    "CREATE INDEX IF NOT EXISTS consent_granted_idx ON accounts_consent (granted_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS ack_acknowledged_idx ON accounts_disclosureacknowledgement (acknowledged_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS ack_disclosure_time_idx ON accounts_disclosureacknowledgement (disclosure_id, acknowledged_at DESC, id DESC)",
]
INDEXES_DROP = [
    "DROP INDEX IF EXISTS consent_granted_idx",
    "DROP INDEX IF EXISTS ack_acknowledged_idx",
    "DROP INDEX IF EXISTS ack_disclosure_time_idx",
]


def _forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_CREATE)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_CREATE:
            schema_editor.execute(sql)
    for sql in INDEXES:
        schema_editor.execute(sql)


def _backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DROP)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_DROP:
            schema_editor.execute(sql)
    for sql in INDEXES_DROP:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_customer_language")]
    operations = [migrations.RunPython(_forward, _backward)]

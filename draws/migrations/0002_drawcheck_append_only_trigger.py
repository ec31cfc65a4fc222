"""On PostgreSQL the database itself refuses UPDATE and DELETE on the draw-check record."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION riskops_drawcheck_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'draws_drawcheck is append-only: %% is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS draws_drawcheck_append_only ON draws_drawcheck;
CREATE TRIGGER draws_drawcheck_append_only
    BEFORE UPDATE OR DELETE ON draws_drawcheck
    FOR EACH ROW EXECUTE FUNCTION riskops_drawcheck_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS draws_drawcheck_append_only ON draws_drawcheck;
DROP FUNCTION IF EXISTS riskops_drawcheck_append_only();
"""


def _run(sql):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("draws", "0001_initial")]
    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]

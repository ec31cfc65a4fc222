"""The header's customer search (decisions/casework/customer_search.py) served by an index on
PostgreSQL: trigram GIN indexes on the customer's upper-cased external id (`icontains` compares
UPPER(external_id) LIKE UPPER('%…%')) and on the phone number (`endswith`: LIKE '%…'), so a part
of an id or the last digits of a phone number find their customers without scanning the book.

PostgreSQL only (pg_trgm); on SQLite, where the book is the demo's few hundred customers, the
search scans and nothing is created. The indexes are not in the models' state: they serve one
query shape of one page and no model field declares them.
"""

from django.db import migrations

INDEXES = {
    "customer_external_id_trgm": 'CREATE INDEX IF NOT EXISTS customer_external_id_trgm ON accounts_customer USING gin (UPPER("external_id") gin_trgm_ops)',
    "customer_phone_trgm": 'CREATE INDEX IF NOT EXISTS customer_phone_trgm ON accounts_customer USING gin ("phone" gin_trgm_ops)',
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Not django.contrib.postgres's TrigramExtension: its reverse reads pg_extension on any
    # backend, so unapplying this migration on SQLite failed. The extension stays when reversed.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for sql in INDEXES.values():
        schema_editor.execute(sql)


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_disclosure_immutable"),
        ("decisions", "0014_account_case"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]

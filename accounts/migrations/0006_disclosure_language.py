"""Disclosure.language: the language a published document is written in (existing ones: English).

On SQLite a NOT NULL column is added by rebuilding the table, which drops the table's triggers:
the immutability triggers of 0004 are created again (frozen here, as 0004 wrote them).
PostgreSQL adds the column in place (no UPDATE runs, so its trigger neither fires nor goes).
"""

from django.db import migrations, models

SQLITE_TRIGGERS = [
    "DROP TRIGGER IF EXISTS accounts_disclosure_no_update",
    "DROP TRIGGER IF EXISTS accounts_disclosure_no_delete",
    "CREATE TRIGGER accounts_disclosure_no_update BEFORE UPDATE ON accounts_disclosure "
    "BEGIN SELECT RAISE(ABORT, 'accounts_disclosure is immutable: UPDATE is not allowed (publish a new version)'); END",
    "CREATE TRIGGER accounts_disclosure_no_delete BEFORE DELETE ON accounts_disclosure "
    "BEGIN SELECT RAISE(ABORT, 'accounts_disclosure is immutable: DELETE is not allowed (publish a new version)'); END",
]


def _sqlite_triggers_again(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_TRIGGERS:
            schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_verbose_names_translated'),
    ]

    operations = [
        # Backwards, RemoveField rebuilds the table again: the triggers are written once more after it.
        migrations.RunPython(migrations.RunPython.noop, _sqlite_triggers_again),
        migrations.AddField(
            model_name='disclosure',
            name='language',
            field=models.CharField(choices=[('en', 'English'), ('zh-hans', 'Simplified Chinese')], default='en', help_text='The language the title and text are written in.', max_length=10, verbose_name='language'),
        ),
        migrations.RunPython(_sqlite_triggers_again, migrations.RunPython.noop),
    ]

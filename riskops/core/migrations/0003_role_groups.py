"""Formerly created the role groups; now a no-op, kept so the migration graph stays intact.

It used to import `riskops.core.roles` and apply the live spec, so replaying history on a fresh
database ran today's code inside an old migration (and broke as soon as the spec named a
permission a later migration adds). Groups and their permissions are now synced on every
`post_migrate` by `riskops.core.roles.sync_role_groups`, connected in `CoreConfig.ready`, the way
django.contrib.auth creates permissions. Databases that already applied this migration keep
their groups; the next `migrate` brings them in line with the spec. The dependencies stay as
they were so the graph (and `showmigrations` on existing databases) does not change.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_audit_append_only_trigger"),
        ("accounts", "0001_initial"),
        ("decisions", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = []

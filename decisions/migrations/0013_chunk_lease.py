# A recompute chunk's claim as a lease (decisions/engine/services/runs.py): its holder and expiry.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('decisions', '0012_run_origin'),
    ]

    operations = [
        migrations.AddField(
            model_name='recomputechunk',
            name='claim_token',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='recomputechunk',
            name='lease_until',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]

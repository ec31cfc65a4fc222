"""Ship a sensible default policy as version 1, active, so a fresh database can decide at once."""

import json
from pathlib import Path

from django.db import migrations
from django.utils import timezone

# A frozen copy read at migration time: later policy changes are new versions, not edits of v1.
DEFAULT = Path(__file__).resolve().parent.parent / "default_policy.json"


def forwards(apps, schema_editor):
    PolicyVersion = apps.get_model("decisions", "PolicyVersion")
    if PolicyVersion.objects.exists():
        return
    PolicyVersion.objects.create(
        version=1,
        name="Default scorecard and rules",
        body=json.loads(DEFAULT.read_text()),
        state="active",
        notes="Shipped with RiskOps as the starting policy.",
        activated_at=timezone.now(),
    )


def backwards(apps, schema_editor):
    apps.get_model("decisions", "PolicyVersion").objects.filter(version=1, activated_by__isnull=True, runs__isnull=True, snapshots__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("decisions", "0002_credit_line_model_view")]
    operations = [migrations.RunPython(forwards, backwards)]

"""The case carries its credit line's access and band (the queue filters and counts by them
without reading the book's credit lines); filled here for the cases open today, kept from now on
by decisions/engine/services/cases.py whenever the engine writes the line or the alerts."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce


def fill(apps, schema_editor):
    AccountCase = apps.get_model("decisions", "AccountCase")
    CreditLine = apps.get_model("decisions", "CreditLine")
    line = CreditLine.objects.filter(customer_id=OuterRef("customer_id"))
    AccountCase.objects.filter(closed_at__isnull=True).update(
        access=Coalesce(Subquery(line.values("access")[:1]), Value("")),
        band=Coalesce(Subquery(line.values("band")[:1]), Value("")),
    )


class Migration(migrations.Migration):
    dependencies = [("decisions", "0016_verbose_names_translated")]

    operations = [
        migrations.AddField(
            model_name="accountcase",
            name="access",
            field=models.CharField(blank=True, default="", max_length=12, verbose_name="access"),
        ),
        migrations.AddField(
            model_name="accountcase",
            name="band",
            field=models.CharField(blank=True, default="", max_length=1, verbose_name="band"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]

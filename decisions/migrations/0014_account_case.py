"""The case per flagged account (`AccountCase`), built for the alerts open today.

Cases are derived from the open alerts (decisions/engine/services/cases.py keeps them from now on,
in the same transaction as the alerts); this migration groups the alerts that are open when it
runs, with the active policy's SLA hours (the defaults when it has none), in the same way.
"""

from datetime import timedelta

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Q
from django.utils import timezone

DEFAULT_SLA_HOURS = {1: 72, 2: 48, 3: 24, 4: 8, 5: 4}
# decisions.models.CASE_RULE_BITS as it was when this migration was written (fixed, never reused).
RULE_BITS = {
    "OVER_BORROWING": 1 << 0,
    "FREQUENT_APPLICATIONS": 1 << 1,
    "SPENDING_SPIKE": 1 << 2,
    "OVERDUE_30": 1 << 3,
    "OVERDUE_90": 1 << 4,
    "CONSENT_WITHDRAWN": 1 << 5,
    "DISCLOSURE_MISSING": 1 << 6,
}


def _sla_hours(PolicyVersion) -> dict[int, int]:
    body = PolicyVersion.objects.filter(state="active").values_list("body", flat=True).first() or {}
    hours = (body.get("alerts") or {}).get("sla_hours") or {}
    return {sev: int(hours.get(str(sev), default)) for sev, default in DEFAULT_SLA_HOURS.items()}


def build_cases(apps, schema_editor):
    RiskAlert = apps.get_model("decisions", "RiskAlert")
    AccountCase = apps.get_model("decisions", "AccountCase")
    PolicyVersion = apps.get_model("decisions", "PolicyVersion")
    hours = _sla_hours(PolicyVersion)
    now = timezone.now()
    grouped: dict[int, list[tuple]] = {}
    rows = RiskAlert.objects.filter(status__in=("open", "in_review")).order_by().values_list(
        "customer_id", "rule", "severity", "raised_at", "assigned_to_id"
    )
    for customer_id, rule, severity, raised_at, assignee in rows.iterator(chunk_size=5000):
        grouped.setdefault(customer_id, []).append((rule, severity, raised_at, assignee))
    cases = []
    for customer_id, alerts in grouped.items():
        mask = 0
        for rule, *_rest in alerts:
            mask |= RULE_BITS.get(rule, 0)
        oldest = min(a[2] for a in alerts)
        cases.append(
            AccountCase(
                customer_id=customer_id,
                max_severity=max(a[1] for a in alerts),
                due_at=min(a[2] + timedelta(hours=hours[a[1]]) for a in alerts),
                oldest_raised_at=oldest,
                alert_count=len(alerts),
                rule_mask=mask,
                assigned_to_id=min((a[3] for a in alerts if a[3] is not None), default=None),
                opened_at=oldest,
                last_activity_at=now,
            )
        )
    AccountCase.objects.bulk_create(cases, batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_disclosure_immutable"),
        ("decisions", "0013_chunk_lease"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AccountCase",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("max_severity", models.PositiveSmallIntegerField(help_text="highest severity among the open alerts")),
                ("due_at", models.DateTimeField()),
                ("oldest_raised_at", models.DateTimeField()),
                ("alert_count", models.PositiveSmallIntegerField(default=0)),
                (
                    "rule_mask",
                    models.PositiveIntegerField(default=0, help_text="the open alerts' rules, one bit each (CASE_RULE_BITS)"),
                ),
                ("opened_at", models.DateTimeField()),
                ("last_activity_at", models.DateTimeField()),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "assigned_to",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="cases", to="accounts.customer"),
                ),
            ],
            options={
                "verbose_name": "case",
                "verbose_name_plural": "cases",
                "indexes": [
                    models.Index(
                        condition=Q(closed_at__isnull=True),
                        fields=["-max_severity", "due_at", "oldest_raised_at", "customer"],
                        name="case_queue_idx",
                    ),
                    models.Index(condition=Q(closed_at__isnull=True), fields=["assigned_to"], name="case_assignee_idx"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=Q(closed_at__isnull=True), fields=("customer",), name="case_one_open_per_customer"
                    ),
                    models.CheckConstraint(condition=Q(max_severity__gte=1) & Q(max_severity__lte=5), name="case_severity_range"),
                    models.CheckConstraint(
                        condition=Q(closed_at__isnull=True, alert_count__gte=1) | Q(closed_at__isnull=False, alert_count=0),
                        name="case_open_iff_alerts",
                    ),
                ],
            },
        ),
        migrations.RunPython(build_cases, migrations.RunPython.noop),
    ]

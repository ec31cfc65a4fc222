"""Ship a sensible default policy as version 1, active, so a fresh database can decide at once.

Migrations are frozen history: this one must create the same version 1 on a database migrated
today or in three years, so the policy body is a literal copy of `decisions/default_policy.json`
as it was when v1 shipped (commit ee26b1f), not a read of the live file. Later policy changes are
new versions, and edits to the live file (a new section such as `alerts`) never rewrite v1.
"""

from django.db import migrations
from django.utils import timezone

# Byte for byte the JSON of ee26b1f:decisions/default_policy.json, with null/true as None/True.
# fmt: off
POLICY_V1 = {
  "scorecard": {
    "base_score": 600,
    "base_odds": 30,
    "pdo": 20,
    "reason_codes_max": 4,
    "features": {
      "bureau_score": {
        "reason": "BUREAU_SCORE_LOW", "text": "Your credit bureau score is low.",
        "missing_points": -10,
        "bins": [{"below": 500, "points": -60}, {"below": 580, "points": -30}, {"below": 650, "points": 0}, {"below": 720, "points": 20}, {"below": None, "points": 40}]
      },
      "external_lenders": {
        "reason": "MANY_LENDERS", "text": "You have open credit with many other lenders.",
        "missing_points": 0,
        "bins": [{"below": 2, "points": 10}, {"below": 4, "points": 0}, {"below": 6, "points": -25}, {"below": None, "points": -50}]
      },
      "debt_to_income": {
        "reason": "HIGH_DEBT_TO_INCOME", "text": "Your debts are high compared with your income.",
        "missing_points": 0,
        "bins": [{"below": "0.5", "points": 15}, {"below": "1.5", "points": 0}, {"below": "3", "points": -25}, {"below": None, "points": -50}]
      },
      "max_dpd_12m": {
        "reason": "LATE_PAYMENTS", "text": "You paid an installment late in the last 12 months.",
        "missing_points": 0,
        "bins": [{"below": 1, "points": 25}, {"below": 8, "points": 5}, {"below": 30, "points": -25}, {"below": 90, "points": -80}, {"below": None, "points": -150}]
      },
      "overdue_count": {
        "reason": "OVERDUE_INSTALLMENTS", "text": "You have installments that are overdue now.",
        "missing_points": 0,
        "bins": [{"below": 1, "points": 15}, {"below": 2, "points": -30}, {"below": None, "points": -60}]
      },
      "on_time_ratio": {
        "reason": "LOW_ON_TIME_RATIO", "text": "Few of your installments were paid on time.",
        "missing_points": 0,
        "bins": [{"below": "0.6", "points": -40}, {"below": "0.9", "points": -10}, {"below": None, "points": 20}]
      },
      "utilisation": {
        "reason": "HIGH_UTILISATION", "text": "You are using most of your credit limit.",
        "missing_points": 0,
        "bins": [{"below": "0.3", "points": 15}, {"below": "0.7", "points": 5}, {"below": "0.9", "points": -10}, {"below": None, "points": -25}]
      },
      "income_proxy_3m": {
        "reason": "LOW_INCOME", "text": "Your regular income into the wallet is low or unknown.",
        "missing_points": -15,
        "bins": [{"below": "500", "points": -30}, {"below": "1500", "points": -10}, {"below": "3000", "points": 5}, {"below": None, "points": 15}]
      },
      "spend_spike_ratio": {
        "reason": "SPENDING_SPIKE", "text": "Your spending rose sharply in the last week.",
        "missing_points": 0,
        "bins": [{"below": "1.5", "points": 5}, {"below": "3", "points": -5}, {"below": None, "points": -30}]
      },
      "applications_30d": {
        "reason": "MANY_APPLICATIONS", "text": "You applied for credit many times recently.",
        "missing_points": 0,
        "bins": [{"below": 2, "points": 10}, {"below": 4, "points": 0}, {"below": 7, "points": -20}, {"below": None, "points": -45}]
      },
      "tenure_months": {
        "reason": "SHORT_TENURE", "text": "You have been a customer for a short time.",
        "missing_points": 0,
        "bins": [{"below": 3, "points": -20}, {"below": 6, "points": -5}, {"below": 12, "points": 5}, {"below": None, "points": 15}]
      }
    }
  },
  "bands": [
    {"band": "A", "min_score": 680},
    {"band": "B", "min_score": 640},
    {"band": "C", "min_score": 600},
    {"band": "D", "min_score": 550},
    {"band": "E", "min_score": 0}
  ],
  "limits": {
    "multipliers": {"A": "1.5", "B": "1.0", "C": "0.6", "D": "0.3", "E": "0"},
    "fallback_income": "800.00",
    "min_limit": "100.00",
    "max_limit": "5000.00",
    "round_to": "50",
    "max_increase_pct": "25",
    "cycle_days": 30
  },
  "rules": {
    "OVER_BORROWING": {"enabled": True, "action": "review", "severity": 3, "max_external_lenders": 4, "max_debt_to_income": "3"},
    "FREQUENT_APPLICATIONS": {"enabled": True, "action": "suspend", "suspend_days": 7, "severity": 3, "max_applications_7d": 4, "max_applications_30d": 8},
    "SPENDING_SPIKE": {"enabled": True, "action": "review", "severity": 2, "min_spike_ratio": "3", "min_spend_7d": "200.00"},
    "OVERDUE_30": {"enabled": True, "action": "suspend", "suspend_days": 30, "severity": 4, "min_days_past_due": 30},
    "OVERDUE_90": {"enabled": True, "action": "close", "severity": 5, "min_days_past_due": 90},
    "CONSENT_WITHDRAWN": {"enabled": True, "action": "review", "severity": 2}
  }
}
# fmt: on


def forwards(apps, schema_editor):
    PolicyVersion = apps.get_model("decisions", "PolicyVersion")
    if PolicyVersion.objects.exists():
        return
    PolicyVersion.objects.create(
        version=1,
        name="Default scorecard and rules",
        body=POLICY_V1,
        state="active",
        notes="Shipped with RiskOps as the starting policy.",
        activated_at=timezone.now(),
    )


def backwards(apps, schema_editor):
    apps.get_model("decisions", "PolicyVersion").objects.filter(version=1, activated_by__isnull=True, runs__isnull=True, snapshots__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("decisions", "0002_credit_line_model_view")]
    operations = [migrations.RunPython(forwards, backwards)]

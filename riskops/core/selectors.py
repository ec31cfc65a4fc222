from django.apps import apps


def overview_counts() -> dict[str, int]:
    """Headline counts for the overview page (one COUNT each)."""
    names = {
        "customers": "accounts.Customer",
        "transactions": "accounts.Transaction",
        "open_alerts": "decisions.RiskAlert",
        "decisions": "decisions.CreditDecision",
    }
    counts = {}
    for key, label in names.items():
        qs = apps.get_model(label).objects.all()
        if key == "open_alerts":
            qs = qs.filter(status__in=("open", "in_review"))
        counts[key] = qs.count()
    return counts

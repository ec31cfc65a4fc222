"""Moved to decisions/casework/services/triage.py. Kept only for synthetic/replay.py, which still
imports the old path; delete once it imports `decisions.casework.services.triage`."""

from decisions.casework.services.triage import alert_confirm, alert_dismiss, suppression_bounds  # noqa: F401

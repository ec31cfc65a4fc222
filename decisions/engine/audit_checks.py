"""What `verify_audit` checks beyond the hash chain: the decision rows an event vouches for."""

from riskops.core.models import AuditEvent


def decision_rows_match(event: AuditEvent) -> str | None:
    ids = event.after.get("decision_ids") if isinstance(event.after, dict) else None
    if ids is None or "digest" not in event.after:
        return None
    from .services.recompute import stored_decisions_digest

    count, digest = stored_decisions_digest(ids)
    if count != len(ids):
        return f"{len(ids) - count} decision row(s) listed by the event are missing"
    if digest != event.after["digest"]:
        return "decision rows were changed after they were audited (digest mismatch)"
    return None

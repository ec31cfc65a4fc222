"""Domain errors. Services raise these; one DRF handler and one view helper map them to HTTP."""

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "invalid"
    field: str | None = None

    def __init__(self, message: str = "", *, field: str | None = None, **context: Any) -> None:
        self.message = message or self.__class__.__doc__ or self.code
        self.field = field or self.field
        self.context = context
        super().__init__(self.message)


class ValidationFailed(DomainError):
    """The input is not valid."""


class NotFound(DomainError):
    """No such object."""

    status_code, code = 404, "not_found"


class Conflict(DomainError):
    """The request conflicts with the current state."""

    status_code, code = 409, "conflict"


class ConsentMissing(DomainError):
    """The customer has not given the consent this use of data needs."""

    code = "consent_missing"


class PolicyInvalid(ValidationFailed):
    """The policy document does not match its schema."""

    code = "policy_invalid"


class OverrideNotPending(Conflict):
    """The override is not waiting for approval."""

    code = "override_not_pending"


class FourEyesViolation(DomainError):
    """An override must be approved by someone other than the person who requested it."""

    status_code, code = 403, "four_eyes_violation"


class AuditChainBroken(DomainError):
    """The audit chain does not verify."""

    status_code, code = 500, "audit_chain_broken"


class NotPermitted(DomainError):
    """Your role does not allow this action."""

    status_code, code = 403, "not_permitted"


class AlertClosed(Conflict):
    """The alert is no longer open: someone has already dismissed, confirmed or resolved it."""

    code = "alert_closed"


class AlertClaimedByOther(Conflict):
    """Another analyst is already working on this alert's account (one account, one analyst)."""

    code = "alert_claimed"

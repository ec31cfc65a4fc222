"""The checks every governance service makes before it changes a policy version: the actor's
permission, and that the version is still a draft (one rule for what may be edited and simulated)."""

from django.utils.translation import gettext as _

from riskops.core.exceptions import Conflict, NotPermitted

from decisions.models import PolicyVersion


def require_perm(actor, perm: str) -> None:
    # Enforced here, not only by the pages: a service called from anywhere keeps the rule.
    if actor is None or not actor.has_perm(perm):
        raise NotPermitted(_("Your role does not allow this action."))


def require_draft(version: PolicyVersion) -> None:
    if version.state != PolicyVersion.State.DRAFT:
        raise Conflict(
            _("Policy v%(version)s is %(state)s: only a draft can be changed; copy it into a new draft instead.")
            % {"version": version.version, "state": version.get_state_display().lower()},
            field="state",
        )

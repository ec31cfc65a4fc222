"""Champion and challenger: attaching a policy version to the nightly runs, to be scored in shadow.

The champion is the active version; a challenger is a draft or a retired version a risk admin
attaches (`challenger_attach`) and later detaches (`challenger_detach`). While it is attached,
every nightly run scores it beside the champion and stores what it would have decided
(decisions/engine/services/shadow.py); nothing it computes reaches a customer. At most one is
attached at a time (`challenger_one_attached` backs the check below). Both services are audited
(`challenger.attach`, `challenger.detach`) in the transaction that changes the attachment.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from riskops.core.audit import audit_record
from riskops.core.exceptions import Conflict, NotFound
from riskops.core.models import AuditAction

from decisions.engine.policy_reads import body_stamp, parsed_policy
from decisions.models import ChallengerAttachment, PolicyVersion
from .guards import require_perm

# Attaching changes what every nightly run does, as editing a draft changes what it would do:
# the same right (risk admins).
CHALLENGER_PERM = "decisions.change_policyversion"
CHALLENGER_STATES = (PolicyVersion.State.DRAFT, PolicyVersion.State.RETIRED)


def attached_challenger() -> ChallengerAttachment | None:
    return ChallengerAttachment.objects.filter(state=ChallengerAttachment.State.ATTACHED).select_related("version").first()


def challenger_attach(*, version: PolicyVersion, actor) -> ChallengerAttachment:
    """Attach a draft or retired version as the challenger of the nightly runs from the next one.

    Refused (nothing written): a person without the right (NotPermitted); an unknown version
    (NotFound); the active version (Conflict: it is the champion); a body that does not validate
    (PolicyInvalid, naming the field); a challenger already attached (Conflict: detach it first)."""
    require_perm(actor, CHALLENGER_PERM)
    with transaction.atomic():
        # The version's row lock orders this against an activation of the same version.
        locked = PolicyVersion.objects.select_for_update().filter(pk=getattr(version, "pk", None)).first()
        if locked is None:
            raise NotFound(_("No such policy version."), field="version")
        if locked.state not in CHALLENGER_STATES:
            raise Conflict(
                _("Policy v%(version)s is the active version, the champion: only a draft or a retired version can be its challenger.")
                % {"version": locked.version},
                field="version",
            )
        parsed_policy(locked)  # PolicyInvalid names the field; a nightly run could not score it
        current = ChallengerAttachment.objects.select_for_update(of=("self",)).filter(state=ChallengerAttachment.State.ATTACHED).select_related("version").first()
        if current is not None:
            raise Conflict(
                _("Policy v%(version)s is attached as the challenger already: detach it first (one challenger at a time).")
                % {"version": current.version.version},
                field="version",
            )
        try:
            with transaction.atomic():
                attachment = ChallengerAttachment.objects.create(
                    version=locked, body_edited_at=body_stamp(locked), attached_by=actor, attached_at=timezone.now(),
                )
        except IntegrityError:  # a concurrent attach won the race past the check above
            raise Conflict(_("Another challenger was attached at the same moment: detach it first."), field="version") from None
        audit_record(
            actor=actor, action=AuditAction.CHALLENGER_ATTACH, target=locked,
            after={
                "attachment": attachment.pk, "version": locked.version, "state": locked.state,
                "body_edited_at": attachment.body_edited_at,
            },
        )
    return attachment


def challenger_detach(*, actor) -> ChallengerAttachment:
    """Detach the challenger: nightly runs from the next one stop scoring it. Its shadow rows stay
    (the comparison page keeps reading them). Refused when none is attached (Conflict)."""
    require_perm(actor, CHALLENGER_PERM)
    with transaction.atomic():
        attachment = (
            ChallengerAttachment.objects.select_for_update().filter(state=ChallengerAttachment.State.ATTACHED).first()
        )
        if attachment is None:
            raise Conflict(_("No challenger is attached."), field="challenger")
        attachment.state = ChallengerAttachment.State.DETACHED
        attachment.detached_by, attachment.detached_at = actor, timezone.now()
        attachment.save(update_fields=["state", "detached_by", "detached_at"])
        audit_record(
            actor=actor, action=AuditAction.CHALLENGER_DETACH, target=attachment.version,
            before={"attachment": attachment.pk, "attached_at": attachment.attached_at},
            after={"state": attachment.state},
        )
    return attachment

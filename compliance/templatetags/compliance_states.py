"""One colour per meaning on every compliance page: a state's badge class from one table, so an
active consent, a proven record and a verified chain are the same green, and a withdrawn consent,
a closing notice and a broken chain the same red (the access palette of riskops.css)."""

from django import template

register = template.Library()

GOOD, WARN, BAD, NEUTRAL = "access-open", "access-limited", "access-closed", "access-not_offered"

STATE_CLASSES = {
    # consents (accounts.models.ConsentState)
    "consent:active": GOOD, "consent:withdrawn": BAD, "consent:expired": NEUTRAL,
    # customer notices (decisions.models.NoticeKind): how hard the decision fell
    "notice:closed": BAD, "notice:refused": BAD, "notice:suspended": "access-suspended",
    "notice:limited": WARN, "notice:limit_cut": WARN,
}


@register.filter
def state_class(value: str, family: str) -> str:
    """`{{ consent.state|state_class:"consent" }}` → the badge class for that state."""
    return STATE_CLASSES.get(f"{family}:{value}", NEUTRAL)

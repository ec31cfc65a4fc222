"""Template filters that name accounts' codes in words, in the viewer's language."""

from django import template

from accounts.models import ConsentChannel

register = template.Library()


@register.filter
def channel_name(code: str) -> str:
    """`{{ event.channel|channel_name }}`: a consent event's channel (app, web, …) by its label;
    an event without one shows a dash, a code no channel knows shows as it is."""
    if not code:
        return "—"
    return str(dict(ConsentChannel.choices).get(code, code))

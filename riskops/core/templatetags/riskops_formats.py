"""`{% load riskops_formats %}`: money, counts and times as riskops/core/formats.py writes them.

    {{ line.limit_amount|money }}        ¥12,345.00
    {{ change|money:"signed" }}          +¥1,200.00
    {{ customers|count }}                12,345
    {{ alert.raised_at|when }}           2024-05-01 14:05 (the viewer's zone, named once per page)
    {% time_element alert.raised_at %}   the same inside <time datetime="…ISO…">
"""

from django import template
from django.utils.html import format_html

from riskops.core import formats

register = template.Library()


@register.filter
def money(value, arg: str = ""):
    return formats.money(value, signed=arg == "signed", blank=formats.BLANK if arg == "blank" else None)


@register.filter
def count(value):
    return formats.count(value)


@register.filter
def when(value):
    return formats.when(value)


@register.simple_tag
def time_element(value, css_class: str = "", date_only: bool = False):
    """A `<time>` element: the machine-readable instant (ISO 8601) in `datetime`, the time as the
    page writes it (`YYYY-MM-DD HH:MM`, or `YYYY-MM-DD` with date_only) in the text; a dash when
    there is none. No zone after the value: the page names it once."""
    if not value:
        return format_html('<span class="muted">{}</span>', formats.BLANK)
    text = formats.when(value)
    if date_only and len(text) > 10:
        text = text[:10]
    if css_class:
        return format_html('<time class="{}" datetime="{}">{}</time>', css_class, value.isoformat(), text)
    return format_html('<time datetime="{}">{}</time>', value.isoformat(), text)


@register.simple_tag
def time_zone_name():
    return formats.zone_name()

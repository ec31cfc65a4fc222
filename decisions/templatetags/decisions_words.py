"""Template filters that put the engine's codes into words (decisions/presentation)."""

from django import template

from decisions.presentation.sources import data_source_names

register = template.Library()


@register.filter
def source_names(codes) -> str:
    """`{{ snapshot.data_sources|source_names }}`: the sources a score read, named in words."""
    return data_source_names(codes or [])

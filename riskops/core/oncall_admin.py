"""The on-call incidents in the admin: a read-only list for risk admins (`core.view_incident`).

Registered from CoreConfig.ready rather than admin.py, so the incident list stays one module."""

from django.contrib import admin

from .admin import ReadOnlyAdminMixin
from .models import Incident


class IncidentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "kind", "key", "summary", "opened_at", "notified_at", "resolved_at")
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("key", "summary")
    ordering = ("-opened_at", "-id")
    fields = ("kind", "key", "summary", "opened_at", "notified_at", "resolved_at")


def register(site: admin.AdminSite = admin.site) -> None:
    if not site.is_registered(Incident):
        site.register(Incident, IncidentAdmin)

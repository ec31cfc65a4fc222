"""Admin for the audit trail, and the read-only behaviour every ledger admin shares."""

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from .models import AuditEvent


class ReadOnlyAdminMixin:
    """View permission only: no add, change or delete, for ModelAdmins and inlines alike.

    Ledgers are written by services (which lock, re-check and audit) or arrive through the API;
    an admin form would bypass all of that. Django renders the change page as a read-only view
    and drops the bulk-delete action when these return False. `obj` is optional because
    `InlineModelAdmin.has_add_permission` takes it and `ModelAdmin.has_add_permission` does not.
    """

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Rows shown as text (Django renders a view-only inline read-only); no blank extra forms."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "occurred_at", "actor_label", "action", "target_type", "target_id")
    # No date_hierarchy: on a table this size its year/month drill-down runs a DISTINCT over every
    # row on each page load; the date filter's choices are fixed ranges and cost no query.
    list_filter = ("occurred_at", "target_type")
    search_fields = ("=target_id", "^action", "=actor_label")
    # Chain order is id order, and the primary key is the one index that serves it.
    ordering = ("-id",)
    show_full_result_count = False
    raw_id_fields = ("actor",)
    fields = (
        "occurred_at",
        "actor",
        "actor_label",
        "action",
        ("target_type", "target_id"),
        "before",
        "after",
        "prev_hash",
        "hash",
    )

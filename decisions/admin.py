"""Admin for decisions and their history: all view-only for now.

Snapshots, decisions, lines and runs are written by the recompute services. Policy versions
have their own module (decisions/governance/admin_policy.py: drafts edited here, activation through
maker-checker services).
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy

from riskops.core.admin import LargeTableAdminMixin, ReadOnlyAdminMixin, ReadOnlyTabularInline

from .models import (
    CaseNote,
    CreditDecision,
    CreditLine,
    RecomputeChunk,
    RecomputeRun,
    RiskAlert,
    ScoreSnapshot,
)
from .governance import admin_overrides  # noqa: F401  (Override: four-eyes actions, requests through the service)
from .governance import admin_policy  # noqa: F401  (PolicyVersion: drafts, diff, simulation, maker-checker)

# Snapshots and decisions grow by up to one row per customer per run, lines and alerts with the
# book: LargeTableAdminMixin (riskops/core/admin.py) — no exact count of a large table, pages up
# to 10,000 rows deep, searches by exact customer id through the foreign-key index — plus no
# date_hierarchy (its drill-down runs a DISTINCT over the whole table on every page load) and
# primary-key order, which an index serves. Policy versions, runs, chunks, notes and overrides
# stay small (written by people or once a night) and keep the stock admin.


class RecomputeChunkInline(ReadOnlyTabularInline):
    # A run over 100k customers at the default chunk size is ~50 rows.
    model = RecomputeChunk
    fields = ("index", "first_customer_id", "last_customer_id", "size", "status", "attempts", "finished_at", "error")


@admin.register(RecomputeRun)
class RecomputeRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "status",
        "trigger",
        "policy_version",
        "requested_by",
        "done_customers",
        "failed_customers",
        "total_customers",
        "created_at",
        "finished_at",
    )
    list_select_related = ("policy_version", "requested_by")
    list_filter = ("status", "trigger")
    search_fields = ("id__exact",)
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    raw_id_fields = ("policy_version", "requested_by")
    inlines = (RecomputeChunkInline,)


@admin.register(RecomputeChunk)
class RecomputeChunkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("run", "index", "status", "first_customer_id", "last_customer_id", "size", "attempts", "finished_at")
    list_select_related = ("run",)
    list_filter = ("status",)
    search_fields = ("run__id__exact", "error")
    ordering = ("-run_id", "index")
    raw_id_fields = ("run",)


@admin.register(ScoreSnapshot)
class ScoreSnapshotAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("id", "customer", "computed_at", "score", "band", "trigger", "policy_version", "run")
    list_select_related = ("customer", "policy_version", "run")
    # policy_version has an index (its foreign key); bands and triggers are few, each common, and
    # the newest rows (computed_at) come first in primary-key order.
    list_filter = ("band", "trigger", "policy_version", "computed_at")
    search_fields = ("customer__external_id",)
    search_help_text = gettext_lazy("A customer id.")
    ordering = ("-id",)
    raw_id_fields = ("customer", "policy_version", "run", "consents_used")


@admin.register(CreditDecision)
class CreditDecisionAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "customer",
        "decided_at",
        "access",
        "limit_amount",
        "previous_access",
        "previous_limit",
        "model_access",
        "trigger",
        "policy_version",
    )
    list_select_related = ("customer", "policy_version")
    list_filter = ("access", "model_access", "trigger", "policy_version", "decided_at")
    search_fields = ("customer__external_id",)
    search_help_text = gettext_lazy("A customer id.")
    ordering = ("-id",)
    raw_id_fields = ("customer", "snapshot", "policy_version", "override", "run")


@admin.register(CreditLine)
class CreditLineAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("customer", "access", "limit_amount", "score", "band", "suspended_until", "updated_at")
    list_select_related = ("customer",)
    list_filter = ("access", "band")  # line_access_band_idx
    search_fields = ("customer__external_id",)
    search_help_text = gettext_lazy("A customer id.")
    ordering = ("customer_id",)
    raw_id_fields = ("customer", "last_decision", "last_snapshot")


class SeverityFilter(admin.SimpleListFilter):
    # A fixed list: the stock filter for a field without choices lists its values with a
    # SELECT DISTINCT over the whole table on every view.
    title = gettext_lazy("severity")
    parameter_name = "severity"

    def lookups(self, request, model_admin):
        return [(str(n), str(n)) for n in range(5, 0, -1)]

    def queryset(self, request, queryset):
        return queryset.filter(severity=int(self.value())) if self.value() in {"1", "2", "3", "4", "5"} else queryset


@admin.register(RiskAlert)
class RiskAlertAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("id", "customer", "rule", "action", "status", "severity", "raised_at", "last_seen_at", "assigned_to")
    list_select_related = ("customer", "assigned_to")
    list_filter = ("status", "rule", "action", SeverityFilter)
    search_fields = ("customer__external_id", "rule")  # rule leads alert_rule_status_idx
    search_help_text = gettext_lazy("A customer id, or a rule code (OVERDUE_30).")
    # The queue's order, most severe first, oldest first: alert_queue_idx serves it once a status
    # is chosen; unfiltered it is a sort of the alerts table, which stays far smaller than the book.
    ordering = ("-severity", "raised_at", "id")
    raw_id_fields = ("customer", "snapshot", "assigned_to", "resolved_by")


@admin.register(CaseNote)
class CaseNoteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "customer", "alert", "author", "created_at")
    list_select_related = ("customer", "alert", "author")
    search_fields = ("=customer__external_id", "body")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    raw_id_fields = ("customer", "alert", "author")

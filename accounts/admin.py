"""Admin for the customer and the customer's ledgers: all view-only.

Rows arrive through the API or the seeder and are append-only; the admin is for looking, never
for writing. Foreign keys to Customer are raw ids and joined in changelists, because a dropdown
or one query per row over 100k customers is not an option.

Every table here grows with the book (at 100k customers: 5.4M transactions, 534k installments,
450k acknowledgements, 300k consents and consent events), so each changelist uses
`LargeTableAdminMixin` (riskops/core/admin.py): no exact count of a large table, pages up to
10,000 rows deep, searches by exact id only (a customer's external id finds that customer's
rows through the foreign-key index). Lists are ordered by primary key, which an index serves,
never by a date column without one (that sorts the whole table for every page). No
`date_hierarchy`: its drill-down runs a DISTINCT over the table on every view. A list filter
on a table under a million rows at 100k customers needs no index of its own: the bounded count
and the first page stop early, and at worst scan the table once (~10 ms for open installments
at 534k rows). The transactions table (5.4M) has no list filter at all.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _, gettext_lazy

from riskops.core.admin import LargeTableAdminMixin, ReadOnlyAdminMixin, ReadOnlyTabularInline
from riskops.core.exceptions import NotPermitted

from .models import (
    BureauReport,
    Consent,
    ConsentEvent,
    CreditApplication,
    Customer,
    Disclosure,
    DisclosureAcknowledgement,
    RepaymentInstallment,
    Transaction,
)
from .services import PII_PERMISSION, customer_pii_reveal


class ConsentInline(ReadOnlyTabularInline):
    # A handful per customer (one live consent per purpose, plus earlier withdrawn ones).
    model = Consent
    fields = ("purpose", "state", "channel", "disclosure", "granted_at", "expires_at", "withdrawn_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Consent]:
        return super().get_queryset(request).select_related("disclosure")


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("external_id", "full_name", "national_id_display", "phone_display", "onboarded_at")
    # Not national_id or phone: a search box would let anyone test a guessed id against the book.
    # Not full_name: a substring match has no index (a full scan of the book per keystroke).
    search_fields = ("^external_id",)
    search_help_text = gettext_lazy("The start of a customer id, case-sensitive (C001-00000).")
    ordering = ("-id",)
    readonly_fields = ("national_id_display", "phone_display", "created_at")
    # Transactions are not inlined: a customer has thousands. Consents are few.
    inlines = (ConsentInline,)
    change_form_template = "admin/accounts/customer/change_form.html"

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        # Masked for everyone, holders of view_customer_pii included: the raw fields are not in the
        # page at all. Holders see them through "Reveal" (reveal_view), which is audited.
        return ["external_id", "full_name", "national_id_display", "phone_display", "onboarded_at", "created_at"]

    def get_urls(self):
        return [
            path("<int:pk>/reveal/", self.admin_site.admin_view(self.reveal_view), name="accounts_customer_reveal"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {**(extra_context or {}), "can_reveal_pii": request.user.has_perm(PII_PERMISSION)}
        return super().change_view(request, object_id, form_url, extra)

    def reveal_view(self, request: HttpRequest, pk: int) -> TemplateResponse:
        """GET: what revealing means, and a button. POST (CSRF): the unmasked national id and phone,
        on this response only, after `customer_pii_reveal` has recorded who saw whose."""
        if not self.has_view_permission(request) or not request.user.has_perm(PII_PERMISSION):
            raise PermissionDenied
        customer = get_object_or_404(Customer, pk=pk)
        revealed = None
        if request.method == "POST":
            try:
                revealed = customer_pii_reveal(actor=request.user, customer=customer, via="admin")
            except NotPermitted as refused:
                raise PermissionDenied(refused.message) from refused
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": customer,
            "title": _("National ID and phone of %(customer)s") % {"customer": customer.external_id},
            "revealed": revealed,
        }
        return TemplateResponse(request, "admin/accounts/customer/reveal.html", context)

    @admin.display(description=gettext_lazy("National ID"))
    def national_id_display(self, obj: Customer) -> str:
        return obj.national_id_masked

    @admin.display(description=gettext_lazy("Phone"))
    def phone_display(self, obj: Customer) -> str:
        return obj.phone_masked


class InstallmentInline(ReadOnlyTabularInline):
    # Only on a draw's page, where it is a few rows.
    model = RepaymentInstallment
    fk_name = "draw"
    fields = ("sequence", "due_on", "amount_due", "amount_paid", "paid_at")


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("external_id", "customer", "kind", "amount", "merchant_category", "occurred_at")
    list_select_related = ("customer",)
    # No list filter: neither kind nor occurred_at has an index of its own, and on 5.4M rows
    # counting a 2% kind up to the last page shown took 85–350 ms (a date range with no rows
    # would scan everything). Narrow by customer instead: the search uses (customer, occurred_at).
    search_fields = ("external_id", "customer__external_id")
    search_help_text = gettext_lazy("An exact transaction id, or a customer id for all of that customer's transactions.")
    # "-occurred_at" has no single-column index here (only customer, occurred_at); the primary
    # key is ingestion order and keeps the first page an index walk.
    ordering = ("-id",)
    raw_id_fields = ("customer",)
    inlines = (InstallmentInline,)


@admin.register(RepaymentInstallment)
class RepaymentInstallmentAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("draw", "sequence", "customer", "due_on", "amount_due", "amount_paid", "paid_at")
    list_select_related = ("draw", "customer")
    # paid_at's "No date" choice lists the open installments.
    list_filter = ("paid_at", "due_on")
    search_fields = ("customer__external_id", "draw__external_id")
    search_help_text = gettext_lazy("A customer id, or the transaction id of a draw.")
    ordering = ("-id",)
    raw_id_fields = ("draw", "customer")


@admin.register(CreditApplication)
class CreditApplicationAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("external_id", "customer", "requested_amount", "channel", "applied_at")
    list_select_related = ("customer",)
    list_filter = ("channel", "applied_at")
    search_fields = ("external_id", "customer__external_id")
    search_help_text = gettext_lazy("An exact application id, or a customer id.")
    ordering = ("-id",)
    raw_id_fields = ("customer",)


@admin.register(BureauReport)
class BureauReportAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = (
        "external_id",
        "customer",
        "bureau",
        "score",
        "external_lenders",
        "external_debt",
        "delinquencies_12m",
        "reported_at",
    )
    list_select_related = ("customer",)
    # Not "bureau": a field without choices gets a filter whose options are a SELECT DISTINCT
    # over the whole table on every view.
    list_filter = ("reported_at",)
    search_fields = ("external_id", "customer__external_id")
    search_help_text = gettext_lazy("An exact report id, or a customer id.")
    ordering = ("-id",)
    raw_id_fields = ("customer",)


@admin.register(Disclosure)
class DisclosureAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Versions are immutable and the hash must match the body, so new versions come from a
    # service that computes it; the admin only shows them.
    list_display = ("kind", "version", "title", "published_at", "content_hash")
    list_filter = ("kind",)
    search_fields = ("title", "=content_hash")
    date_hierarchy = "published_at"
    ordering = ("kind", "-version")


@admin.register(DisclosureAcknowledgement)
class DisclosureAcknowledgementAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("customer", "disclosure", "channel", "shown_at", "acknowledged_at")
    list_select_related = ("customer", "disclosure")
    list_filter = ("disclosure__kind", "channel", "acknowledged_at")
    search_fields = ("customer__external_id",)
    search_help_text = gettext_lazy("A customer id.")
    ordering = ("-id",)
    raw_id_fields = ("customer", "disclosure")


class ConsentEventInline(ReadOnlyTabularInline):
    model = ConsentEvent
    fields = ("kind", "occurred_at", "channel", "evidence")
    show_change_link = False


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("id", "customer", "purpose", "state", "channel", "disclosure", "granted_at", "withdrawn_at")
    list_select_related = ("customer", "disclosure")
    list_filter = ("purpose", "state", "channel", "granted_at")
    search_fields = ("customer__external_id",)
    search_help_text = gettext_lazy("A customer id.")
    ordering = ("-id",)
    raw_id_fields = ("customer", "disclosure")
    inlines = (ConsentEventInline,)


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("id", "consent", "consent__customer", "consent__purpose", "kind", "channel", "occurred_at")
    list_select_related = ("consent__customer",)
    list_filter = ("kind", "consent__purpose", "occurred_at")
    search_fields = ("consent__customer__external_id",)
    search_help_text = gettext_lazy("A customer id.")
    ordering = ("-id",)
    raw_id_fields = ("consent",)

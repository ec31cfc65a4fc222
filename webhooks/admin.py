"""Webhooks in the Django admin: endpoints (create, change, disable, enable), the delivery log
(status, attempts, response codes) and manual replay. Every change goes through
webhooks/services/endpoints.py, which audits it."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _, ngettext

from riskops.core.exceptions import DomainError

from .models import EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .services.endpoints import (
    endpoint_url_check,
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_disable,
    webhook_endpoint_enable,
    webhook_endpoint_update,
)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", label=_("URL"))
    event_types = forms.MultipleChoiceField(choices=EventType.choices, widget=forms.CheckboxSelectMultiple, label=_("event types"))

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types"]

    def clean_url(self):
        # The service's checks (scheme, the SSRF guard) at validation time: a refused URL is an
        # error next to the field, and nothing is saved.
        try:
            return endpoint_url_check(self.cleaned_data["url"])
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "active", "event_types", "disabled_reason", "created_by", "created_at"]
    list_filter = ["active"]
    readonly_fields = ["secret", "active", "disabled_reason", "created_by", "created_at", "updated_at"]
    actions = ["disable_endpoints", "enable_endpoints"]

    def get_fields(self, request, obj=None):
        return ["url", "description", "event_types"] + ([] if obj is None else self.readonly_fields)

    def has_delete_permission(self, request, obj=None):
        return False  # deliveries point at it; disable instead

    def save_model(self, request, obj, form, change):
        try:
            if change:
                saved = webhook_endpoint_update(endpoint=obj, actor=request.user, url=form.cleaned_data["url"],
                                                event_types=form.cleaned_data["event_types"], description=form.cleaned_data["description"])
            else:
                saved = webhook_endpoint_create(url=form.cleaned_data["url"], event_types=form.cleaned_data["event_types"],
                                                description=form.cleaned_data["description"], actor=request.user)
        except DomainError as exc:  # refused after the form's own check (the address changed)
            self.message_user(request, exc.message, level=messages.ERROR)
            return
        obj.pk, obj.secret = saved.pk, saved.secret

    @admin.action(description=_("Disable the selected endpoints"), permissions=["change"])
    def disable_endpoints(self, request, queryset):
        reason = _("Disabled in the admin by %(user)s") % {"user": request.user.get_username()}
        for endpoint in queryset.order_by("pk"):
            webhook_endpoint_disable(endpoint=endpoint, actor=request.user, reason=str(reason))
        self.message_user(request, ngettext("%(n)d endpoint disabled.", "%(n)d endpoints disabled.", queryset.count()) % {"n": queryset.count()})

    @admin.action(description=_("Enable the selected endpoints"), permissions=["change"])
    def enable_endpoints(self, request, queryset):
        for endpoint in queryset.order_by("pk"):
            webhook_endpoint_enable(endpoint=endpoint, actor=request.user)
        self.message_user(request, ngettext("%(n)d endpoint enabled.", "%(n)d endpoints enabled.", queryset.count()) % {"n": queryset.count()})


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["attempted_at", "response_code", "error", "duration_ms"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-attempted_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "event", "event_type", "endpoint", "status", "attempts", "last_response_code", "next_attempt_at", "delivered_at"]
    list_filter = ["status", "endpoint"]
    list_select_related = ["event", "endpoint"]
    search_fields = ["=event__id"]
    ordering = ["-id"]
    show_full_result_count = False
    fields = ["event", "endpoint", "status", "attempts", "last_response_code", "last_error", "next_attempt_at", "delivered_at", "created_at"]
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
    actions = ["replay"]

    @admin.display(description=_("type"))
    def event_type(self, obj):
        return obj.event.type

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Replay the selected deliveries"), permissions=["change"])
    def replay(self, request, queryset):
        done = 0
        for delivery in queryset.order_by("pk"):
            try:
                webhook_delivery_replay(delivery=delivery, actor=request.user)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{delivery.pk}: {exc.message}", level=messages.ERROR)
        self.message_user(request, ngettext("%(n)d delivery queued again.", "%(n)d deliveries queued again.", done) % {"n": done})


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "created_at"]
    list_filter = ["type"]
    search_fields = ["=id"]
    ordering = ["-created_at"]
    show_full_result_count = False
    readonly_fields = ["id", "type", "payload", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

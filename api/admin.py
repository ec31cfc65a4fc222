"""Service clients and their tokens, managed by risk admins.

Every write goes through api/services.py (audited): the admin's forms only collect input. A
token's secret is shown once, on a page of its own rendered by the response that creates it
(never through the messages framework, whose storage may be a cookie or the session); only its
hash is stored.
Tokens are never deleted or edited: they are revoked (an action), which keeps the record of
who used what.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _

from riskops.core.exceptions import DomainError

from .models import ApiClient, ApiToken, Scope
from .services import api_client_create, api_client_update, api_token_create, api_token_revoke


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple, required=False, label=_("scopes"))

    class Meta:
        model = ApiClient
        fields = ("name", "scopes", "throttle_rate", "active")

    def clean_throttle_rate(self) -> str:
        from .services import _rate

        try:
            return _rate(self.cleaned_data["throttle_rate"])
        except DomainError as exc:
            raise ValidationError(exc.message) from None


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    fields = ("prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    form = ApiClientForm
    list_display = ("name", "scope_list", "throttle_rate", "active", "created_at")
    list_filter = ("active",)
    inlines = (ApiTokenInline,)

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: ApiClient) -> str:
        return ", ".join(obj.scopes or [])

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # tokens and the audit trail point at it: disable it instead

    def save_model(self, request: HttpRequest, obj: ApiClient, form: forms.ModelForm, change: bool) -> None:
        data = {k: form.cleaned_data[k] for k in ("name", "scopes", "throttle_rate", "active")}
        if change:
            saved = api_client_update(client=obj, actor=request.user, **data)
        else:
            saved = api_client_create(actor=request.user, **data)
        obj.pk = saved.pk
        obj.refresh_from_db()


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ("client",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ("__str__", "client", "created_by", "created_at", "last_used_at", "revoked_at")
    list_filter = ("client",)
    list_select_related = ("client", "created_by")
    actions = ("revoke",)

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None):
        if obj is None:
            return ()
        return ("client", "prefix", "created_by", "created_at", "last_used_at", "revoked_at")

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None):
        if obj is None:
            return ("client",)
        return ("client", "prefix", "created_by", "created_at", "last_used_at", "revoked_at")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The change page is a read-only view; the list still offers the revoke action.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiToken, form: forms.ModelForm, change: bool) -> None:
        token, full = api_token_create(client=form.cleaned_data["client"], actor=request.user)
        obj.pk = token.pk
        obj.refresh_from_db()
        # Held on this request's object only, for response_add below; it never leaves the response.
        obj.full_token = full

    def response_add(self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None) -> HttpResponse:
        """The page that shows the new token, once: the response to the POST that created it.
        Nothing stores it (no message, no session); a reload or Back cannot bring it back."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("API token created"),
            "token": obj,
            "full_token": obj.full_token,
        }
        response = TemplateResponse(request, "admin/api/apitoken/token_created.html", context)
        add_never_cache_headers(response)
        return response

    @admin.action(description=_("Revoke selected tokens"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = 0
        for token in queryset.order_by("pk"):
            if token.revoked_at is None:
                api_token_revoke(token=token, actor=request.user)
                count += 1
        self.message_user(request, _("%(count)d token(s) revoked.") % {"count": count}, messages.SUCCESS)

"""Admin for policy versions: drafts are edited here, everything else goes through the services.

The workflow (maker-checker): "copy as draft" (an action) → edit the draft's JSON (the
form validates it and names the bad field), or its common values in a form ("Edit in a form",
policy_sections.py) → its diff against the active version → simulate it
on the book (the result is a staff page, /policies/simulations/<pk>/) → request activation → a
second risk admin approves (or rejects) it, which activates it and starts a full recompute. Each
step is a POST behind a confirmation page and calls one service; the services enforce the rules
(four eyes, a fresh simulation, drafts only) whatever the page shows. Active and retired versions
are read-only; nothing is added or deleted here.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _, gettext_lazy, ngettext

from riskops.core.admin import ReadOnlyAdminMixin
from riskops.core.exceptions import DomainError, PolicyInvalid
from riskops.core.domain_errors import answers_domain_errors
from riskops.core.json_text import lone_surrogate_path, may_hold_lone_surrogate

from decisions.models import PolicySimulation, PolicyVersion
from decisions.engine.policy import validate_policy
from decisions.engine.policy_reads import body_stamp
from .evidence_panels import evidence_for
from .policy_sections import PolicySectionsForm, SECTION_TITLES
from .services.policy import (
    fresh_simulation,
    policy_activation_approve,
    policy_activation_reject,
    policy_activation_request,
    policy_diff,
    policy_draft_copy,
    policy_draft_edit,
    policy_simulate,
)

ACTIVATE = "decisions.activate_policyversion"
CHANGE = "decisions.change_policyversion"
ADD = "decisions.add_policyversion"


class PolicyJSONField(forms.JSONField):
    """A JSON field shown indented, one key a line, so a person can read and edit it."""

    def to_python(self, value):
        # Django says only "Enter a valid JSON."; in 300 lines the editor needs where.
        if not self.disabled and isinstance(value, str) and value.strip():
            try:
                json.loads(value, cls=self.decoder)
            except json.JSONDecodeError as exc:
                raise forms.ValidationError(
                    _("Not valid JSON at line %(line)d, column %(column)d: %(problem)s.")
                    % {"line": exc.lineno, "column": exc.colno, "problem": exc.msg},
                    code="invalid",
                ) from None
        parsed = super().to_python(value)
        # "\ud800" parses, but no database stores it: saving it was a 500 (UnicodeEncodeError).
        if isinstance(value, str) and may_hold_lone_surrogate(value):
            path = lone_surrogate_path(parsed)
            if path is not None:
                raise forms.ValidationError(
                    _("%(field)s holds a lone surrogate escape (such as \\ud800 without its pair), which is not text.")
                    % {"field": path or _("The document")},
                    code="invalid",
                )
        return parsed

    def bound_data(self, data, initial):
        # Shown again as typed: re-dumped, its lone surrogate would break the page's encoding.
        if isinstance(data, str) and may_hold_lone_surrogate(data):
            return forms.fields.InvalidJSONInput(data)
        return super().bound_data(data, initial)

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


class PolicyDraftForm(forms.ModelForm):
    body = PolicyJSONField(
        label=gettext_lazy("Policy document (JSON)"),
        help_text=gettext_lazy("Money and ratios are strings (\"5000.00\"). An error names the field, e.g. limits.max_limit."),
        widget=forms.Textarea(attrs={"rows": 40, "cols": 110, "spellcheck": "false", "class": "vLargeTextField"}),
    )

    class Meta:
        model = PolicyVersion
        fields = ("name", "notes", "body")

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and self.instance.state != PolicyVersion.State.DRAFT:
            raise forms.ValidationError(_("Only a draft can be edited; copy this version into a new draft instead."))
        if "body" in cleaned:  # absent when it was not JSON at all (the field said so)
            try:
                validate_policy(cleaned["body"])
            except PolicyInvalid as exc:
                self.add_error("body", exc.message)
        return cleaned


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    form = PolicyDraftForm
    list_display = (
        "version", "name", "state", "copied_from", "created_by", "created_at", "edited_at",
        "activation_requested_by", "activated_by", "activated_at",
    )
    list_select_related = ("created_by", "activated_by", "copied_from", "activation_requested_by")
    list_filter = ("state",)
    search_fields = ("name", "notes")
    date_hierarchy = "created_at"
    ordering = ("-version",)
    raw_id_fields = ("created_by", "activated_by")
    actions = ["copy_as_draft"]
    change_form_template = "admin/decisions/policyversion/change_form.html"

    # Drafts only, and only for those who may change policies; active and retired versions (and
    # the changelist, where nothing is edited) stay read-only. Add and delete stay refused.
    def has_change_permission(self, request, obj=None) -> bool:
        return obj is not None and obj.state == PolicyVersion.State.DRAFT and request.user.has_perm(CHANGE)

    def has_copy_permission(self, request) -> bool:
        return request.user.has_perm(ADD)

    @admin.action(description=gettext_lazy("Copy as a new draft"), permissions=["copy"])
    @answers_domain_errors(None)  # the message, and the changelist again
    def copy_as_draft(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one version to copy."), messages.ERROR)
            return None
        draft = policy_draft_copy(source=queryset.get(), actor=request.user)
        self.message_user(request, _("Draft v%(version)s created: edit it below.") % {"version": draft.version}, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:decisions_policyversion_change", args=[draft.pk]))

    # --- saving goes through the service -------------------------------------------------------

    def save_model(self, request, obj, form, change):
        requested_by = obj.activation_requested_by if obj.activation_requested_by_id else None
        try:
            saved = policy_draft_edit(
                version=obj, body=form.cleaned_data["body"], actor=request.user,
                name=form.cleaned_data.get("name"), notes=form.cleaned_data.get("notes"),
            )
        except DomainError as exc:
            request._policy_error = exc.message
        else:
            # The request was for the old body: whoever edits (often the approver) must know it is gone.
            if requested_by is not None and saved.activation_requested_by_id is None:
                request._policy_withdrawn = requested_by

    def save_related(self, request, form, formsets, change):
        pass  # no related objects are edited here

    def log_change(self, request, obj, message):
        if not getattr(request, "_policy_error", None):
            return super().log_change(request, obj, message)
        return None

    def response_change(self, request, obj):
        error = getattr(request, "_policy_error", None)
        if error:
            self.message_user(request, error, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:decisions_policyversion_change", args=[obj.pk]))
        withdrawn = getattr(request, "_policy_withdrawn", None)
        if withdrawn is not None:
            self._say_withdrawn(request, withdrawn)
        return super().response_change(request, obj)

    def _say_withdrawn(self, request, requester) -> None:
        self.message_user(
            request,
            _(
                "The activation request by %(requester)s was withdrawn: it was for the body before your edit. "
                "Simulate the draft again, then ask for its activation again."
            ) % {"requester": requester.get_username()},
            messages.WARNING,
        )

    # --- the governance pages ------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/diff/", wrap(self.diff_view), name="decisions_policyversion_diff"),
            path("<int:pk>/form/", wrap(self.sections_view), name="decisions_policyversion_sections"),
            path("<int:pk>/simulate/", wrap(self.simulate_view), name="decisions_policyversion_simulate"),
            path("<int:pk>/request-activation/", wrap(self.request_view), name="decisions_policyversion_request"),
            path("<int:pk>/approve/", wrap(self.approve_view), name="decisions_policyversion_approve"),
            path("<int:pk>/reject/", wrap(self.reject_view), name="decisions_policyversion_reject"),
            *super().get_urls(),
        ]

    def _version(self, request, pk: int) -> PolicyVersion:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(PolicyVersion.objects.select_related("copied_from", "activation_requested_by"), pk=pk)

    @staticmethod
    def _base(version: PolicyVersion) -> PolicyVersion | None:
        """What a version is compared with: the active one, or for the active one where it came from."""
        active = PolicyVersion.objects.filter(state=PolicyVersion.State.ACTIVE).first()
        return version.copied_from if active is None or active.pk == version.pk else active

    def _context(self, request, version: PolicyVersion, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": version,
            "title": extra.pop("title", str(version)),
            **extra,
        }

    def _version_or_none(self, object_id: str) -> PolicyVersion | None:
        """The version a change URL names; None for an id that is not one (`abc`, `1.5`) or is
        unknown, so Django's change view answers with its "doesn't exist" message, not a 500."""
        try:
            pk = self.model._meta.pk.to_python(unquote(object_id))
        except ValidationError:
            return None
        return PolicyVersion.objects.filter(pk=pk).select_related("activation_requested_by").first()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self._version_or_none(object_id)
        extra = dict(extra_context or {})
        if version is not None:
            user = request.user
            draft = version.state == PolicyVersion.State.DRAFT
            requested = version.activation_requested_by_id is not None
            base = self._base(version)
            extra.update(
                governance={
                    "base": base,
                    "changes": len(policy_diff(base, version)) if base else 0,
                    "simulations": list(
                        PolicySimulation.objects.filter(policy_version=version).select_related("requested_by").order_by("-created_at", "-pk")[:5]
                    ),
                    "fresh": fresh_simulation(version) if draft else None,
                    "can_simulate": draft and user.has_perm(CHANGE),
                    "can_request": draft and not requested and user.has_perm(ACTIVATE),
                    "can_decide": draft and requested and user.has_perm(ACTIVATE),
                    "requested_by_me": requested and version.activation_requested_by_id == user.pk,
                    # What other apps want the maker and the checker to read (a scorecard's report).
                    "evidence": evidence_for(version),
                }
            )
        return super().change_view(request, object_id, form_url, extra)

    def diff_view(self, request, pk: int):
        version = self._version(request, pk)
        base = self._base(version)
        return TemplateResponse(
            request, "admin/decisions/policyversion/diff.html",
            self._context(
                request, version, title=_("Changes in policy v%(version)s") % {"version": version.version},
                base=base, changes=policy_diff(base, version) if base else [],
            ),
        )

    def sections_view(self, request, pk: int):
        """The common edits in a form (policy_sections.py); read-only unless the version is a draft
        this user may change. A valid submit goes through `policy_draft_edit` like the JSON editor."""
        version = self._version(request, pk)
        editable = self.has_change_permission(request, version)
        here = reverse("admin:decisions_policyversion_sections", args=[version.pk])
        stamp = body_stamp(version).isoformat()
        if request.method == "POST" and not editable:
            self.message_user(request, _("Only a draft can be edited; copy this version into a new draft instead."), messages.ERROR)
            return HttpResponseRedirect(here)
        if request.method == "POST":
            form = PolicySectionsForm(request.POST, body=version.body, stamp=stamp)
            if form.is_valid():
                return self._save_sections(request, version, form.new_body(), here)
        else:
            form = PolicySectionsForm(body=version.body, stamp=stamp, read_only=not editable)
        title = (_("Edit policy v%(version)s in a form") if editable else _("Policy v%(version)s in a form (read-only)")) % {"version": version.version}
        return TemplateResponse(
            request, "admin/decisions/policyversion/sections.html",
            self._context(request, version, title=title, form=form, editable=editable, section_titles=SECTION_TITLES),
        )

    def _save_sections(self, request, version: PolicyVersion, body: dict, here: str):
        requested_by = version.activation_requested_by if version.activation_requested_by_id else None
        changed = len(policy_diff(version.body, body))
        try:
            saved = policy_draft_edit(version=version, body=body, actor=request.user)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(here)
        if not changed:
            self.message_user(request, _("Nothing changed: the draft is as it was."), messages.INFO)
            return HttpResponseRedirect(here)
        self.log_change(request, saved, [{"changed": {"fields": ["body"]}}])
        self.message_user(
            request,
            ngettext("Saved: %(n)d value of the draft changed.", "Saved: %(n)d values of the draft changed.", changed) % {"n": changed},
            messages.SUCCESS,
        )
        if requested_by is not None and saved.activation_requested_by_id is None:
            self._say_withdrawn(request, requested_by)
        return HttpResponseRedirect(here)

    def _confirm(self, request, version: PolicyVersion, *, action: str, title: str, question: str, note: str = "", **extra):
        base = self._base(version)
        return TemplateResponse(
            request, "admin/decisions/policyversion/confirm.html",
            self._context(
                request, version, title=title, question=question, action=action, note_label=note, base=base,
                changes=policy_diff(base, version) if base else [], fresh=fresh_simulation(version),
                evidence=evidence_for(version), **extra,
            ),
        )

    @answers_domain_errors(lambda self, request, version, *args, **kwargs: reverse("admin:decisions_policyversion_change", args=[version.pk]))
    def _done(self, request, version: PolicyVersion, call, success: str, target: str | None = None):
        result = call()
        self.message_user(request, success if not callable(success) else success(result), messages.SUCCESS)
        return HttpResponseRedirect(target(result) if callable(target) else target or reverse("admin:decisions_policyversion_change", args=[version.pk]))

    def simulate_view(self, request, pk: int):
        version = self._version(request, pk)
        if not request.user.has_perm(CHANGE):
            raise PermissionDenied
        if request.method != "POST":
            return self._confirm(
                request, version, action="simulate", title=_("Simulate policy v%(version)s") % {"version": version.version},
                question=_("Score the whole book under this draft? Nothing is written to customers; the report opens when it is done."),
            )
        return self._done(
            request, version, lambda: policy_simulate(version=version, actor=request.user),
            lambda s: _("Simulation %(pk)s started over %(customers)s customers.") % {"pk": s.pk, "customers": f"{s.total_customers:,}"},
            lambda s: reverse("decisions:simulation", args=[s.pk]),
        )

    def request_view(self, request, pk: int):
        version = self._version(request, pk)
        if not request.user.has_perm(ACTIVATE):
            raise PermissionDenied
        if request.method != "POST":
            return self._confirm(
                request, version, action="request", title=_("Request activation of policy v%(version)s") % {"version": version.version},
                question=_("Ask a second risk admin to activate this draft? They will see its diff and its simulation."),
                note=_("Justification: why this change, and what the simulation shows (the approver reads it)"),
            )
        justification = request.POST.get("note", "").strip()
        if not justification:
            self.message_user(request, _("Say why this draft should be activated: the approver reads the justification."), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:decisions_policyversion_request", args=[version.pk]))
        return self._done(
            request, version, lambda: policy_activation_request(version=version, actor=request.user, justification=justification),
            _("Activation requested: a second risk admin must approve it."),
        )

    def approve_view(self, request, pk: int):
        version = self._version(request, pk)
        if not request.user.has_perm(ACTIVATE):
            raise PermissionDenied
        if request.method != "POST":
            return self._confirm(
                request, version, action="approve", title=_("Approve activation of policy v%(version)s") % {"version": version.version},
                question=_("Activate this draft now? The active version is retired and a full recompute of the book starts."),
            )
        return self._done(
            request, version, lambda: policy_activation_approve(version=version, actor=request.user),
            lambda r: _("Policy v%(version)s is active; full recompute run %(run)s started.") % {"version": r[0].version, "run": r[1].pk},
            reverse("decisions:runs"),
        )

    def reject_view(self, request, pk: int):
        version = self._version(request, pk)
        if not request.user.has_perm(ACTIVATE):
            raise PermissionDenied
        if request.method != "POST":
            return self._confirm(
                request, version, action="reject", title=_("Reject activation of policy v%(version)s") % {"version": version.version},
                question=_("Turn this activation request down? The draft stays a draft."), note=_("Why (required)"),
            )
        return self._done(
            request, version, lambda: policy_activation_reject(version=version, actor=request.user, note=request.POST.get("note", "")),
            _("Activation request rejected; the draft stays a draft."),
        )

"""Filters of the compliance lists, shared by the pages and the CSV exports.

Each list has a form (plain GET parameters: the URL is the state) and a function from the form's
`cleaned_data` to an ordered queryset. The pages slice it into pages; the exports stream it whole.
Keep the signatures stable: `consent_queryset(cleaned_data)`, `acknowledgement_queryset(cleaned_data)`,
`notice_queryset(cleaned_data)` and `decisions_using_consent(consent)`.

Every filter hits an index: the customer through `external_id` (unique), consents through
`consent_lookup_idx` (customer, purpose, state) or the grant-time index of migration accounts/0004,
acknowledgements through their (customer, disclosure) key or their time index, notices through
`notice_customer_time_idx`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Mapping

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import (
    Consent,
    ConsentChannel,
    ConsentPurpose,
    ConsentState,
    Customer,
    CustomerLanguage,
    DisclosureAcknowledgement,
    DisclosureKind,
)
from decisions.models import CreditDecision, CustomerNotice, NoticeKind

__all__ = [
    "AcknowledgementFilterForm",
    "ConsentFilterForm",
    "NoticeFilterForm",
    "acknowledgement_queryset",
    "consent_queryset",
    "decisions_using_consent",
    "notice_queryset",
]

ANY = [("", _("Any"))]


def _day_start(day: date) -> datetime:
    """Midnight of a date in the viewer's time zone (dates on the page are the viewer's dates)."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def _date_range(qs: QuerySet, field: str, start: date | None, end: date | None) -> QuerySet:
    """`start` and `end` are whole days, both included."""
    if start:
        qs = qs.filter(**{f"{field}__gte": _day_start(start)})
    if end:
        qs = qs.filter(**{f"{field}__lt": _day_start(end + timedelta(days=1))})
    return qs


class _DateRangeForm(forms.Form):
    """A form with a `<prefix>_from` / `<prefix>_to` pair of dates; `to` may not precede `from`."""

    date_prefix = ""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get(f"{self.date_prefix}_from"), data.get(f"{self.date_prefix}_to")
        if start and end and end < start:
            self.add_error(f"{self.date_prefix}_to", _("The end date is before the start date."))
        return data


def _customer_field() -> forms.CharField:
    return forms.CharField(
        label=_("Customer"), required=False, max_length=40, strip=True, help_text=_("External id, e.g. C000123")
    )


def _date_field(label) -> forms.DateField:
    return forms.DateField(label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}))


class ConsentFilterForm(_DateRangeForm):
    date_prefix = "granted"

    customer = _customer_field()
    purpose = forms.ChoiceField(label=_("Purpose"), required=False, choices=ANY + list(ConsentPurpose.choices))
    state = forms.ChoiceField(label=_("State"), required=False, choices=ANY + list(ConsentState.choices))
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=ANY + list(ConsentChannel.choices))
    version = forms.IntegerField(
        label=_("Consent text version"), required=False, min_value=1, max_value=1_000_000,
        help_text=_("Version of the consent text the customer saw"),
    )
    granted_from = _date_field(_("Granted from"))
    granted_to = _date_field(_("Granted to"))


def consent_queryset(cleaned_data: Mapping[str, Any]) -> QuerySet[Consent]:
    """Consents matching the filters, newest grant first, with customer and consent text joined."""
    d = cleaned_data
    qs = Consent.objects.select_related("customer", "disclosure")
    if d.get("customer"):
        qs = qs.filter(customer__external_id=d["customer"])
    for name in ("purpose", "state", "channel"):
        if d.get(name):
            qs = qs.filter(**{name: d[name]})
    if d.get("version"):
        qs = qs.filter(disclosure__kind=DisclosureKind.CONSENT_TEXT, disclosure__version=d["version"])
    qs = _date_range(qs, "granted_at", d.get("granted_from"), d.get("granted_to"))
    return qs.order_by("-granted_at", "-id")


class AcknowledgementFilterForm(_DateRangeForm):
    date_prefix = "acknowledged"

    customer = _customer_field()
    kind = forms.ChoiceField(label=_("Document"), required=False, choices=ANY + list(DisclosureKind.choices))
    version = forms.IntegerField(label=_("Version"), required=False, min_value=1, max_value=1_000_000)
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=ANY + list(ConsentChannel.choices))
    acknowledged_from = _date_field(_("Acknowledged from"))
    acknowledged_to = _date_field(_("Acknowledged to"))


def acknowledgement_queryset(cleaned_data: Mapping[str, Any]) -> QuerySet[DisclosureAcknowledgement]:
    """Acknowledgements matching the filters, newest first, with customer and document joined."""
    d = cleaned_data
    qs = DisclosureAcknowledgement.objects.select_related("customer", "disclosure")
    if d.get("customer"):
        qs = qs.filter(customer__external_id=d["customer"])
    if d.get("kind"):
        qs = qs.filter(disclosure__kind=d["kind"])
    if d.get("version"):
        qs = qs.filter(disclosure__version=d["version"])
    if d.get("channel"):
        qs = qs.filter(channel=d["channel"])
    qs = _date_range(qs, "acknowledged_at", d.get("acknowledged_from"), d.get("acknowledged_to"))
    return qs.order_by("-acknowledged_at", "-id")


def decisions_using_consent(consent: Consent) -> QuerySet[CreditDecision]:
    """Every decision whose score snapshot read data under this consent (provenance), newest first."""
    return (
        CreditDecision.objects.filter(snapshot__consents_used=consent)
        .select_related("customer", "snapshot", "policy_version")
        .order_by("-decided_at", "-id")
    )


class NoticeFilterForm(_DateRangeForm):
    date_prefix = "created"

    customer = _customer_field()
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=ANY + list(NoticeKind.choices))
    language = forms.ChoiceField(label=_("Language"), required=False, choices=ANY + list(CustomerLanguage.choices))
    created_from = _date_field(_("Written from"))
    created_to = _date_field(_("Written to"))


def notice_queryset(cleaned_data: Mapping[str, Any]) -> QuerySet[CustomerNotice]:
    """Customer notices matching the filters, newest first, with customer, decision and disclosure joined."""
    d = cleaned_data
    qs = CustomerNotice.objects.select_related("customer", "decision", "disclosure")
    if d.get("customer"):
        qs = qs.filter(customer__external_id=d["customer"])
    if d.get("kind"):
        qs = qs.filter(kind=d["kind"])
    if d.get("language"):
        qs = qs.filter(language=d["language"])
    qs = _date_range(qs, "created_at", d.get("created_from"), d.get("created_to"))
    return qs.order_by("-created_at", "-id")


class SubjectLookupForm(forms.Form):
    """The compliance landing page's "open the data-subject report" box: a customer id that exists."""

    customer = forms.CharField(label=_("Customer id"), max_length=40, strip=True)

    def clean_customer(self) -> str:
        value = self.cleaned_data["customer"]
        if not Customer.objects.filter(external_id=value).exists():
            raise forms.ValidationError(_("No customer with this id."))
        return value

"""Reads for the audit trail page, its event page and its export.

The trail grows by about a million events a year, so the page never counts or offsets through it:
it pages by keyset (`id < cursor ORDER BY id DESC LIMIT n+1`), each filter has an index that
serves that order (action, actor, target: riskops/core/migrations/0006), and the "how many match"
figure is counted up to a cap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Iterator

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from riskops.core.models import AuditAction, AuditEvent

from .models import AuditVerification, VerificationStatus

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
# "10,000+ events": an exact count over a million rows would cost more than the page itself.
COUNT_CAP = 10_000
SYSTEM_ACTOR = "system"


class AuditFilterForm(forms.Form):
    """The page's GET parameters (the URL is the state); the export takes the same ones."""

    actor = forms.CharField(
        label=_("Actor"), required=False, max_length=150, help_text=_("A username, or \"system\" for jobs.")
    )
    action = forms.ChoiceField(label=_("Action"), required=False, choices=[("", _("Any action"))] + list(AuditAction.choices))
    target_type = forms.CharField(label=_("Object type"), required=False, max_length=64, help_text=_("e.g. decisions.override"))
    target_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    since = forms.DateField(label=_("From (date)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To (date, inclusive)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    page_size = forms.TypedChoiceField(
        label=_("Rows per page"), required=False, coerce=int, choices=[(n, n) for n in PAGE_SIZES], empty_value=DEFAULT_PAGE_SIZE
    )

    FILTER_FIELDS = ("actor", "action", "target_type", "target_id", "since", "until")

    def clean_actor(self) -> str:
        return (self.cleaned_data.get("actor") or "").strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        if data.get("target_id") and not data.get("target_type"):
            self.add_error("target_type", _("Give the object type with the object id."))
        return data

    def filters(self) -> dict[str, Any]:
        """The valid filters that are set (an invalid form filters nothing: the page says why)."""
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if k in self.FILTER_FIELDS and v not in (None, "")}

    def query(self, **extra: Any) -> str:
        params = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in self.filters().items()}
        params.update({k: v for k, v in extra.items() if v not in (None, "")})
        return urlencode(params)


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def audit_events(*, filters: dict[str, Any]) -> QuerySet[AuditEvent]:
    """Events matching the page's filters (unordered: the page and the export order them)."""
    qs = AuditEvent.objects.all()
    actor = filters.get("actor")
    if actor:
        if actor == SYSTEM_ACTOR:
            qs = qs.filter(actor__isnull=True)
        else:
            # By id, not by label: (actor, -id) is indexed, and a renamed user keeps their events.
            user_id = get_user_model().objects.filter(username=actor).values_list("pk", flat=True).first()
            qs = qs.filter(actor_id=user_id) if user_id is not None else qs.none()
    if filters.get("action"):
        qs = qs.filter(action=filters["action"])
    if filters.get("target_type"):
        qs = qs.filter(target_type=filters["target_type"])
        if filters.get("target_id"):
            qs = qs.filter(target_id=filters["target_id"])
    if filters.get("since"):
        qs = qs.filter(occurred_at__gte=_day_start(filters["since"]))
    if filters.get("until"):
        qs = qs.filter(occurred_at__lt=_day_start(filters["until"] + timedelta(days=1)))
    return qs


@dataclass
class AuditPage:
    events: list[AuditEvent]
    newer_cursor: int | None  # ?after=<id>: the page of events just newer than these
    older_cursor: int | None  # ?before=<id>
    matching: int
    matching_capped: bool


def audit_page(*, filters: dict[str, Any], before: int | None = None, after: int | None = None, size: int = DEFAULT_PAGE_SIZE) -> AuditPage:
    """One page, newest first. Queries: capped count, rows (+1 to know if there is more), and
    one `exists` for the other direction when a cursor was given."""
    qs = audit_events(filters=filters)
    matching = qs.order_by()[: COUNT_CAP + 1].count()
    if after is not None:
        rows = list(qs.filter(id__gt=after).order_by("id")[: size + 1])
        has_newer = len(rows) > size
        events = rows[:size][::-1]
        has_older = bool(events) and qs.filter(id__lt=events[-1].id).exists()
    else:
        if before is not None:
            qs_page = qs.filter(id__lt=before)
        else:
            qs_page = qs
        rows = list(qs_page.order_by("-id")[: size + 1])
        has_older = len(rows) > size
        events = rows[:size]
        has_newer = before is not None and bool(events) and qs.filter(id__gt=events[0].id).exists()
    return AuditPage(
        events=events,
        newer_cursor=events[0].id if events and has_newer else None,
        older_cursor=events[-1].id if events and has_older else None,
        matching=min(matching, COUNT_CAP),
        matching_capped=matching > COUNT_CAP,
    )


# ---------------------------------------------------------------------------------------------
# One event: before and after as a field-level diff


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested JSON as {path: leaf}: `limit.amount`, `reasons[0].code`. An empty dict or list is a
    leaf of its own, so `{}` → `{"x": {}}` still shows up as a change."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key in sorted(value, key=str):
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value} if prefix else ({} if value in ({}, [], None) else {"(value)": value})


def show(value: Any) -> str:
    """A leaf as a reader sees it: strings as they are, everything else as JSON (null, true, 3)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class DiffRow:
    path: str
    kind: str  # added | removed | changed | unchanged
    before: str
    after: str


def field_diff(before: Any, after: Any) -> list[DiffRow]:
    old, new = flatten(before or {}), flatten(after or {})
    rows = []
    for path in sorted(old.keys() | new.keys()):
        if path not in old:
            rows.append(DiffRow(path, "added", "", show(new[path])))
        elif path not in new:
            rows.append(DiffRow(path, "removed", show(old[path]), ""))
        elif old[path] != new[path] or type(old[path]) is not type(new[path]):
            rows.append(DiffRow(path, "changed", show(old[path]), show(new[path])))
        else:
            rows.append(DiffRow(path, "unchanged", show(old[path]), show(new[path])))
    return rows


# ---------------------------------------------------------------------------------------------
# Verification status


@dataclass
class VerificationStatusView:
    last: AuditVerification | None  # the last finished run
    pending: AuditVerification | None  # queued or running now
    history: list[AuditVerification] = field(default_factory=list)


def verification_status(*, history: int = 5) -> VerificationStatusView:
    recent = list(AuditVerification.objects.select_related("requested_by").order_by("-requested_at", "-id")[: max(history, 1) + 5])
    finished = [v for v in recent if v.finished]
    last = finished[0] if finished else AuditVerification.objects.exclude(
        status__in=(VerificationStatus.PENDING, VerificationStatus.RUNNING)
    ).select_related("requested_by").order_by("-requested_at", "-id").first()
    pending = next((v for v in recent if not v.finished), None)
    if pending is not None and last is not None and pending.requested_at < last.requested_at:
        pending = None  # an old row that lost its worker; the newer finished run supersedes it
    return VerificationStatusView(last=last, pending=pending, history=recent[:history])


def export_rows(*, filters: dict[str, Any], chunk_size: int = 2000) -> Iterator[tuple]:
    """The audit export's rows in chain order, streamed (server-side cursor on PostgreSQL), each
    with its action label and its target in words beside the raw codes and internal id."""
    qs = audit_events(filters=filters).order_by("id").values_list(
        "id", "occurred_at", "actor_label", "action", "target_type", "target_id", "before", "after", "prev_hash", "hash"
    )
    from .exports import stream_queryset

    return _named(stream_queryset(qs, chunk_size=chunk_size), batch=min(chunk_size, 500))


def _named(rows: Iterator[tuple], *, batch: int) -> Iterator[tuple]:
    """Rows batch by batch with the label and target name inserted: one query per target type
    per batch, memory flat."""
    from .audit_targets import target_names

    labels = dict(AuditAction.choices)
    chunk: list[tuple] = []

    def flush() -> Iterator[tuple]:
        names = target_names((r[4], r[5]) for r in chunk)
        for r in chunk:
            yield (*r[:4], str(labels.get(r[3], r[3])), names[(r[4], str(r[5]))].text, *r[4:])
        chunk.clear()

    for row in rows:
        chunk.append(row)
        if len(chunk) >= batch:
            yield from flush()
    if chunk:
        yield from flush()

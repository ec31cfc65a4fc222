"""The data-subject report: everything held about one customer and every decision made.

One list of sections, read two ways: the printable page takes each section's count and its
newest rows (up to `PAGE_ROWS`), the JSON download streams every row of every section through
`.iterator(chunk_size=...)`, so a customer with 100,000 transactions costs one chunk of memory.
National id and phone are unmasked only for a viewer with `accounts.view_customer_pii`.
Producing a report is audited (`subject.report`) by `subject_report_record`.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterator

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import CharField, Count, Max, Min, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _

from accounts.models import Consent, ConsentEvent, Customer
from decisions.models import CaseNote, CreditLine, Override, RiskAlert
from decisions.presentation.formats import MONEY_FEATURES, money, when
from decisions.presentation.sources import data_source_names
from decisions.presentation.texts import reason_text
from riskops.core.audit import audit_record
from riskops.core.models import AuditAction, AuditEvent
from riskops.core.roles import COMPLIANCE, has_role

from ..report_words import document_name, key_label, transaction_kind_name

PII_PERMISSION = "accounts.view_customer_pii"
PAGE_ROWS = 100
CHUNK = 1000


@dataclass(frozen=True)
class Section:
    key: str
    title: Any
    rows: Callable[[Customer], QuerySet]  # newest first
    to_dict: Callable[[Any], dict[str, Any]]


def _values(obj: Any, *exclude: str) -> dict[str, Any]:
    """Every concrete field of a row, foreign keys as ids: "everything held", not a selection."""
    out = {}
    for f in obj._meta.concrete_fields:
        if f.name in exclude:
            continue
        out[f.attname] = getattr(obj, f.attname)
    return out


def _consent(c: Consent) -> dict[str, Any]:
    return {
        **_values(c, "customer"),
        "consent_text_version": c.disclosure.version,
        "ledger": [_values(e, "consent") for e in c.events.all()],
    }


def _snapshot(s) -> dict[str, Any]:
    return {**_values(s, "customer"), "policy_version": s.policy_version.version, "consents_used": [c.pk for c in s.consents_used.all()]}


def _decision(d) -> dict[str, Any]:
    return {**_values(d, "customer"), "policy_version": d.policy_version.version}


def _notice(n) -> dict[str, Any]:
    return {**_values(n, "customer"), "risk_disclosure_version": n.disclosure.version if n.disclosure else None}


def _note(n) -> dict[str, Any]:
    return {**_values(n, "customer"), "author": n.author.get_username()}


def _ids_as_text(qs: QuerySet) -> QuerySet:
    # AuditEvent.target_id is text (it also names things that are not one row): compare as text.
    return qs.annotate(_id=Cast("pk", CharField())).values("_id")


def _audit_events(customer: Customer) -> QuerySet:
    """Audit events whose object is the customer, or one of its consents, overrides, alerts or
    case notes: who changed what about this person, and when (each lookup on `audit_target_idx`)."""
    targets = Q(target_type="accounts.customer", target_id=str(customer.pk))
    for model, related in ((Consent, "consents"), (Override, "overrides"), (RiskAlert, "alerts"), (CaseNote, "case_notes")):
        targets |= Q(target_type=model._meta.label_lower, target_id__in=_ids_as_text(getattr(customer, related).all()))
    return AuditEvent.objects.filter(targets).order_by("-id")


def _audit_event(e: AuditEvent) -> dict[str, Any]:
    return {
        "id": e.pk, "occurred_at": e.occurred_at, "actor": e.actor_label, "action": e.action,
        "target_type": e.target_type, "target_id": e.target_id, "before": e.before, "after": e.after, "hash": e.hash,
    }


@contextmanager
def one_snapshot() -> Iterator[None]:
    """Every section read from one snapshot of the database, so the report is consistent (an
    event stored while it is written is in all of it or in none): a read-only REPEATABLE READ
    transaction on PostgreSQL when this opens the transaction; SQLite's transaction already reads
    one snapshot."""
    opens = not connection.in_atomic_block  # inside someone's transaction (a test) it reads theirs
    with transaction.atomic():
        if opens and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


SECTIONS: list[Section] = [
    Section(
        "consents", _("Consents and their ledger"),
        lambda c: c.consents.select_related("disclosure").prefetch_related(Prefetch("events", queryset=ConsentEvent.objects.order_by("occurred_at", "id"))).order_by("-granted_at", "-id"),
        _consent,
    ),
    Section(
        "acknowledgements", _("Disclosure acknowledgements"),
        lambda c: c.acknowledgements.select_related("disclosure").order_by("-acknowledged_at", "-id"),
        lambda a: {**_values(a, "customer"), "document": a.disclosure.kind, "version": a.disclosure.version, "content_hash": a.disclosure.content_hash},
    ),
    Section("decisions", _("Decisions"), lambda c: c.decisions.select_related("policy_version").order_by("-decided_at", "-id"), _decision),
    Section(
        "score_snapshots", _("Score snapshots"),
        lambda c: c.score_snapshots.select_related("policy_version").prefetch_related(Prefetch("consents_used", queryset=Consent.objects.only("id"))).order_by("-computed_at", "-id"),
        _snapshot,
    ),
    Section("overrides", _("Overrides"), lambda c: c.overrides.order_by("-created_at", "-id"), lambda o: _values(o, "customer")),
    Section("notices", _("Customer notices"), lambda c: c.notices.select_related("disclosure").order_by("-created_at", "-id"), _notice),
    Section("alerts", _("Risk alerts"), lambda c: c.alerts.order_by("-raised_at", "-id"), lambda a: _values(a, "customer")),
    Section("case_notes", _("Case notes"), lambda c: c.case_notes.select_related("author").order_by("-created_at", "-id"), _note),
    Section("applications", _("Credit applications"), lambda c: c.applications.order_by("-applied_at", "-id"), lambda a: _values(a, "customer")),
    Section("bureau_reports", _("Bureau reports"), lambda c: c.bureau_reports.order_by("-reported_at", "-id"), lambda b: _values(b, "customer")),
    Section("installments", _("Repayment installments"), lambda c: c.installments.order_by("-due_on", "-id"), lambda i: _values(i, "customer")),
    Section("transactions", _("Transactions"), lambda c: c.transactions.order_by("-occurred_at", "-id"), lambda t: _values(t, "customer")),
    # Every draw check at checkout is a decision about the customer too (allow / deny / review).
    Section("draw_checks", _("Draw checks at checkout"), lambda c: c.draw_checks.order_by("-checked_at", "-id"), lambda d: _values(d, "customer")),
    Section("audit_events", _("Audit trail about the customer"), lambda c: _audit_events(c), _audit_event),
]


def shows_pii(viewer: Any) -> bool:
    """A data-subject report answers the person's own request: the compliance officer who
    produces it sees the identity in full (and the access is audited, `pii_unmasked`); other
    viewers need the PII permission."""
    return has_role(viewer, COMPLIANCE) or viewer.has_perm(PII_PERMISSION)


def identity(customer: Customer, *, viewer: Any) -> dict[str, Any]:
    show_pii = shows_pii(viewer)
    return {
        "external_id": customer.external_id,
        "full_name": customer.full_name,
        "national_id": customer.national_id if show_pii else customer.national_id_masked,
        "phone": customer.phone if show_pii else customer.phone_masked,
        "pii_masked": not show_pii,
        "onboarded_at": customer.onboarded_at,
        "language": customer.language,
        "created_at": customer.created_at,
    }


def credit_line(customer: Customer) -> dict[str, Any] | None:
    line = CreditLine.objects.filter(customer=customer).first()
    return _values(line, "customer") if line else None


def line_in_words(customer: Customer) -> dict[str, str] | None:
    """The credit line as the page says it: access and band with their labels, money formatted."""
    line = CreditLine.objects.filter(customer=customer).first()
    if line is None:
        return None
    return {
        "access": line.get_access_display(),
        "limit": cell(line.limit_amount),
        "score": cell(line.score),
        "band": line.get_band_display() if line.band else "",
        "suspended_until": cell(line.suspended_until) if line.suspended_until else "",
    }


def transaction_summary(customer: Customer) -> list[dict[str, Any]]:
    """Per kind: how many, how much, first and last (one aggregate query)."""
    return list(
        customer.transactions.order_by("kind").values("kind").annotate(
            count=Count("id"), total=Sum("amount"), first=Min("occurred_at"), last=Max("occurred_at")
        )
    )


# ---------------------------------------------------------------------------------------------
# The page


class Cell(str):
    """A cell's text, with how the page sets it: `recorded` values (stored JSON, codes from the
    payments app) in the monospace of recorded data, `lang` for text in the customer's language."""

    recorded: bool = False
    lang: str = ""

    @classmethod
    def of(cls, text: str, *, recorded: bool = False, lang: str = "") -> "Cell":
        out = cls(text)
        out.recorded, out.lang = recorded, lang
        return out


def _words(value: Any) -> str:
    """A nested value in words, "key: value; key: value", never raw JSON on the page; keys named
    in the viewer's language where the report knows them (compliance/report_words.py)."""
    if isinstance(value, dict):
        return gettext("; ").join(
            gettext("%(key)s: %(value)s") % {"key": key_label(str(k)), "value": money(v) if str(k) in MONEY_FEATURES and v is not None else _words(v)}
            for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
        ) or "—"
    if isinstance(value, list):
        return gettext(", ").join(_words(v) for v in value) or "—"
    return cell(value)


def cell(value: Any) -> str:
    """One value as the printed page shows it: times in the viewer's zone, money with two
    decimals and the currency, yes/no, nested values in words."""
    if value is None or value == "":
        return "—"
    if hasattr(value, "tzinfo") and hasattr(value, "hour"):
        return when(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return _words(value)
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, Decimal):
        return money(value)
    return str(value)


# Columns whose values are codes of the payments app or the bureau, shown as recorded.
RECORDED_CODES = {"merchant_category", "bureau"}


def _field_cell(field: Any, value: Any, key: str = "", row: dict[str, Any] | None = None) -> str:
    """A value with its meaning: a choice as its label, reasons as sentences, sources and
    actions in words, stored JSON labelled and set as recorded, not its code."""
    if value in (None, "", [], {}):
        return cell(value)
    if key == "reasons" and row is not None and "review_text" in row and isinstance(value, list):
        # A notice's reasons as the customer was sent them, in their language.
        return Cell.of(" ".join(str(r.get("text", "")) for r in value if isinstance(r, dict)), lang=row.get("language") or "")
    if key in ("reasons", "reason_codes") and isinstance(value, list):
        return " ".join(reason_text(r) if isinstance(r, dict) else reason_text({"code": r, "text": r}) for r in value)
    if key == "data_sources" and isinstance(value, list):
        return data_source_names(value)
    if key == "action" and field is None:
        return str(dict(AuditAction.choices).get(value, value))
    if key == "document":
        return document_name(value)
    if key == "actor" and value == "system":
        return gettext("system")
    if key == "review_text" and row is not None:
        return Cell.of(cell(value), lang=row.get("language") or "")
    if field is not None and field.choices:
        label = dict(field.flatchoices).get(value)
        if label is not None:
            return str(label)
    if isinstance(value, (dict, list)) or key in RECORDED_CODES:
        return Cell.of(cell(value), recorded=True)
    return cell(value)


@dataclass
class PageSection:
    key: str
    title: Any
    total: int
    rows: list[dict[str, Any]]
    model: Any = None

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)

    def _fields(self) -> dict[str, Any]:
        if self.model is None:
            return {}
        return {f.attname: f for f in self.model._meta.concrete_fields}

    @property
    def keys(self) -> list[str]:
        return list(self.rows[0]) if self.rows else []

    @property
    def columns(self) -> list[str]:
        """Headings in words: the field's verbose name ("raised at"), not its attribute name."""
        fields = self._fields()
        out = []
        for key in self.keys:
            field = fields.get(key)
            name = str(field.verbose_name) if field is not None else key_label(key)
            out.append(name[:1].upper() + name[1:])
        return out

    @property
    def cells(self) -> list[list[str]]:
        fields = self._fields()
        return [[_field_cell(fields.get(col), row.get(col), col, row) for col in self.keys] for row in self.rows]


def subject_report_page(*, customer: Customer, viewer: Any, page_rows: int = PAGE_ROWS) -> dict[str, Any]:
    """The printable page: identity, line, transaction summary, each section's count and newest
    rows, all read from one snapshot."""
    with one_snapshot():
        sections = []
        for section in SECTIONS:
            qs = section.rows(customer)
            rows = [section.to_dict(obj) for obj in qs[:page_rows]]
            total = len(rows) if len(rows) < page_rows else qs.order_by().count()
            sections.append(PageSection(section.key, section.title, total, rows, model=qs.model))
        return {
            "identity": identity(customer, viewer=viewer),
            "credit_line": credit_line(customer),
            "line_words": line_in_words(customer),
            "transaction_summary": [
                {**row, "total_text": cell(row["total"]), "kind_text": transaction_kind_name(row["kind"])}
                for row in transaction_summary(customer)
            ],
            "sections": sections,
            "generated_at": timezone.now(),
        }


# ---------------------------------------------------------------------------------------------
# The JSON download, streamed


def _dump(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)


def subject_report_json(*, customer: Customer, viewer: Any, chunk_size: int = CHUNK) -> Iterator[str]:
    """The whole report as one JSON object, written section by section, row by row, from one
    snapshot (the read transaction lasts as long as the download; on PostgreSQL it also lets
    `.iterator()` stream through a server-side cursor instead of a materialised WITH HOLD one)."""
    with one_snapshot():
        yield from _report_json(customer=customer, viewer=viewer, chunk_size=chunk_size)


def _report_json(*, customer: Customer, viewer: Any, chunk_size: int) -> Iterator[str]:
    head = {
        "report": "data-subject report",
        "generated_at": timezone.now(),
        "generated_by": viewer.get_username(),
        "customer": identity(customer, viewer=viewer),
        "credit_line": credit_line(customer),
        "transaction_summary": transaction_summary(customer),
    }
    yield _dump(head)[:-1]  # the object stays open for the sections
    for section in SECTIONS:
        yield f",{_dump(section.key)}:["
        first = True
        for obj in section.rows(customer).iterator(chunk_size=chunk_size):
            yield ("" if first else ",") + _dump(section.to_dict(obj))
            first = False
        yield "]"
    yield "}"


@transaction.atomic
def subject_report_record(*, actor: Any, customer: Customer, fmt: str) -> None:
    """Audit that a report was produced: who, about whom, which format, PII shown or masked."""
    audit_record(
        actor=actor,
        action=AuditAction.SUBJECT_REPORT,
        target=customer,
        after={"format": fmt, "external_id": customer.external_id, "pii_unmasked": shows_pii(actor)},
    )

"""Admin for the audit trail, and what every ledger admin shares: read-only, and fast at scale.

At 100,000 customers the transactions table holds 5.4M rows. Three things made the stock admin
slow there, and `LargeTableAdminMixin` removes each of them:
- an exact `COUNT(*)` on every changelist view (~1 s on 5.4M rows; the admin runs two when
  `show_full_result_count` is on): `LargeTablePaginator` takes the planner's statistics
  (`reltuples`) for an unfiltered list and counts a filtered one only up to the last page shown;
- deep pages (`?p=50000` is `OFFSET 5,000,000`: seconds): pages stop at `max_rows`; past that,
  narrow the list with a filter or a search;
- searches that no index serves (`icontains`, and `=`/`^`, which Django turns into
  `UPPER(col) = UPPER(…)`, and an OR across a join, which PostgreSQL answers with a hash join
  over the whole table): `IndexedSearchMixin` matches only exact values or case-sensitive
  prefixes (the btree and `varchar_pattern_ops` indexes Django creates for unique and indexed
  CharFields), and resolves a related id in a query of its own.
"""

from functools import cached_property
from typing import Any

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import DecimalField, Model, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy

from .formats import BLANK, money
from .models import AuditEvent

# Below this many rows (by the planner's estimate) an exact count costs a few milliseconds and
# reads better than an estimate; above it the estimate stands.
EXACT_COUNT_BELOW = 10_000


def planner_row_estimate(queryset: QuerySet) -> int | None:
    """PostgreSQL's estimate of the rows in `queryset`'s table; None elsewhere or when unknown.

    `pg_class.reltuples` scaled to the table's current size, as the planner does it
    (reltuples / relpages × pages now), so the figure follows growth since the last ANALYZE.
    One catalog read and a file size: well under a millisecond, whatever the table. None for a
    table never analysed (reltuples = -1): the planner would then guess from the page count,
    which dead rows inflate without bound (a rolled-back bulk load left a 42-row table
    "estimated" at 25,000), so the caller counts exactly until (auto)vacuum has analysed it.
    """
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT CASE
                WHEN reltuples < 0 THEN NULL
                WHEN relpages = 0 THEN reltuples
                ELSE reltuples / relpages * (pg_relation_size(oid) / current_setting('block_size')::int)
            END
            FROM pg_class WHERE oid = %s::regclass
            """,
            [connection.ops.quote_name(queryset.model._meta.db_table)],
        )
        row = cursor.fetchone()
    return None if row is None or row[0] is None else int(row[0])


class LargeTablePaginator(Paginator):
    """A paginator that never counts a large table exactly and never offers a deep page.

    - Unfiltered on PostgreSQL, with an estimate of `EXACT_COUNT_BELOW` rows or more: the
      planner's estimate (`estimated`). On SQLite (books up to ~20,000 customers), for small
      tables and for a table not analysed yet: an exact count.
    - Filtered (a list filter or a search): an exact count of at most `max_rows + 1` rows
      (`SELECT COUNT(*) FROM (… LIMIT n)`), so a broad filter costs a bounded scan; `capped`
      says there are more.
    - Pages end at `max_rows`: a page past it is out of range (the admin answers with its
      "invalid page" redirect), since `OFFSET` costs a walk over every row it skips.
    """

    max_rows = 10_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.estimated = False
        self.capped = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not queryset.query.where:
            estimate = planner_row_estimate(queryset)
            if estimate is not None and estimate >= EXACT_COUNT_BELOW:
                self.estimated = True
                return estimate
            return queryset.count()
        bounded = queryset.order_by()[: self.max_rows + 1].count()
        if bounded > self.max_rows:
            self.capped = True
            return self.max_rows
        return bounded

    @cached_property
    def num_pages(self) -> int:
        return min(super().num_pages, max(1, -(-self.max_rows // self.per_page)))


class IndexedSearchMixin:
    """The admin search box, with lookups an index serves, whatever the size of the table.

    Each entry of `search_fields` is a field path:
    - `"external_id"`: exact match on this model's column (unique or indexed);
    - `"^external_id"`: case-sensitive prefix (`LIKE 'x%'`, served by the btree /
      `varchar_pattern_ops` index Django creates for a unique or indexed CharField);
    - `"customer__external_id"`: the related rows are found first by an exact match in their own
      table (one indexed query, at most `related_search_limit` ids), then this table is matched on
      its foreign key column (indexed). The result is one OR of index lookups on this table;
      written as a join instead, PostgreSQL hash-joins the whole table.
    A term an integer field cannot hold (`id` searched with "abc") is skipped, not an error.
    Subclasses add their own conditions with `search_conditions`.
    """

    related_search_limit = 100

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        conditions = self.search_conditions(term)
        if not conditions:
            return queryset.none(), False
        match = Q()
        for condition in conditions:
            match |= condition
        return queryset.filter(match), False

    def search_conditions(self, term: str) -> list[Q]:
        conditions = []
        for entry in self.search_fields:
            prefix = entry.startswith("^")
            path = entry.lstrip("^=")
            *relation, name = path.split("__")
            model = self._search_model(relation)
            value = _as_field_value(model, name, term)
            if value is None:
                continue
            lookup = f"{name}__startswith" if prefix else name
            if relation:
                ids = list(model._default_manager.filter(**{lookup: value}).values_list("pk", flat=True)[: self.related_search_limit])
                if ids:
                    conditions.append(Q(**{"__".join(relation) + "__in": ids}))
            else:
                conditions.append(Q(**{lookup: value}))
        return conditions

    def _search_model(self, relation: list[str]) -> type[Model]:
        model = self.model
        for name in relation:
            model = model._meta.get_field(name).related_model
        return model


def _as_field_value(model: type[Model], name: str, term: str) -> Any:
    try:
        field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        value = field.to_python(term)
    except (FieldDoesNotExist, ValidationError, ValueError, TypeError):
        return None
    max_length = getattr(field, "max_length", None)
    if isinstance(value, str) and max_length and len(value) > max_length:
        return None  # longer than the column: cannot match, so no query for it
    return value


class LargeTableAdminMixin(IndexedSearchMixin):
    """Changelist settings for a table that grows with the book (see the module docstring)."""

    paginator = LargeTablePaginator
    show_full_result_count = False


def money_field_names(model: type[Model]) -> tuple[str, ...]:
    """The model's amounts: every money column is a DecimalField with two decimals (limits,
    amounts, debts); the other decimals (a probability, a hazard) have more."""
    return tuple(f.name for f in model._meta.concrete_fields if isinstance(f, DecimalField) and f.decimal_places == 2)


def _money_column(model: type[Model], name: str):
    field = model._meta.get_field(name)

    @admin.display(description=field.verbose_name, ordering=name)
    def column(obj: Model) -> str:
        value = getattr(obj, name)
        return money(value, blank=BLANK)

    return column


class MoneyDisplayMixin:
    """Amounts as every page writes them (¥12,345.00, riskops/core/formats.py) in the admin's lists
    and read-only pages, instead of Django's bare `12345.00`.

    Each money column `amount` is shown through a display function `amount__money` (the field's
    verbose name, sorted by the column), swapped into the list and, on a page that shows the row
    read-only, into its fields. An editable form keeps the plain number input."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.money_fields = money_field_names(self.model)
        for name in self.money_fields:
            setattr(self, f"{name}__money", _money_column(self.model, name))

    def _money_swap(self, names: Any) -> list[Any]:
        out: list[Any] = []
        for name in names:
            if isinstance(name, (list, tuple)):
                name = tuple(self._money_swap(name))
            elif isinstance(name, str) and name in self.money_fields:
                name = f"{name}__money"
            if name not in out:
                out.append(name)
        return out

    def get_list_display(self, request: HttpRequest) -> Any:
        return self._money_swap(super().get_list_display(request))

    def _read_only(self, request: HttpRequest, obj: Model | None) -> bool:
        return not self.has_change_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fields = super().get_readonly_fields(request, obj)
        if self.money_fields and self._read_only(request, obj):
            return [*fields, *(f"{name}__money" for name in self.money_fields if f"{name}__money" not in fields)]
        return fields

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fields = super().get_fields(request, obj)
        if self.money_fields and self._read_only(request, obj):
            return self._money_swap(fields)
        return fields


class ReadOnlyAdminMixin(MoneyDisplayMixin):
    """View permission only: no add, change or delete, for ModelAdmins and inlines alike.

    Ledgers are written by services (which lock, re-check and audit) or arrive through the API;
    an admin form would bypass all of that. Django renders the change page as a read-only view
    and drops the bulk-delete action when these return False. `obj` is optional because
    `InlineModelAdmin.has_add_permission` takes it and `ModelAdmin.has_add_permission` does not.
    Amounts show with the currency (MoneyDisplayMixin).
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
class AuditEventAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("id", "occurred_at", "actor_name", "action", "target_type_code", "target_id")
    # No date_hierarchy: on a table this size its year/month drill-down runs a DISTINCT over every
    # row on each page load; the date filter's choices are fixed ranges and cost no query, and
    # occurred_at is indexed. action's choices are the AuditAction list (no query; indexed). Not
    # target_type: without choices its filter lists a SELECT DISTINCT over the whole trail.
    list_filter = ("occurred_at", "action")
    # action and hash are indexed; a target is searched as "type:id" (audit_target_idx), since
    # target_id alone is not the index's leading column.
    search_fields = ("^action", "hash")
    search_help_text = gettext_lazy("An action prefix (decision.), an event hash, or a target as type:id (accounts.customer:42).")
    # Chain order is id order, and the primary key is the one index that serves it.
    ordering = ("-id",)
    raw_id_fields = ("actor",)

    @admin.display(description=gettext_lazy("actor"), ordering="actor_label")
    def actor_name(self, event: AuditEvent) -> str:
        # A job's events carry actor_label "system": named in the viewer's language.
        return event.actor_label if event.actor_id else gettext("system")

    @admin.display(description=gettext_lazy("target type"), ordering="target_type")
    def target_type_code(self, event: AuditEvent) -> str:
        # A code (accounts.customer, seed), set as code, as the compliance pages do.
        return format_html("<code>{}</code>", event.target_type)

    def search_conditions(self, term: str) -> list[Q]:
        conditions = super().search_conditions(term)
        target_type, colon, target_id = term.rpartition(":")
        if colon and target_type and target_id:
            conditions.append(Q(target_type=target_type, target_id=target_id))
        return conditions
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

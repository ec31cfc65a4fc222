"""The book's distribution for monitoring, counted by the database in one aggregate query.

The book is each customer's latest scored `ScoreSnapshot` under a policy version, computed before
a moment and no more than `SNAPSHOT_MAX_AGE_DAYS` before it (the same window as the development
sample: an older snapshot no longer says where the customer stands). The latest snapshot is found
per customer by a correlated subquery on `snapshot_customer_time_idx` (customer, -computed_at): one
index probe per customer, where ranking every snapshot of the window with a window function would
sort a month of nightly rows (3 million at 100,000 customers).

The counting is done in SQL too, so no feature document leaves the database: the query groups by
score (a few hundred distinct values) and counts, per feature, the customers in each bin of the
reference's edges, the feature read from the snapshot's JSON and cast to a float — the same
comparison `metrics.bin_counts` makes (x < e1, e1 ≤ x < e2, …, x ≥ e_last; missing last), which a
test holds equal on both databases.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, F, FloatField, Func, OuterRef, Q, QuerySet, Subquery
from django.db.models.lookups import GreaterThanOrEqual, IsNull, LessThan

from accounts.models import Customer
from decisions.models import ScoreSnapshot

from .drift import BookDistribution
from .services.sample import SNAPSHOT_MAX_AGE_DAYS


def latest_scored_snapshots(*, version_id: int, before: datetime) -> QuerySet[ScoreSnapshot]:
    """Each customer's newest scored snapshot under the version, computed before `before` and
    within SNAPSHOT_MAX_AGE_DAYS of it (a lazy queryset: one query wherever it is used)."""
    newest = (
        ScoreSnapshot.objects.filter(
            customer_id=OuterRef("pk"),
            policy_version_id=version_id,
            score__isnull=False,
            computed_at__lt=before,
            computed_at__gte=before - timedelta(days=SNAPSHOT_MAX_AGE_DAYS),
        )
        .order_by("-computed_at", "-id")
        .values("id")[:1]
    )
    # No "IS NOT NULL" on the subquery: SQLite would run it twice per customer, and a NULL in an
    # IN list matches nothing anyway.
    return ScoreSnapshot.objects.filter(pk__in=Customer.objects.annotate(snapshot_id=Subquery(newest)).values("snapshot_id"))


class FeatureValue(Func):
    """A snapshot's feature as a float: NULL when the key is absent or JSON null.

    Not Django's KT(): on SQLite it turns a JSON null into the text 'null', which casts to 0.0 and
    would count a missing value in the first bin; and the engine writes decimals as JSON strings,
    which PostgreSQL's jsonb cannot cast to a number without ->> first."""

    output_field = FloatField()

    def __init__(self, name: str):
        super().__init__(F("features"))
        self.key = name

    def as_sql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.get_source_expressions()[0])
        return f"CAST(JSON_EXTRACT({column}, %s) AS REAL)", [*params, f'$."{self.key}"']

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.get_source_expressions()[0])
        return f"CAST(({column} ->> %s) AS double precision)", [*params, self.key]


def _bins(edges: list[float]) -> list[tuple[float | None, float | None]]:
    """(low, high) per bin of the edges: x < e1, e1 ≤ x < e2, …, x ≥ e_last."""
    bounds = [None, *edges, None]
    return list(zip(bounds[:-1], bounds[1:]))


def _bin_conditions(value, edges: list[float]) -> list[Q]:
    """One condition per bin of the edges, then the missing values'."""
    conditions = []
    for low, high in _bins(edges):
        parts = []
        if low is not None:
            parts.append(GreaterThanOrEqual(value, low))
        if high is not None:
            parts.append(LessThan(value, high))
        # A comparison with NULL is not true: only a feature with a single bin needs saying so.
        conditions.append(Q(*parts) if parts else Q(IsNull(value, False)))
    conditions.append(Q(IsNull(value, True)))
    return conditions


def _rows_by_orm(version_id: int, before: datetime, feature_edges: dict[str, list[float]]) -> list[dict]:
    aggregates: dict[str, Count] = {}
    for i, name in enumerate(feature_edges):
        value = FeatureValue(name)
        for j, condition in enumerate(_bin_conditions(value, feature_edges[name])):
            aggregates[f"f{i}_{j}"] = Count("id", filter=condition)
    return list(
        latest_scored_snapshots(version_id=version_id, before=before)
        .order_by()
        .values("score")
        .annotate(customers=Count("id"), **aggregates)
        .order_by("score")
    )


def _rows_by_lateral_join(version_id: int, before: datetime, feature_edges: dict[str, list[float]]) -> list[dict]:
    """PostgreSQL: the same counts over a LATERAL join, one index probe per customer that reads
    the snapshot's score and features on the spot. Written by hand because the ORM cannot say
    LATERAL, and its `id IN (subquery)` form lets the planner hash the whole snapshot table (a
    sequential scan of every night ever written) instead of looking 100,000 ids up."""
    # Each feature is read out of the JSON once, inside the lateral subquery; the bins compare columns.
    values = [f"(u.features ->> %s)::double precision AS v{i}" for i in range(len(feature_edges))]
    value_params = list(feature_edges)
    columns: list[str] = []
    params: list = []
    for i, edges in enumerate(feature_edges.values()):
        for j, (low, high) in enumerate(_bins(edges)):
            parts = []
            if low is not None:
                parts.append(f"s.v{i} >= %s")
                params.append(low)
            if high is not None:
                parts.append(f"s.v{i} < %s")
                params.append(high)
            columns.append(f"count(*) FILTER (WHERE {' AND '.join(parts) or f's.v{i} IS NOT NULL'}) AS f{i}_{j}")
        columns.append(f"count(*) FILTER (WHERE s.v{i} IS NULL) AS f{i}_{len(edges) + 1}")
    sql = f"""
        SELECT s.score AS score, count(*) AS customers{"".join(", " + c for c in columns)}
        FROM {Customer._meta.db_table} c
        CROSS JOIN LATERAL (
            SELECT u.score{"".join(", " + v for v in values)} FROM {ScoreSnapshot._meta.db_table} u
            WHERE u.customer_id = c.id AND u.policy_version_id = %s AND u.score IS NOT NULL
              AND u.computed_at < %s AND u.computed_at >= %s
            ORDER BY u.computed_at DESC, u.id DESC
            LIMIT 1
        ) s
        GROUP BY s.score
        ORDER BY s.score
    """
    params += value_params + [version_id, before, before - timedelta(days=SNAPSHOT_MAX_AGE_DAYS)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [col.name for col in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def book_distribution(*, version_id: int, before: datetime, feature_edges: dict[str, list[float]]) -> BookDistribution:
    """The book's score histogram and each feature's counts over its edges: one query."""
    read = _rows_by_lateral_join if connection.vendor == "postgresql" else _rows_by_orm
    rows = read(version_id, before, feature_edges)
    features = {
        name: [sum(row[f"f{i}_{j}"] for row in rows) for j in range(len(edges) + 2)]
        for i, (name, edges) in enumerate(feature_edges.items())
    }
    return BookDistribution(
        score_values=tuple(int(r["score"]) for r in rows),
        score_customers=tuple(int(r["customers"]) for r in rows),
        features=features,
    )

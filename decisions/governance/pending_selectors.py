"""What waits for a second risk admin: pending override requests and policy activation requests.

Read by the navigation (decisions/governance/context_processors.py) and the overview panel, so a
risk admin who did not ask sees there is work to approve. One query for both counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, IntegerField, Subquery, Value
from django.db.models.functions import Coalesce

from decisions.models import Override, OverrideState, PolicyState, PolicyVersion


@dataclass(frozen=True)
class PendingApprovals:
    overrides: int
    activations: int

    @property
    def total(self) -> int:
        return self.overrides + self.activations

    def __bool__(self) -> bool:  # the overview leaves out an empty panel
        return self.total > 0


def _count(queryset) -> Coalesce:
    # COUNT(*) as a scalar subquery: grouping on a constant gives one row (or none, hence Coalesce).
    counted = queryset.order_by().annotate(_one=Value(1)).values("_one").annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def pending_approvals() -> PendingApprovals:
    """Counts of override requests pending approval and draft policies with an activation request."""
    overrides = Override.objects.filter(state=OverrideState.PENDING.value)
    activations = PolicyVersion.objects.filter(state=PolicyState.DRAFT.value, activation_requested_by__isnull=False)
    counts = (
        # Any one-row base would do; the two counts are scalar subqueries of one statement.
        PolicyVersion.objects.order_by()
        .annotate(o=_count(overrides), a=_count(activations))
        .values_list("o", "a")[:1]
    )
    row = next(iter(counts), None)
    if row is None:  # no policy version at all: nothing can be waiting for activation
        return PendingApprovals(overrides=overrides.count(), activations=0)
    return PendingApprovals(overrides=row[0], activations=row[1])

"""Champion and challenger in a nightly run: the challenger scored in shadow, beside the champion.

While a challenger is attached (`ChallengerAttachment`, decisions/governance/services/challenger.py)
every chunk of a nightly run scores the customers it has just read with the challenger's policy as
well, on the same features, the same lines and the same clock, and plans the access and limit the
challenger's model would give (`planning.plan_model_view`, the steps of `plan_customer`, building
nothing and changing nothing). One compact `ShadowScore` row per scored customer holds both
answers; that row is all the challenger writes.

The guarantee: nothing the challenger computes reaches a decision, a line, an alert, a notice, a
webhook outbox row or the chunk's audit event. Structurally, because
- it is planned before the champion and from the context as read (the champion's planning updates
  the open alerts of the context in place, and the challenger must not see, or cause, that);
- the plan it makes is a `ModelView` (a score and two values), not a `CustomerPlan`: there is
  nothing `write_plans` could write;
- its rows go in after the champion's writes, in a savepoint, and a challenger that fails (a body
  no longer valid, a bug) is logged and skipped: the champion's chunk goes on as if none were
  attached.
tests/decisions/test_challenger.py runs the same night with and without a challenger that would
close everyone and compares every decision, line, alert, notice, outbox event and audit digest.

Which challenger a run shadows is read by time, from the attachments' history: the one attached
when the run started (a detach or an attach during a run takes effect from the next one, so a run's
rows are all of one challenger). Nightly runs only: an event's recompute, a manual or an expiry run
write no shadow row. A draft edited since it was attached is not what was attached: it is skipped
until it is attached again; a challenger that has become the run's own policy is skipped too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError, transaction
from django.db.models import Q
from riskops.core.bulk import copy_rows

from decisions.engine.planning import CustomerPlan, ModelView, has_new_data, plan_model_view
from decisions.engine.policy import Policy
from decisions.engine.policy_reads import body_stamp, parsed_policy
from decisions.engine.types import CustomerContext
from decisions.models import ChallengerAttachment, PolicyVersion, RecomputeRun, ShadowScore, Trigger

logger = logging.getLogger(__name__)

SHADOW_COLUMNS = (
    "run", "customer", "challenger", "score", "champion_score", "band", "champion_band",
    "access", "champion_access", "limit_amount", "champion_limit",
)


@dataclass(frozen=True)
class Challenger:
    version: PolicyVersion
    policy: Policy


@dataclass
class ShadowViews:
    """The challenger's view of one chunk's customers (those with a score), by customer id."""

    challenger: Challenger
    views: dict[int, ModelView]


def attachment_at(moment: datetime) -> ChallengerAttachment | None:
    """The attachment in force at `moment`: attached by then and not detached by then."""
    return (
        ChallengerAttachment.objects.filter(Q(detached_at__isnull=True) | Q(detached_at__gt=moment), attached_at__lte=moment)
        .select_related("version")
        .defer("version__body")  # parsed once per process and body (policy_reads), not read per chunk
        .order_by("-attached_at", "-pk")
        .first()
    )


def run_challenger(run: RecomputeRun) -> Challenger | None:
    """The challenger a run shadows, parsed once per process and version; None when there is none."""
    if run.trigger != Trigger.NIGHTLY:
        return None
    attachment = attachment_at(run.started_at or run.created_at)
    if attachment is None:
        return None
    version = attachment.version
    if version.pk == run.policy_version_id:
        return None  # activated since it was attached: it is the champion now
    if body_stamp(version) != attachment.body_edited_at:
        logger.warning("challenger v%s was edited after it was attached: not scored in run %s", version.version, run.pk)
        return None
    return Challenger(version, parsed_policy(version))


def shadow_views(*, run: RecomputeRun, contexts: list[CustomerContext], now: datetime) -> ShadowViews | None:
    """Plan the run's challenger for a chunk's contexts. Call before the champion plans them.

    Pure but for one small read (the attachment); a challenger that fails here is logged and the
    chunk goes on without it."""
    try:
        challenger = run_challenger(run)
        if challenger is None:
            return None
        views = {}
        for context in contexts:
            new_data = has_new_data(context=context, trigger=run.trigger, run=run)
            view = plan_model_view(context=context, policy=challenger.policy, now=now, new_data=new_data)
            if view is not None:
                views[context.customer_id] = view
        return ShadowViews(challenger, views)
    except Exception:  # never the champion's failure: the challenger is dropped for this chunk
        logger.exception("challenger scoring failed in run %s: the chunk goes on without it", run.pk)
        return None


def shadow_scores_write(*, run: RecomputeRun, shadow: ShadowViews | None, plans: list[CustomerPlan]) -> int:
    """Write one ShadowScore per customer both policies scored, beside the champion's answer from
    its plan; returns the rows written. In the chunk's transaction, after the champion's writes,
    inside a savepoint: a failed insert loses the shadow rows of the chunk, nothing else."""
    if shadow is None or not shadow.views:
        return 0
    version_id = shadow.challenger.version.pk
    rows = []
    for plan in plans:
        view = shadow.views.get(plan.context.customer_id)
        if view is None or plan.snapshot.score is None:
            continue
        rows.append((
            run.pk, plan.context.customer_id, version_id, view.score.score, plan.snapshot.score, view.score.band,
            plan.snapshot.band, view.access, plan.outcome.model_access, view.limit, plan.outcome.model_limit,
        ))
    try:
        with transaction.atomic():
            return copy_rows(ShadowScore, SHADOW_COLUMNS, rows)
    except DatabaseError:
        logger.exception("shadow rows of run %s not written: the chunk goes on without them", run.pk)
        return 0

"""Audit targets in words: `accounts.customer:42` read as the customer's external id, a policy
as "policy v3", a run as "run 54", each with a link where a page for it exists.

One query per target type present (never per row), so the audit page's query count stays bounded
by the number of types the registry knows, whatever the page size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Customer
from decisions.models import (
    CaseNote,
    CreditDecision,
    CustomerNotice,
    Override,
    PolicySimulation,
    PolicyVersion,
    RecomputeRun,
    RiskAlert,
)


@dataclass(frozen=True)
class TargetName:
    text: str
    url: str = ""


def _customer_url(external_id: str) -> str:
    return reverse("decisions:customer", args=[external_id])


def _customers(ids: list[int]) -> dict[int, TargetName]:
    return {pk: TargetName(ext, _customer_url(ext)) for pk, ext in Customer.objects.filter(pk__in=ids).values_list("pk", "external_id")}


def _of_customer(model, noun: Callable[[int], str]) -> Callable[[list[int]], dict[int, TargetName]]:
    """Objects that belong to one customer: "alert 12 · C-000123", linked to the profile."""

    def resolve(ids: list[int]) -> dict[int, TargetName]:
        rows = model.objects.filter(pk__in=ids).values_list("pk", "customer__external_id")
        return {pk: TargetName(f"{noun(pk)} · {ext}", _customer_url(ext)) for pk, ext in rows}

    return resolve


def _policies(ids: list[int]) -> dict[int, TargetName]:
    rows = PolicyVersion.objects.filter(pk__in=ids).values_list("pk", "version")
    return {
        pk: TargetName(_("policy v%(version)s") % {"version": v}, reverse("admin:decisions_policyversion_change", args=[pk]))
        for pk, v in rows
    }


def _runs(ids: list[int]) -> dict[int, TargetName]:
    return {pk: TargetName(_("run %(id)s") % {"id": pk}, reverse("decisions:run-progress", args=[pk])) for pk in RecomputeRun.objects.filter(pk__in=ids).values_list("pk", flat=True)}


def _simulations(ids: list[int]) -> dict[int, TargetName]:
    return {
        pk: TargetName(_("simulation %(id)s") % {"id": pk}, reverse("decisions:simulation", args=[pk]))
        for pk in PolicySimulation.objects.filter(pk__in=ids).values_list("pk", flat=True)
    }


RESOLVERS: dict[str, Callable[[list[int]], dict[int, TargetName]]] = {
    "accounts.customer": _customers,
    "decisions.riskalert": _of_customer(RiskAlert, lambda pk: _("alert %(id)s") % {"id": pk}),
    "decisions.override": _of_customer(Override, lambda pk: _("override %(id)s") % {"id": pk}),
    "decisions.casenote": _of_customer(CaseNote, lambda pk: _("note %(id)s") % {"id": pk}),
    "decisions.creditdecision": _of_customer(CreditDecision, lambda pk: _("decision %(id)s") % {"id": pk}),
    "decisions.customernotice": _of_customer(CustomerNotice, lambda pk: _("notice %(id)s") % {"id": pk}),
    "decisions.policyversion": _policies,
    "decisions.recomputerun": _runs,
    "decisions.policysimulation": _simulations,
}


def fallback(target_type: str, target_id: str) -> TargetName:
    return TargetName(f"{target_type}:{target_id}")


def target_names(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], TargetName]:
    """{(target_type, target_id): TargetName} for every pair; unknown types or deleted objects
    keep their raw `type:id`."""
    by_type: dict[str, set[int]] = {}
    pairs = list(pairs)
    for target_type, target_id in pairs:
        if target_type in RESOLVERS and str(target_id).isdigit():
            by_type.setdefault(target_type, set()).add(int(target_id))
    found: dict[tuple[str, str], TargetName] = {}
    for target_type, ids in by_type.items():
        for pk, name in RESOLVERS[target_type](sorted(ids)).items():
            found[(target_type, str(pk))] = name
    return {(t, str(i)): found.get((t, str(i))) or fallback(t, str(i)) for t, i in pairs}

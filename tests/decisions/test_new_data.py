"""Time alone never raises a limit: a run with nothing new for a customer holds a rise until new
data arrives (decisions/engine/planning.has_new_data → access._held_on_time)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.changes import change_marks_write
from decisions.engine.services.recompute import decision_recompute
from decisions.engine.services.runs import recompute_run_process_inline, recompute_run_start
from decisions.models import CreditDecision, CreditLine, RunOrigin, Trigger
from tests.decisions.scenarios import make_customer

pytestmark = pytest.mark.django_db


def _granted_then_lowered(customer) -> CreditLine:
    """A line granted by an event, then left below its target in a cycle long run out (as a cut
    some months ago would leave it)."""
    decision_recompute(customer=customer, trigger=Trigger.TRANSACTION)
    CreditLine.objects.filter(customer=customer).update(
        limit_amount=Decimal("3000.00"), model_limit=Decimal("3000.00"), cycle_base_limit=Decimal("3000.00"),
        cycle_started_at=timezone.now() - timedelta(days=90),
    )
    return CreditLine.objects.get(customer=customer)


def _run(trigger=Trigger.NIGHTLY, origin=""):
    run = recompute_run_start(trigger=trigger, enqueue=False, origin=origin)
    recompute_run_process_inline(run=run)
    return run


def test_a_nightly_run_with_nothing_new_holds_the_rise_and_writes_no_decision():
    customer = make_customer()
    _granted_then_lowered(customer)

    run = _run()
    manual = _run(Trigger.MANUAL)  # a person's full recompute brings nothing new either

    line = CreditLine.objects.get(customer=customer)
    assert (line.access, line.limit_amount) == ("open", Decimal("3000.00"))
    assert not CreditDecision.objects.filter(run__in=[run, manual]).exists()


@pytest.mark.parametrize("trigger", [Trigger.TRANSACTION, Trigger.MANUAL, Trigger.OVERRIDE])
def test_new_data_in_the_change_marks_lets_the_nightly_run_raise(trigger):
    customer = make_customer()
    _granted_then_lowered(customer)
    change_marks_write(customer_ids=[customer.pk], trigger=trigger)

    run = _run()

    decision = CreditDecision.objects.get(run=run, customer=customer)
    assert decision.limit_amount > Decimal("3000.00")


def test_a_policy_activation_run_is_new_data_for_everyone():
    customer = make_customer()
    _granted_then_lowered(customer)

    run = _run(Trigger.MANUAL, origin=RunOrigin.ACTIVATION)

    assert CreditDecision.objects.get(run=run, customer=customer).limit_amount > Decimal("3000.00")


def test_one_customers_recompute_by_an_event_or_a_person_raises_at_once():
    customer = make_customer()
    _granted_then_lowered(customer)

    line = decision_recompute(customer=customer, trigger=Trigger.MANUAL)  # e.g. after a triage

    assert line.limit_amount > Decimal("3000.00")

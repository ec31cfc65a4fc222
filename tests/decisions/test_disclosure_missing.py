"""DISCLOSURE_MISSING: an open or limited line whose holder has not acknowledged the risk disclosure
in force within the policy's grace period is flagged for review; the alert clears by itself after
the acknowledgement and a recompute."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import DisclosureAcknowledgement
from decisions.engine.features import disclosure_states
from decisions.models import CreditLine, RiskAlert
from decisions.engine.services.recompute import decision_recompute, load_chunk
from decisions.engine.services.runs import recompute_run_process_inline, recompute_run_start
from tests.decisions.scenarios import days_ago, make_customer
from tests.factories import CustomerFactory, DisclosureFactory

RULE = "DISCLOSURE_MISSING"


@pytest.fixture
def risk_disclosure(db):
    # published 60 days ago: past the default 30-day grace period
    return DisclosureFactory(kind="risk_disclosure", version=1, published_at=days_ago(60))


def _alerts(customer, **filters):
    return RiskAlert.objects.filter(customer=customer, rule=RULE, **filters)


def _acknowledge(customer, disclosure, days=1):
    DisclosureAcknowledgement.objects.create(
        customer=customer, disclosure=disclosure, shown_at=days_ago(days + 0.01), acknowledged_at=days_ago(days)
    )


@pytest.mark.django_db
def test_fires_for_an_open_line_without_acknowledgement_and_clears_after_it(risk_disclosure):
    # given a good customer (an open line) who never acknowledged the risk disclosure
    customer = make_customer(acknowledge_disclosure=False)

    decision_recompute(customer=customer, trigger="manual")

    # then the rule fires with action review, and the customer is in the queue (an open alert)
    alert = _alerts(customer).get()
    assert (alert.status, alert.action, alert.severity) == ("open", "review", 2)
    assert alert.evidence["version"] == 1 and alert.evidence["grace_days"] == 30
    assert CreditLine.objects.get(customer=customer).access == "limited"  # open alert: limit frozen

    # when the customer acknowledges and a recompute follows
    _acknowledge(customer, risk_disclosure)
    decision_recompute(customer=customer, trigger="manual")

    # then the engine resolved the alert and the line is open again
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolved_at is not None and alert.resolved_by is None
    assert not _alerts(customer, status__in=RiskAlert.OPEN_STATUSES).exists()
    assert CreditLine.objects.get(customer=customer).access == "open"


@pytest.mark.django_db
def test_a_flagged_customer_is_in_the_analysts_queue_under_the_rule_and_leaves_it(analyst_client, risk_disclosure):
    from django.urls import reverse

    customer = make_customer(acknowledge_disclosure=False)
    decision_recompute(customer=customer, trigger="manual")
    queue = reverse("decisions:queue")

    page = analyst_client.get(queue, {"rule": "DISCLOSURE_MISSING"}).content.decode()
    assert customer.external_id in page

    _acknowledge(customer, risk_disclosure)
    decision_recompute(customer=customer, trigger="manual")
    assert customer.external_id not in analyst_client.get(queue).content.decode()


def test_an_acknowledged_customer_is_not_flagged(risk_disclosure):
    customer = make_customer()  # acknowledges every published risk disclosure
    decision_recompute(customer=customer, trigger="manual")
    assert not _alerts(customer).exists()
    assert CreditLine.objects.get(customer=customer).access == "open"


@pytest.mark.django_db
def test_only_the_current_version_counts(risk_disclosure):
    # given the customer acknowledged v1, and v2 was published 40 days ago
    customer = make_customer(acknowledge_disclosure=False)
    _acknowledge(customer, risk_disclosure, days=50)
    DisclosureFactory(kind="risk_disclosure", version=2, published_at=days_ago(40))

    decision_recompute(customer=customer, trigger="manual")

    assert _alerts(customer).get().evidence["version"] == 2


@pytest.mark.django_db
@pytest.mark.parametrize("published_days, onboarded_days, fires", [
    (29, 400, False),  # published 29 days ago: still in the grace period
    (31, 400, True),
    (60, 20, False),  # onboarded 20 days ago, after publication: the grace runs from onboarding
    (60, 31, True),
])
def test_the_grace_period_runs_from_publication_or_onboarding_if_later(published_days, onboarded_days, fires):
    DisclosureFactory(kind="risk_disclosure", version=1, published_at=days_ago(published_days))
    customer = make_customer(acknowledge_disclosure=False, onboarded_days=onboarded_days)
    decision_recompute(customer=customer, trigger="manual")
    assert _alerts(customer).exists() == fires


@pytest.mark.django_db
def test_the_grace_period_comes_from_the_policy(risk_disclosure):
    from decisions.models import PolicyVersion
    from decisions.engine.policy import default_policy_body

    body = default_policy_body()
    body = {**body, "rules": {**body["rules"], RULE: {"enabled": True, "action": "review", "severity": 3, "grace_days": 90}}}
    PolicyVersion.objects.filter(state="active").update(body=body, edited_at=timezone.now())  # a new parse-cache key
    customer = make_customer(acknowledge_disclosure=False)

    decision_recompute(customer=customer, trigger="manual")

    # 60 days since publication is inside a 90-day grace period
    assert not _alerts(customer).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("recipe", [
    {"consents": ()},  # no scoring consent: not offered
    {"bureau": {"score": 300, "external_lenders": 0, "external_debt": 0}, "income": None},  # refused
])
def test_no_line_no_alert(risk_disclosure, recipe):
    customer = make_customer(acknowledge_disclosure=False, **recipe)
    decision_recompute(customer=customer, trigger="manual")
    assert CreditLine.objects.get(customer=customer).access not in ("open", "limited")
    assert not _alerts(customer).exists()


@pytest.mark.django_db
def test_without_a_published_risk_disclosure_nothing_is_missing():
    # without any published risk disclosure nothing can be missing
    customer = make_customer(acknowledge_disclosure=False)
    decision_recompute(customer=customer, trigger="manual")
    assert not _alerts(customer).exists()


@pytest.mark.django_db
def test_first_recompute_and_rerun_agree(risk_disclosure):
    # a first decision for a fresh customer already flags it, so the rerun writes nothing new
    customer = make_customer(acknowledge_disclosure=False)
    now = timezone.now()
    decision_recompute(customer=customer, trigger="manual", now=now)
    first = (CreditLine.objects.get(customer=customer).access, list(_alerts(customer).values_list("pk", "status", "last_seen_at")))
    decisions = customer.decisions.count()
    decision_recompute(customer=customer, trigger="manual", now=now)
    again = (CreditLine.objects.get(customer=customer).access, list(_alerts(customer).values_list("pk", "status", "last_seen_at")))
    assert first == again and customer.decisions.count() == decisions


@pytest.mark.django_db
def test_the_chunk_path_flags_and_clears_like_the_single_path(risk_disclosure):
    flagged = make_customer(acknowledge_disclosure=False)
    fine = make_customer()
    recompute_run_process_inline(run=recompute_run_start(enqueue=False))
    assert _alerts(flagged, status="open").exists() and not _alerts(fine).exists()

    _acknowledge(flagged, risk_disclosure)
    recompute_run_process_inline(run=recompute_run_start(enqueue=False))
    assert _alerts(flagged).get().status == "resolved"


@pytest.mark.django_db
def test_a_chunk_reads_acknowledgements_in_one_query_whatever_its_size(risk_disclosure):
    def acknowledgement_queries(n):
        customers = [CustomerFactory(onboarded_at=days_ago(100)) for _ in range(n)]
        for c in customers[::2]:
            _acknowledge(c, risk_disclosure)
        ids = [c.pk for c in customers]
        with CaptureQueriesContext(connection) as ctx:
            load_chunk(first_id=min(ids), last_id=max(ids), now=timezone.now(), lock=False)
        return [q["sql"] for q in ctx.captured_queries if "accounts_disclosureacknowledgement" in q["sql"]]

    assert len(acknowledgement_queries(3)) == 1
    assert len(acknowledgement_queries(40)) == 1


@pytest.mark.django_db
def test_disclosure_states_match_per_customer(risk_disclosure):
    acked, not_acked = CustomerFactory(onboarded_at=days_ago(100)), CustomerFactory(onboarded_at=days_ago(10))
    _acknowledge(acked, risk_disclosure)
    states = disclosure_states({c.pk: c.onboarded_at for c in (acked, not_acked)}, as_of=timezone.now())
    assert states[acked.pk].acknowledged_at is not None
    assert states[not_acked.pk].acknowledged_at is None
    assert states[not_acked.pk].onboarded_at == not_acked.onboarded_at
    assert states[acked.pk].version == 1
    # an acknowledgement recorded after the clock is not seen
    assert disclosure_states({acked.pk: acked.onboarded_at}, as_of=timezone.now() - timedelta(days=2))[acked.pk].acknowledged_at is None

"""End to end on PostgreSQL and a real Celery worker (private redis-server): a recompute's
decision goes out after its commit, signed, to a local receiver; a failing receiver is retried
after 5 s by the worker; a full run's chunks announce every changed decision once."""

import pytest
from standardwebhooks.webhooks import Webhook

from decisions.models import CreditDecision, CreditLine, Trigger
from decisions.engine.services.recompute import decision_recompute
from decisions.engine.services.runs import recompute_run_start
from tests.decisions.scenarios import make_customer
from tests.support.waiting import wait_for
from tests.support.worker import RedisServer, producer_broker, worker_process
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from webhooks.services.endpoints import webhook_endpoint_create

from .receiver import Receiver

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path, settings):
    settings.RISKOPS_WEBHOOK_ALLOW_PRIVATE = True
    try:
        server = RedisServer(workdir=tmp_path)
    except RuntimeError as exc:
        pytest.skip(str(exc))
    server.start()
    try:
        with producer_broker(server.url), worker_process(
            broker_url=server.url, concurrency=1, log_path=tmp_path / "worker.log", env={"RISKOPS_WEBHOOK_ALLOW_PRIVATE": "true"}
        ):
            yield server
    finally:
        server.stop()


def test_a_decision_is_delivered_by_the_worker_after_commit_and_retried(worker):
    with Receiver(statuses=[503]) as receiver:  # the first attempt fails, the retry succeeds
        endpoint = webhook_endpoint_create(url=receiver.url, event_types=["decision.changed"], actor=None)
        customer = make_customer()
        decision_recompute(customer=customer, trigger="manual")  # commits: the dispatch goes to Redis
        delivery = wait_for(lambda: WebhookDelivery.objects.filter(status="succeeded").first(), timeout=60)
        assert delivery.attempts == 2
        codes = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("attempted_at").values_list("response_code", flat=True))
        assert codes == [503, 204]
        first, second = (a.attempted_at for a in WebhookAttempt.objects.filter(delivery=delivery).order_by("attempted_at"))
        assert (second - first).total_seconds() >= 5  # the spec's first retry
        headers, body = receiver.requests[-1]
        assert Webhook(endpoint.secret).verify(body, headers)["data"]["customer"] == customer.external_id


def test_a_full_run_announces_each_changed_decision_once(worker):
    customers = [make_customer() for _ in range(6)]
    with Receiver() as receiver:
        endpoint = webhook_endpoint_create(url=receiver.url, event_types=["decision.changed"], actor=None)
        run = recompute_run_start(trigger=Trigger.MANUAL, chunk_size=2)
        wait_for(lambda: (run.refresh_from_db() or run.finished_at) and run, timeout=120)
        decisions = CreditDecision.objects.filter(run=run).count()
        assert decisions == len(customers) == CreditLine.objects.count()
        wait_for(lambda: WebhookDelivery.objects.filter(status="succeeded").count() == decisions or None, timeout=60)
        assert WebhookEvent.objects.count() == decisions
        ids = [h["webhook-id"] for h, _ in receiver.requests]
        assert len(ids) == len(set(ids)) == decisions
        verifier = Webhook(endpoint.secret)
        assert {verifier.verify(b, h)["data"]["customer"] for h, b in receiver.requests} == {c.external_id for c in customers}

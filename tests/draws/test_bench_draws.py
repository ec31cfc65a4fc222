"""`manage.py bench_draws` end to end on a small book (PostgreSQL: gunicorn is another process
and must see the test database), so `make bench` cannot rot unnoticed."""

import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command

from api.models import ApiToken
from draws.models import DrawCheck
from tests.factories import CreditLineFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_bench_draws_runs_gunicorn_and_locust_and_reports_p99():
    lines = CreditLineFactory.create_batch(5, limit_amount=Decimal("5000.00"))
    out = io.StringIO()
    call_command("bench_draws", rate=20, duration=3, users=4, workers=1, warmup=0, customers=5, stdout=out)
    report = out.getvalue()
    assert re.search(r"p99 [\d.]+ ms", report), report
    assert "0 failures" in report
    assert "record commit: asynchronous; prepared statements: on" in report
    checks = DrawCheck.objects.filter(client_ref="bench-draws")
    assert checks.count() >= 20 and set(checks.values_list("customer_id", flat=True)) <= {line.customer_id for line in lines}
    assert not ApiToken.objects.filter(revoked_at__isnull=True, client__name="bench-draws").exists()  # its token is revoked

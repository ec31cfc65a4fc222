"""Factories for draw-check tests."""

from decimal import Decimal

import factory
from django.utils import timezone

from draws.models import DrawCheck, DrawDecision
from tests.factories import CustomerFactory


class DrawCheckFactory(factory.django.DjangoModelFactory):
    """A recorded check (allowed by default), as the service would have written it."""

    class Meta:
        model = DrawCheck

    customer = factory.SubFactory(CustomerFactory)
    amount = Decimal("100.00")
    currency = "CNY"
    channel = "app"
    merchant_category = ""
    device_id = ""
    decision = DrawDecision.ALLOW
    reasons = factory.LazyFunction(list)
    available = Decimal("400.00")
    latency_ms = 1.0
    checked_at = factory.LazyFunction(timezone.now)

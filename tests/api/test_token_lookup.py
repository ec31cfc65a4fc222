"""The hand-written token lookup (api/selectors.py, riskops/core/rows.py) reads what the ORM reads."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api.models import ApiToken
from api.selectors import token_with_client
from api.services import api_token_create, api_token_revoke

from .factories import ApiClientFactory

pytestmark = pytest.mark.django_db


def test_the_lookup_matches_the_orm_field_for_field(django_assert_num_queries):
    client = ApiClientFactory(scopes=["draws:check", "events:write"], throttle_rate="7/min", active=False)
    token, _ = api_token_create(client=client, actor=None)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=3))
    api_token_revoke(token=token, actor=None)
    expected = ApiToken.objects.select_related("client").get(pk=token.pk)
    with django_assert_num_queries(1):
        found = token_with_client(token.prefix)
        found_client = found.client  # joined: no second query
    for name in ("pk", "client_id", "prefix", "secret_hash", "revoked_at", "last_used_at"):
        assert getattr(found, name) == getattr(expected, name), name
    assert found.revoked_at.tzinfo is not None and found.last_used_at < timezone.now()
    assert (found_client.pk, found_client.name, found_client.scopes, found_client.active, found_client.throttle_rate) == (
        client.pk, client.name, ["draws:check", "events:write"], False, "7/min"
    )
    assert found._state.adding is False  # saves as an update, like a queried instance


def test_an_unknown_prefix_is_none():
    ApiClientFactory()
    assert token_with_client("00000000") is None

"""Factories and helpers for service-API tests."""

import factory

from api.models import ApiClient, Scope
from api.services import api_token_create

ALL_SCOPES = list(Scope.values)


class ApiClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiClient

    name = factory.Sequence(lambda n: f"system-{n}")
    scopes = factory.LazyFunction(lambda: list(ALL_SCOPES))
    throttle_rate = "10000/min"
    active = True


def token_for(client: ApiClient) -> str:
    """A fresh token for `client`, created through the service (as the admin does)."""
    _, full = api_token_create(client=client, actor=None)
    return full


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def api_client_with(scopes=None, **kw):
    """(ApiClient, Authorization header kwargs) for a client with these scopes (all by default)."""
    client = ApiClientFactory(**({"scopes": scopes} if scopes is not None else {}), **kw)
    return client, bearer(token_for(client))

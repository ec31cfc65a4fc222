import pytest
from django.core.cache import cache
from django.test import Client

from .factories import api_client_with


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    # locmem in tests: counters of one test must not throttle the next.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def service(db):
    """A service client with every scope: (Django test client, auth header kwargs, ApiClient)."""
    api_client, auth = api_client_with()
    return Client(), auth, api_client


@pytest.fixture
def post(service):
    http, auth, _ = service

    def do(url, body, *, headers=None, raw=None, content_type="application/json"):
        data = raw if raw is not None else __import__("json").dumps(body)
        return http.post(url, data=data, content_type=content_type, **auth, **(headers or {}))

    return do


@pytest.fixture
def get(service):
    http, auth, _ = service

    def do(url, **params):
        return http.get(url, params, **auth)

    return do

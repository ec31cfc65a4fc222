"""Throttling per client, at the rate stored on the client.

The counters live in Django's cache (`CACHES["default"]`): locmem in one process by default, and
Redis when `CACHE_URL` is set (settings.py), which every gunicorn worker then shares. Staff
sessions reading through the API share one rate per user (`API_STAFF_THROTTLE_RATE`).
"""

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from .authentication import ApiPrincipal


class ClientRateThrottle(SimpleRateThrottle):
    scope = "api_client"

    def __init__(self) -> None:
        # The rate depends on the caller, so it is read in allow_request, not here.
        self.rate = None
        self.num_requests = self.duration = None

    def allow_request(self, request: Request, view) -> bool:
        user = request.user
        if isinstance(user, ApiPrincipal):
            self.rate = user.client.throttle_rate
        else:
            self.rate = getattr(settings, "API_STAFF_THROTTLE_RATE", "300/min")
        try:
            self.num_requests, self.duration = self.parse_rate(self.rate)
        except (ValueError, KeyError, IndexError):
            self.num_requests, self.duration = self.parse_rate("600/min")  # a bad stored rate never opens the gate
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view) -> str | None:
        user = request.user
        if isinstance(user, ApiPrincipal):
            return f"throttle_api_client_{user.client.pk}"
        if user is not None and user.is_authenticated:
            return f"throttle_api_user_{user.pk}"
        return None  # anonymous requests are refused by authentication, never counted

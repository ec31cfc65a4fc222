"""The request id and the request log lines (riskops/core/structured_logs.py says how they fit).

Kept apart from structured_logs.py, which settings.py imports before Django is set up: this
module imports django-structlog's middleware and the Celery app.
"""

import re
import uuid

from django_structlog.middlewares import RequestMiddleware as _StructlogRequestMiddleware

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestIdMiddleware:
    """Accept a well-formed `X-Request-ID` from the caller or make one; put it where
    django-structlog reads it and in the response."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        offered = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = offered if _REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        request.META["HTTP_X_REQUEST_ID"] = request_id
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestLogMiddleware(_StructlogRequestMiddleware):
    """django-structlog's request logging, with the path only: a query string can carry what a
    user searched for (part of a phone number, a name)."""

    @staticmethod
    def format_request(request) -> str:
        return f"{request.method} {request.path}"


def install_celery_worker_step() -> None:
    """Add django-structlog's boot step to the Celery worker (called from AppConfig.ready, which
    a worker runs before it builds its boot steps): it binds each task's context from its message
    headers. Harmless in the web process, which builds no worker."""
    from django_structlog.celery.steps import DjangoStructLogInitStep

    from riskops.celery import app

    app.steps["worker"].add(DjangoStructLogInitStep)


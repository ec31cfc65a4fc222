"""One mapping from domain errors to JSON HTTP errors for every API view.

Every error body is `{"code", "message", "field"?, "index"?}`: `field` names what to fix (a body
field such as `amount` or `items[3].amount`, or a header such as `Idempotency-Key`), `index` the
position of the bad item in a batch. DRF's own errors (authentication, parsing, throttling, an
unknown URL or method) are reshaped to the same form. Anything else is a bug: it is logged and
answered with a JSON 500 that says nothing about the internals.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import DomainError

logger = logging.getLogger("riskops.api")

# Which request part a DRF error is about, when it is about one.
_DRF_FIELDS: dict[type, str] = {
    drf.ParseError: "body",
    drf.NotAuthenticated: "Authorization",
    drf.AuthenticationFailed: "Authorization",
    drf.PermissionDenied: "Authorization",
    drf.UnsupportedMediaType: "Content-Type",
    drf.NotAcceptable: "Accept",
    drf.MethodNotAllowed: "method",
}


def _first_error(detail: Any, path: str = "") -> tuple[str, str]:
    """(field, message) of the first error in a DRF ValidationError's nested detail."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = path if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
            return _first_error(value, name)
    if isinstance(detail, list):
        for i, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                return _first_error(value, f"{path}[{i}]")
            return path, str(value)
    return path, str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.field:
            body["field"] = exc.field
        if isinstance(exc.context.get("index"), int):
            body["index"] = exc.context["index"]
        return Response(body, status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        return Response({"code": "too_large", "message": "The request body is too large.", "field": "body"}, status=413)
    if isinstance(exc, drf.ValidationError):
        field, message = _first_error(exc.detail)
        body = {"code": "invalid", "message": message}
        if field:
            body["field"] = field
        return Response(body, status=400)
    response = drf_exception_handler(exc, context)
    if response is not None:
        if isinstance(exc, drf.APIException):
            detail = exc.detail
            code = getattr(detail, "code", None) or exc.default_code
            body = {"code": str(code), "message": str(detail if not isinstance(detail, (dict, list)) else _first_error(detail)[1])}
            field = getattr(exc, "field", None) or next((f for t, f in _DRF_FIELDS.items() if isinstance(exc, t)), None)
            if field:
                body["field"] = field
        elif isinstance(exc, Http404):
            body = {"code": "not_found", "message": "No such resource."}
        elif isinstance(exc, DjangoPermissionDenied):
            body = {"code": "permission_denied", "message": "You do not have permission to do this."}
        else:  # pragma: no cover - DRF handles only the three kinds above
            body = {"code": "error", "message": str(exc)}
        response.data = body
        return response
    # A bug, not bad input: logged with its traceback; the client gets no internals.
    logger.exception("unhandled error in API view %s", context.get("view").__class__.__name__ if context.get("view") else "?")
    return Response({"code": "server_error", "message": "Internal error; it has been logged."}, status=500)

"""The error answers every endpoint documents in the OpenAPI schema, and the Idempotency-Key
header parameter: shared by the api app's views and the endpoints other apps add (draws)."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from . import serializers as s
from .idempotency import HEADER

ERRORS = {
    code: OpenApiResponse(s.ApiErrorSerializer, description=text)
    for code, text in {
        400: "invalid input (malformed JSON, a key repeated in one object, a bad field: `field` names it)",
        401: "no token, an invalid one, or a revoked one",
        403: "the client lacks the scope",
        404: "unknown customer, draw, installment or disclosure",
        409: "the external id or Idempotency-Key was used with different content",
        413: "body over the size limit, or a batch over 1,000 events",
        415: "not application/json",
        429: "over the client's rate",
    }.items()
}
READ_ERRORS = {code: ERRORS[code] for code in (400, 401, 403, 404, 429)}
IDEMPOTENCY_PARAM = OpenApiParameter(
    HEADER, str, OpenApiParameter.HEADER, required=False,
    description="Makes the write safe to retry: the same key and body return the stored answer (24 h).",
)

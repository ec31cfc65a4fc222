"""A JSON parser that refuses what Python's json module accepts but JSON does not, and bodies
over the size limit.

`json.loads` takes NaN, Infinity and -Infinity by default; an amount of NaN must be a 400 naming
the body, not a Decimal('NaN') reaching a service. Numbers with a fraction are parsed as Decimal,
so an amount sent as 12.10 is not rounded through a float.

DRF reads the request stream itself, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE check (that one
guards `request.body`), so the limit is enforced here: a body over `API_MAX_BODY_BYTES` is a 413
whether or not it declared its length.
"""

import json
from decimal import Decimal

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

from accounts.validation import MAX_JSON_DEPTH, json_depth

# The envelope (a batch, its items) around a stored JSON object of at most MAX_JSON_DEPTH levels.
MAX_BODY_DEPTH = MAX_JSON_DEPTH + 4


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The request body is too large."
    field = "body"


def max_body_bytes() -> int:
    return getattr(settings, "API_MAX_BODY_BYTES", None) or settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        limit = max_body_bytes()
        request = parser_context.get("request")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            declared = 0
        if declared > limit:
            raise BodyTooLarge(f"The request body is {declared} bytes; the limit is {limit}.")
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise BodyTooLarge(f"The request body is over the limit of {limit} bytes.")
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding), parse_constant=_refuse_constant, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ParseError(f"Malformed JSON: {exc}") from None
        # A batch of 1,000 events with evidence objects inside stays far below this; a body nested
        # hundreds deep would otherwise parse and then overflow a recursive encoder further on.
        if json_depth(data) > MAX_BODY_DEPTH:
            raise ParseError(f"Malformed JSON: nested more than {MAX_BODY_DEPTH} levels deep.")
        return data

"""A JSON parser that refuses what Python's json module accepts but JSON does not, and bodies
over the size limit, and says why in the API's own words.

`json.loads` takes NaN, Infinity and -Infinity by default; an amount of NaN must be a 400 naming
the body, not a Decimal('NaN') reaching a service. Numbers with a fraction are parsed as Decimal,
so an amount sent as 12.10 is not rounded through a float.

A key repeated in one object (`{"amount": "1.00", "amount": "999999.00"}`) is refused (400
`duplicate_key` naming it by its path, `items[2].amount`, at any depth): `json.loads` would keep
the last one silently, and a proxy or signature check that read the first would see another
request than the one recorded. An integer of more than MAX_INTEGER_DIGITS digits is refused
(`number_too_long`, naming its path) before Python converts it (whose own limit, 4,300 digits,
answers in Python's words); a body nested too deep is `too_deep`; a string holding a lone
surrogate escape (`"\\ud800"`), which no database can store, is `invalid_text` naming its path
(riskops/core/json_text.py). Every other parse error is
`parse_error` with the place it happened: no Python exception text reaches the client.

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
from riskops.core.json_text import lone_surrogate_path, may_hold_lone_surrogate

# The envelope (a batch, its items) around a stored JSON object of at most MAX_JSON_DEPTH levels.
MAX_BODY_DEPTH = MAX_JSON_DEPTH + 4
# No field holds an integer anywhere near this long (the largest, an amount in minor units, has
# under 20 digits); past it the number is refused before Python converts it.
MAX_INTEGER_DIGITS = 100
KEY_SHOWN = 100  # a repeated key is named by at most this many characters


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The request body is too large."
    field = "body"


def max_body_bytes() -> int:
    return getattr(settings, "API_MAX_BODY_BYTES", None) or settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440


class BodyNotJSON(ParseError):
    """A 400 about the body's JSON itself; `field` is the body, or the path of the bad part."""

    def __init__(self, message: str, *, code: str = "parse_error", field: str = "body") -> None:
        super().__init__(message, code=code)
        self.field = field


class _Repeated(dict):
    """An object in which `key` appeared more than once (kept until its path is known)."""

    key: str


class _LongInteger:
    """An integer literal too long to convert; stands in its place until its path is known."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


def _refuse_constant(name: str):
    raise BodyNotJSON(f"Malformed JSON: {name} is not valid JSON; send amounts as decimal strings.")


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def _first_marker(data: object) -> tuple[str, _Repeated | _LongInteger] | None:
    """The first repeated key or over-long integer in document order, with its path. Iterative,
    like json_depth: a hostile document cannot exhaust the stack of the check."""
    stack: list[tuple[object, str]] = [(data, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _LongInteger):
            return path, node
        if isinstance(node, _Repeated):
            return _path(path, node.key[:KEY_SHOWN]), node
        if isinstance(node, dict):
            stack.extend((v, _path(path, k)) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, _path(path, i)) for i, v in reversed(list(enumerate(node))))
    return None


def json_loads_strict(text: str) -> object:
    """Parse `text` as the API reads JSON, or raise BodyNotJSON saying why in our words."""
    marked = False  # set by the hooks: only then is the document walked for its markers

    def object_from(pairs: list[tuple[str, object]]) -> dict:
        nonlocal marked
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        seen: set[str] = set()
        repeated = _Repeated(obj)
        repeated.key = next(k for k, _ in pairs if k in seen or seen.add(k))
        marked = True
        return repeated

    def integer_from(literal: str) -> int | _LongInteger:
        nonlocal marked
        digits = len(literal) - literal.startswith("-")
        if digits <= MAX_INTEGER_DIGITS:
            return int(literal)
        marked = True
        return _LongInteger(digits)

    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=Decimal, parse_int=integer_from,
                          object_pairs_hook=object_from)
    except json.JSONDecodeError as exc:
        raise BodyNotJSON(f"Malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg[:1].lower()}{exc.msg[1:]}.") from None
    except RecursionError:
        raise BodyNotJSON(f"The body is nested more than {MAX_BODY_DEPTH} levels deep.", code="too_deep") from None
    except ValueError:
        # Nothing else in the decoder raises one today; whatever it would say is Python's text.
        raise BodyNotJSON("Malformed JSON.") from None
    # A batch of 1,000 events with evidence objects inside stays far below this; a body nested
    # hundreds deep would otherwise parse and then overflow a recursive encoder further on.
    if json_depth(data) > MAX_BODY_DEPTH:
        raise BodyNotJSON(f"The body is nested more than {MAX_BODY_DEPTH} levels deep.", code="too_deep")
    marker = _first_marker(data) if marked else None
    if marker is not None:
        path, found = marker
        if isinstance(found, _LongInteger):
            raise BodyNotJSON(f"{path or 'The body'} is a number of {found.digits} digits; at most {MAX_INTEGER_DIGITS} are accepted.",
                              code="number_too_long", field=path or "body")
        raise BodyNotJSON(f"The key {found.key[:KEY_SHOWN]!r} appears more than once in the same object; send it once.",
                          code="duplicate_key", field=path)
    if may_hold_lone_surrogate(text):
        path = lone_surrogate_path(data, key_shown=KEY_SHOWN)
        if path is not None:
            raise BodyNotJSON(
                f"{path or 'The body'} holds a lone surrogate escape (such as \\ud800 without its pair), which is not text; "
                "send valid Unicode.",
                code="invalid_text", field=path or "body",
            )
    return data


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
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise BodyNotJSON(f"The body is not valid {encoding.upper()} text (byte {exc.start}).") from None
        return json_loads_strict(text)

"""A JSON parser that refuses what Python's json module accepts but JSON does not.

`json.loads` takes NaN, Infinity and -Infinity by default; an amount of NaN must be a 400 naming
the body, not a Decimal('NaN') reaching a service. Numbers with a fraction are parsed as Decimal,
so an amount sent as 12.10 is not rounded through a float.
"""

import codecs
import json
from decimal import Decimal

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            return json.loads(text, parse_constant=_refuse_constant, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ParseError(f"malformed JSON: {exc}") from None

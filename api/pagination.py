"""Cursor pagination on every list: stable under inserts, and no OFFSET scans on deep pages."""

import base64
import binascii
import re

from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from riskops.core.exceptions import ValidationFailed

# The position in a cursor is the id of the row it stops at (the ordering is `-id`): digits,
# within a bigint. Anything else would reach `id__lt=...` and fail there as a 500.
_POSITION = re.compile(r"[0-9]{1,19}")
_BIGINT_MAX = 2**63 - 1


class IdCursorPagination(CursorPagination):
    ordering = "-id"  # newest first; the primary key index serves it
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request: Request) -> Cursor | None:
        """DRF's cursor, or a 400 naming `cursor` (DRF answers 404 "Invalid cursor" with no field,
        and lets a malformed position or non-base64 text through to the query or to page one)."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            base64.b64decode(encoded, validate=True)  # DRF's own decode silently drops stray characters
            cursor = super().decode_cursor(request)
        except (NotFound, binascii.Error, ValueError):
            cursor = None
        if cursor is None or not _valid_position(cursor.position):
            raise ValidationFailed(
                "is not a cursor this list gave out; follow the `next` or `previous` link as given", field=self.cursor_query_param
            )
        return cursor


def _valid_position(position: str | None) -> bool:
    return position is None or (_POSITION.fullmatch(position) is not None and int(position) <= _BIGINT_MAX)

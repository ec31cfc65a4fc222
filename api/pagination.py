"""Cursor pagination on every list: stable under inserts, and no OFFSET scans on deep pages."""

from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    ordering = "-id"  # newest first; the primary key index serves it
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500

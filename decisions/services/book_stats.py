"""Moved to decisions/casework/services/book_stats.py. Kept only for synthetic/replay.py, which still
imports the old path; delete once it imports `decisions.casework.services.book_stats`."""

from decisions.casework.services.book_stats import book_stats_refresh  # noqa: F401

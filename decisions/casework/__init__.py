"""Casework: what analysts read and do about the book.

The flagged-account queue and its triage (queue_views.py, queue_selectors.py, filters.py,
services/triage.py), the customer's risk profile with its notices and the panels other apps
register (profile_selectors.py, notice_selectors.py, profile_panels.py), and the book overview
with its daily aggregates (overview_selectors.py, services/book_stats.py); views.py serves the
overview and the profile.
"""

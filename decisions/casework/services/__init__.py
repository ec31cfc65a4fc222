"""Casework services: triage of alerts (claim, assign, close, notes) and the book's daily aggregates."""

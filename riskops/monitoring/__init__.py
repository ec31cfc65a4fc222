"""`/metrics` for Prometheus: the view, its protection, and the gauges read from the database.

Outside the house's layers, as `riskops/urls.py` is: the collector reads the tables of every app
(alerts, runs, the outbox, webhooks, the audit verifications, model health), which no app's own
layer may import. The in-process instruments live in the lowest layer (riskops/core/metrics.py).
"""

"""The engine: how a customer's line is decided, and how the decisions are written.

The policy document and its reads (policy.py, policy_reads.py), the features, score, rules and
access decision (features.py, scoring.py, rules.py, access.py, exposure.py), a customer's plan
(planning.py, with the shared types in types.py), the inputs read for a chunk or one customer
(services/inputs.py), the writing of decisions, notices and announcements (services/writing.py,
services/notices.py, announcements.py), recompute and its runs, chunks and recovery
(services/recompute.py, services/runs.py, services/recovery.py, selectors.py), and what the app
wires at start-up (subscribers.py, audit_checks.py). No page lives here: the engine imports nothing
from casework or governance.
"""

"""Moved to decisions/engine/services/runs.py. Kept only for synthetic/replay.py, which still
imports the old path; delete once it imports `decisions.engine.services.runs`."""

from decisions.engine.services.runs import recompute_run_process_inline, recompute_run_start  # noqa: F401

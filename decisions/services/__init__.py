"""Kept only as re-exports for synthetic/replay.py: the services live in decisions/engine/services/,
decisions/casework/services/ and decisions/governance/services/. Delete this package once
synthetic/replay.py imports the new paths."""

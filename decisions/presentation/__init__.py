"""Presentation: how the decisions app shows things, with no rule of its own.

The palette (colours per access state, band, severity), the Plotly figures built from it (charts),
and the viewer-language words for reason codes, rules and access states (texts). Nothing here reads
the database; the engine's customer notices use `texts` for their reason lines, so this is the
lowest layer of `decisions` (see docs/decisions/0001-split-decisions-into-subpackages.md).
"""

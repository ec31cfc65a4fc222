"""The streamed, audited CSV exports live in riskops/core/csv_exports.py, shared with the queue's
export (decisions/casework/queue_export.py), which sits below compliance in the layers."""

from riskops.core.csv_exports import (  # noqa: F401  (re-exported for compliance's views and tests)
    FORMULA_PREFIXES,
    ROWS_PER_WRITE,
    ExportRecord,
    csv_response,
    csv_stream,
    neutralise,
    stream_queryset,
)

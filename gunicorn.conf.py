"""gunicorn settings (gunicorn reads ./gunicorn.conf.py by itself): `gunicorn riskops.wsgi`.

The part that matters for latency is the garbage collector. A Django process holds several
hundred thousand long-lived objects (modules, classes, the URLconf, DRF's and drf-spectacular's
machinery), and CPython's full (generation 2) collection walks all of them: measured in a
gunicorn worker under 200 draw checks/s, 43–80 ms per full collection, several a minute, each
one a request that waits that long. So each worker, once it has loaded the app, imports the
URLconf (whose views would otherwise load on the first request), collects once and **freezes**
what survived (`gc.freeze()`): later collections skip those objects, and a full one then walks
only what requests left behind. Memory is unchanged (frozen objects are kept, not copied).

Workers and bind address come from the usual gunicorn flags or `GUNICORN_CMD_ARGS`.

Prometheus (`/metrics`, docs/operations.md "Metrics"): each worker is a process with its own
counters, and a scrape reaches one of them. So the master gives the workers one
`PROMETHEUS_MULTIPROC_DIR` (the one set in the environment, else a fresh temporary directory) in
which prometheus_client keeps every worker's values, and `/metrics` sums them. The directory is
emptied when gunicorn starts (old files would be counted as live workers) and a dead worker's
files are marked as such (`child_exit`). Not with `--preload`: the app would import
prometheus_client in the master before `on_starting` names the directory.
"""

import gc
import os
import tempfile
from pathlib import Path


def on_starting(server) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="riskops-prometheus-")
    Path(directory).mkdir(parents=True, exist_ok=True)
    for stale in Path(directory).glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory  # the workers, forked later, inherit it


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view module now, before the freeze
    gc.collect()
    gc.freeze()

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
"""

import gc


def post_worker_init(worker) -> None:
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view module now, before the freeze
    gc.collect()
    gc.freeze()

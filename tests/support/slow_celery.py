"""`python -m tests.support.slow_celery <celery args>`: the celery command with every recompute
chunk made RISKOPS_TEST_CHUNK_DELAY seconds slower, inside the chunk's transaction (after its
claim), so a fault test can kill a worker or restart the broker while chunks are in flight.
Test-only: nothing in the service imports this."""

import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskops.settings")

import django  # noqa: E402

django.setup()

from decisions.engine.services import runs  # noqa: E402

_DELAY = float(os.environ["RISKOPS_TEST_CHUNK_DELAY"])
_write = runs.chunk_plans_write


def _slow_chunk_plans_write(**kwargs):
    time.sleep(_DELAY)
    return _write(**kwargs)


# Patched before the pool forks, so every prefork child inherits it.
runs.chunk_plans_write = _slow_chunk_plans_write

if __name__ == "__main__":
    from celery.__main__ import main

    sys.argv[0] = "celery"
    sys.exit(main())

"""Start a real Celery worker as a subprocess on a queue of its own (integration tests, `make bench`).

Test tooling, not part of the service: it lives under tests/ and `bench_recompute` imports it from
here (the benchmark is run from a checkout, where tests/ is present)."""

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def celery_worker(
    *, concurrency: int = 2, pool: str = "prefork", log_path: Path | None = None, ready_timeout: float = 60
) -> Iterator[str]:
    """Run `celery worker` against the current database and broker; yields the queue name.

    Producers in this process are switched to that queue for the duration, so stale messages on
    the default queue can never reach it and it never steals anyone else's work.
    """
    from riskops.celery import app

    queue = f"q-{uuid.uuid4().hex[:10]}"
    env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_QUEUE": queue}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = open(log_path or os.devnull, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "riskops", "worker", f"--pool={pool}", f"--concurrency={concurrency}", "-Q", queue,
         "--loglevel=INFO", "--without-gossip", "--without-mingle", "--hostname", f"{queue}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        deadline = time.monotonic() + ready_timeout
        while not app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start (exit code {proc.poll()})")
        yield queue
    finally:
        app.conf.task_default_queue = previous
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

"""Start a real Celery worker as a subprocess on a queue of its own (integration tests, `make bench`),
and, for the fault tests, a private Redis server that can be restarted without touching anyone
else's broker.

Test tooling, not part of the service: it lives under tests/ and `bench_recompute` imports it from
here (the benchmark is run from a checkout, where tests/ is present)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class WorkerProcess:
    queue: str
    hostname: str
    process: subprocess.Popen

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once, as a crashed machine would: no warm
        shutdown, no acknowledgement, open transactions dropped with their connections."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


@contextmanager
def producer_queue(queue: str) -> Iterator[str]:
    """Send this process's tasks to the lanes of namespace `queue` (`queue.high`, `queue.bulk`,
    `queue.sweeps`: riskops/queues.py) for the duration."""
    from riskops.celery import app
    from riskops.queues import BULK, queue_name

    previous = app.conf.task_default_queue, app.conf.get("queue_namespace")
    app.conf.task_default_queue, app.conf.queue_namespace = queue_name(BULK, queue), queue
    try:
        yield queue
    finally:
        app.conf.task_default_queue, app.conf.queue_namespace = previous


def _drop_producer_connections() -> None:
    # Forget (not close) the app's pools: kombu keeps one pool per broker URL in a registry, so
    # switching back finds the original pool open, and the next pool is made for the new URL.
    from riskops.celery import app

    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None


@contextmanager
def producer_broker(url: str) -> Iterator[str]:
    """Send this process's tasks (and control messages) through the broker at `url` for the duration."""
    from riskops.celery import app

    # The app resolved its read and write URLs from CELERY_BROKER_URL when it was configured;
    # those two are what its connections use.
    previous = app.conf.broker_write_url, app.conf.broker_read_url
    _drop_producer_connections()
    app.conf.broker_write_url = app.conf.broker_read_url = url
    try:
        yield url
    finally:
        _drop_producer_connections()
        app.conf.broker_write_url, app.conf.broker_read_url = previous


@contextmanager
def worker_process(
    *,
    concurrency: int = 2,
    pool: str = "prefork",
    queue: str | None = None,
    broker_url: str | None = None,
    env: dict[str, str] | None = None,
    chunk_delay: float = 0,
    log_path: Path | None = None,
    ready_timeout: float = 60,
    lanes: tuple[str, ...] | None = None,
    beat: bool = False,
) -> Iterator[WorkerProcess]:
    """Run `celery worker` against the current database; yields a handle that can kill it.

    `queue` (a queue namespace: the worker takes `queue.high`, `queue.bulk` and `queue.sweeps`,
    in that order, riskops/queues.py) defaults to a fresh one; producers in this process are
    switched to it for the duration, so stale messages on the default queues can never reach it
    and it never steals anyone else's work. `lanes` narrows the worker to some lanes (a dedicated
    high worker). `broker_url` points the worker (and this process's producers) at another
    broker; `env` adds settings for the worker (e.g. short recovery thresholds); `chunk_delay`
    makes every chunk take that many seconds longer inside its transaction, so a test can act
    while chunks are in flight. `beat` runs beat inside the worker (`--beat`): the schedule of
    riskops/settings.py, its sweeps every RISKOPS_SWEEP_SECONDS (set it in `env`).
    """
    from riskops.celery import app
    from riskops.queues import LANES_IN_ORDER, queue_name

    queue = queue or f"q-{uuid.uuid4().hex[:10]}"
    queues = ",".join(queue_name(lane, queue) for lane in (lanes or LANES_IN_ORDER))
    hostname = f"{queue}-{uuid.uuid4().hex[:6]}"
    child_env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_QUEUE": queue, **(env or {})}
    if broker_url:
        child_env.update(CELERY_BROKER_URL=broker_url, CELERY_RESULT_BACKEND=broker_url)
    child_env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    entry = ["-m", "celery"]
    if chunk_delay:
        entry = ["-m", "tests.support.slow_celery"]
        child_env["RISKOPS_TEST_CHUNK_DELAY"] = str(chunk_delay)
    log = open(log_path or os.devnull, "a")
    proc = subprocess.Popen(
        [sys.executable, *entry, "-A", "riskops", "worker", f"--pool={pool}", f"--concurrency={concurrency}", "-Q", queues,
         "--loglevel=INFO", "--without-gossip", "--without-mingle", "--hostname", f"{hostname}@%h",
         *(["--beat", "--schedule", str(Path(tempfile.mkdtemp()) / "beat-schedule")] if beat else [])],
        cwd=ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: kill() takes the pool children too
    )
    with producer_broker(broker_url or app.conf.broker_write_url), producer_queue(queue):
        try:
            deadline = time.monotonic() + ready_timeout
            while not app.control.ping(destination=[f"{hostname}@{os.uname().nodename}"], timeout=0.5):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the Celery worker did not start (exit code {proc.poll()})")
            yield WorkerProcess(queue=queue, hostname=hostname, process=proc)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            log.close()


@contextmanager
def celery_worker(
    *, concurrency: int = 2, pool: str = "prefork", log_path: Path | None = None, ready_timeout: float = 60
) -> Iterator[str]:
    """Run `celery worker` against the current database and broker; yields the queue name."""
    with worker_process(concurrency=concurrency, pool=pool, log_path=log_path, ready_timeout=ready_timeout) as worker:
        yield worker.queue


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A throwaway `redis-server` on a free port, without persistence: a restart loses every
    queued and unacknowledged message, like a broker that crashed. Never the shared one on 6379."""

    def __init__(self, *, workdir: Path, log_path: Path | None = None) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed")
        self.port = free_port()
        self.workdir = workdir
        self.log_path = log_path or workdir / "redis.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def start(self, timeout: float = 10) -> None:
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(self.workdir)],
                stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.client().ping():
                    return
            except Exception:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port} (see {self.log_path})")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        """Kill -9 and start again on the same port: everything the broker held is gone."""
        self.stop()
        self.start()

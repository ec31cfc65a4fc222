"""Draw checks through gunicorn under locust: p99 at a fixed arrival rate (`make bench`).

Starts gunicorn on 127.0.0.1 in the production profile (DEBUG off; the parent's environment,
so run it as `make bench` does: DEBUG=false, SECRET_KEY, DATABASE_URL), creates (or reuses) a
`bench-draws` API client with the `draws:check` scope and a fresh token, samples customers that
have a credit line, runs locust headless with Poisson-arrival users against it, parses
locust's CSV and prints p50/p95/p99, the achieved rate, failures, and the service's own latency
from the DrawCheck records the run wrote. The token is revoked at the end; the checks stay (the
record is append-only).
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count

from api.models import ApiClient
from api.services import api_client_create, api_token_create, api_token_revoke
from draws.models import DrawCheck
from tests.support.worker import database_url

ROOT = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent
LOCUSTFILE = ROOT / "draws" / "bench" / "locustfile.py"
CLIENT_NAME = "bench-draws"
TARGET_P99_MS = 25


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(port: int, timeout: float = 60) -> None:
    """Until a worker answers HTTP (any status): the master listens long before its workers have
    loaded the app, and a short run measured from then would time the start-up, not the check."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/", timeout=2)
            return
        except urllib.error.HTTPError:
            return  # a worker answered
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    raise CommandError(f"gunicorn did not answer on {port} within {timeout:.0f} s")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))] if ordered else float("nan")


class Command(BaseCommand):
    help = "p99 of POST /api/v1/draw-checks/ through gunicorn at a fixed arrival rate (Poisson), measured with locust"

    def add_arguments(self, parser):
        parser.add_argument("--rate", type=float, default=200, help="requests per second (default 200)")
        parser.add_argument("--duration", type=int, default=60, help="seconds of load (default 60)")
        parser.add_argument("--users", type=int, default=40, help="locust users sharing the rate")
        parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
        parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (1 = sync)")
        parser.add_argument("--customers", type=int, default=20000, help="customers sampled for the requests")
        parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up load before the measured run")

    def handle(self, *args, rate, duration, users, workers, threads, customers, warmup, **options):
        sample = self._customers(customers)
        client = ApiClient.objects.filter(name=CLIENT_NAME).first() or api_client_create(
            name=CLIENT_NAME, scopes=["draws:check"], actor=None, throttle_rate="1000000/min"
        )
        token, secret = api_token_create(client=client, actor=None)
        port = free_port()
        tmp = Path(tempfile.mkdtemp(prefix="bench-draws-"))
        (tmp / "customers.txt").write_text("\n".join(sample))
        # The database this process uses (under pytest, the test database), not the environment's.
        env = {**os.environ, "DATABASE_URL": database_url(), "SECURE_SSL_REDIRECT": "false", "ALLOWED_HOSTS": "127.0.0.1,localhost", "CONN_MAX_AGE": "600",
               "LOG_LEVEL": "WARNING"}
        gunicorn_cmd = [str(BIN / "gunicorn"), "riskops.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers),
                        "--log-level", "warning"]
        if threads > 1:
            gunicorn_cmd += ["-k", "gthread", "--threads", str(threads)]
        server = subprocess.Popen(gunicorn_cmd, cwd=ROOT, env=env, start_new_session=True)
        first_id = (DrawCheck.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
        try:
            wait_until_up(port)
            lenv = {**env, "BENCH_TOKEN": secret, "BENCH_CUSTOMERS": str(tmp / "customers.txt"), "BENCH_RATE": str(rate),
                    "BENCH_USERS": str(users)}
            host = f"http://127.0.0.1:{port}"
            if warmup:
                self._locust(lenv, host, users, warmup, tmp / "warmup")
                first_id = DrawCheck.objects.order_by("-pk").values_list("pk", flat=True).first() or first_id
            cpu_before = self._server_cpu(server.pid)
            started = time.time()
            self._locust(lenv, host, users, duration, tmp / "run")
            elapsed = time.time() - started
            server_cpu = self._server_cpu(server.pid) - cpu_before
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
            api_token_revoke(token=token, actor=None)
        stats = self._stats(tmp / "run_stats.csv")
        service = list(DrawCheck.objects.filter(pk__gt=first_id, client_ref=CLIENT_NAME).values_list("latency_ms", flat=True))
        decisions = dict(
            DrawCheck.objects.filter(pk__gt=first_id, client_ref=CLIENT_NAME).order_by().values_list("decision").annotate(n=Count("id"))
        )
        load = os.getloadavg()
        self.stdout.write(
            f"draw checks: {stats['count']} requests in {duration} s at a target of {rate:.0f}/s "
            f"(achieved {stats['rps']:.1f}/s), {stats['failures']} failures; gunicorn {workers} workers"
            + (f" × {threads} threads" if threads > 1 else "") + f"; load average {load[0]:.1f}\n"
            f"  record commit: {'asynchronous' if settings.RISKOPS_DRAW_CHECK_ASYNC_COMMIT else 'synchronous (RISKOPS_DRAW_CHECK_SYNC_COMMIT)'}; "
            f"prepared statements: {'on' if settings.RISKOPS_PREPARED_STATEMENTS else 'off'}; "
            f"throttle counters: {'Redis (CACHE_URL)' if settings.CACHE_URL else 'per-process memory'}\n"
            f"  client-side latency (locust): p50 {stats['p50']} ms / p95 {stats['p95']} ms / p99 {stats['p99']} ms / max {stats['max']:.0f} ms"
            f"  (target p99 ≤ {TARGET_P99_MS} ms: {'met' if stats['p99'] <= TARGET_P99_MS else 'NOT met'})\n"
            f"  service time (DrawCheck.latency_ms, {len(service)} checks): p50 {percentile(service, 50):.2f} / "
            f"p99 {percentile(service, 99):.2f} ms; decisions {decisions}\n"
            f"  gunicorn CPU per request: {server_cpu / max(1, stats['count']) * 1000:.2f} ms "
            f"({server_cpu:.1f} CPU-seconds over the run, {server_cpu / elapsed:.2f} cores)"
        )
        if elapsed > duration * 1.5:
            self.stdout.write(f"  (locust took {elapsed:.0f} s in all)")

    def _server_cpu(self, pid: int) -> float:
        """CPU seconds (user + system) used so far by gunicorn's workers."""
        import psutil  # installed with locust

        total = 0.0
        for child in psutil.Process(pid).children(recursive=True):
            try:
                times = child.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def _customers(self, n: int) -> list[str]:
        # An even spread over the book: every k-th customer with a credit line.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.external_id FROM accounts_customer c JOIN decisions_creditline l ON l.customer_id = c.id "
                "ORDER BY random() LIMIT %s",
                [n],
            )
            rows = [r[0] for r in cursor.fetchall()]
            if not rows:  # a book never recomputed: no lines yet, the checks are denied (still the full path)
                cursor.execute("SELECT external_id FROM accounts_customer ORDER BY random() LIMIT %s", [n])
                rows = [r[0] for r in cursor.fetchall()]
        if not rows:
            raise CommandError("no customers in this database")
        return rows

    def _locust(self, env: dict, host: str, users: int, seconds: int, prefix: Path) -> None:
        cmd = [str(BIN / "locust"), "-f", str(LOCUSTFILE), "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
               "--host", host, "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5"]
        result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        if result.returncode not in (0, 1):  # 1: some requests failed (reported from the CSV)
            raise CommandError(f"locust failed ({result.returncode}): {result.stderr[-2000:]}")

    def _stats(self, path: Path) -> dict:
        with open(path) as f:
            for row in csv.DictReader(f):
                if row["Name"] == "Aggregated":
                    if row["50%"] == "N/A":
                        raise CommandError("no request completed during the run: nothing to measure")
                    return {
                        "count": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                        "rps": float(row["Requests/s"]), "p50": float(row["50%"]), "p95": float(row["95%"]),
                        "p99": float(row["99%"]), "max": float(row["Max Response Time"]),
                    }
        raise CommandError(f"no aggregate row in {path}")

"""`make bench`: the demo book's replay (500 customers × 180 days on SQLite), timed N runs in a row.

Each run is what `make demo` does on a fresh machine: a new SQLite database, `migrate`, then
`seed_demo --history-days 180`, each in its own process (as a user runs them), so nothing warmed
up in this process flatters the figure. Prints each run's wall time, where the replay's time went
and the engine-over-time figures, and whether the target (under 90 s for the seed) was met.
"""

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

TARGET_SECONDS = 90


class Command(BaseCommand):
    help = "Time the demo book's seed with its replayed history on a fresh SQLite database, several runs in a row."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=3)
        parser.add_argument("--customers", type=int, default=500)
        parser.add_argument("--history-days", type=int, default=180)

    def handle(self, *args, runs, customers, history_days, **options):
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        met = 0
        for n in range(1, runs + 1):
            with tempfile.TemporaryDirectory() as folder:
                env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3"}
                env.pop("CELERY_BROKER_URL", None)  # eager, as `make demo` on a fresh machine
                subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True)
                started = time.perf_counter()
                done = subprocess.run(
                    [*manage, "seed_demo", "--customers", str(customers), "--seed", "1", "--history-days", str(history_days), "--no-progress"],
                    env=env, check=True, capture_output=True, text=True,
                )
                seconds = time.perf_counter() - started
            lines = [line for line in done.stdout.splitlines() if re.match(r"(Seeded|Replayed|Engine over time)", line)]
            met += seconds < TARGET_SECONDS
            self.stdout.write(f"run {n}: {customers} customers × {history_days} days in {seconds:.1f} s (target < {TARGET_SECONDS} s)")
            for line in lines:
                self.stdout.write(f"    {line}")
        self.stdout.write(self.style.SUCCESS(f"target met in {met} of {runs} runs"))

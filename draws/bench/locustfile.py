"""Locust load for POST /api/v1/draw-checks/ (run by `manage.py bench_draws`, or by hand):

    BENCH_TOKEN=rk_... BENCH_CUSTOMERS=/tmp/customers.txt BENCH_RATE=200 BENCH_USERS=50 \
    locust -f draws/bench/locustfile.py --headless -u 50 -r 50 -t 60s --host http://127.0.0.1:8001

Each user sends `BENCH_RATE / BENCH_USERS` checks per second on average, as a Poisson process of
its own (`poisson_arrivals`): the users together are one Poisson stream of BENCH_RATE checks per
second, as independent checkouts arrive, and an arrival rate rather than a closed loop that slows
down when the server does (a user that falls behind its schedule sends at once, until it
catches up).

Why not `constant_throughput`: it keeps every user on the phase it was spawned at, and locust
spawns a second's users together, so 40 users fired 40 checks at the same instant every 200 ms.
Measured at 200 checks/s: p99 33 ms with 10 users, 120 ms with 40, 530 ms with 200, while
gunicorn's own request time stayed at p99 15 ms: the latency was the load tool's bursts queueing
at the three workers, not the service.
"""

import json
import os
import random
import time

from locust import FastHttpUser, task

TOKEN = os.environ.get("BENCH_TOKEN", "")
CUSTOMERS = [line.strip() for line in open(os.environ["BENCH_CUSTOMERS"]) if line.strip()] if os.environ.get("BENCH_CUSTOMERS") else ["C0000001"]
RATE = float(os.environ.get("BENCH_RATE", "200"))
USERS = int(os.environ.get("BENCH_USERS", "50"))
CHANNELS = ["app", "app", "app", "web", "partner"]


def poisson_arrivals(rate: float):
    """A locust wait_time: the next check at an exponential interval after the last *scheduled*
    one (not after the last answer), so the schedule does not drift with the service's latency."""

    def wait(user) -> float:
        now = time.monotonic()
        scheduled = getattr(user, "_next_check_at", None)
        scheduled = (now if scheduled is None else scheduled) + random.expovariate(rate)
        user._next_check_at = scheduled
        return max(0.0, scheduled - now)

    return wait


class DrawCheckUser(FastHttpUser):
    wait_time = poisson_arrivals(RATE / USERS)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    @task
    def draw_check(self) -> None:
        body = {
            "customer": random.choice(CUSTOMERS),
            "amount": f"{random.randint(10, 3000)}.{random.randint(0, 99):02d}",
            "currency": "CNY",
            "channel": random.choice(CHANNELS),
            "merchant_category": random.choice(["5411", "5732", "5812", "4121"]),
            "device_id": f"dev-{random.randint(1, 3)}",
        }
        with self.client.post("/api/v1/draw-checks/", data=json.dumps(body), headers=self.headers, name="draw-check",
                              catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")

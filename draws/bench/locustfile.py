"""Locust load for POST /api/v1/draw-checks/ (run by `manage.py bench_draws`, or by hand):

    BENCH_TOKEN=rk_... BENCH_CUSTOMERS=/tmp/customers.txt BENCH_RATE=200 BENCH_USERS=50 \
    locust -f draws/bench/locustfile.py --headless -u 50 -r 50 -t 60s --host http://127.0.0.1:8001

Each user sends `BENCH_RATE / BENCH_USERS` checks per second (constant throughput), so the load
is an arrival rate, not a closed loop that slows down when the server does.
"""

import json
import os
import random

from locust import FastHttpUser, constant_throughput, task

TOKEN = os.environ.get("BENCH_TOKEN", "")
CUSTOMERS = [line.strip() for line in open(os.environ["BENCH_CUSTOMERS"]) if line.strip()] if os.environ.get("BENCH_CUSTOMERS") else ["C0000001"]
RATE = float(os.environ.get("BENCH_RATE", "200"))
USERS = int(os.environ.get("BENCH_USERS", "50"))
CHANNELS = ["app", "app", "app", "web", "partner"]


class DrawCheckUser(FastHttpUser):
    wait_time = constant_throughput(RATE / USERS)
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

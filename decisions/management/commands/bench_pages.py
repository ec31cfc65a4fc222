"""`make bench` (pages): logged-in requests to the staff pages on the bench book, p50/p95/max.

Each page is requested through Django's test client in this process (the full middleware stack,
templates, sessions and the database, without a network hop), after a few warm-up requests, as
an analyst. The queue is measured unfiltered and under each kind of filter; the header's customer
search by a part of an id and by phone digits; profiles over a sample of customers spread over the
book (flagged ones first, they have the most to show).
"""

import statistics
import time

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import Customer
from decisions.models import RiskAlert
from riskops.core.roles import ANALYST

TARGET_MS = 150


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


class Command(BaseCommand):
    help = "Measure the staff pages (overview, queue with filters, risk profiles) on the current book."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=100, help="requests per page (after warm-up)")
        parser.add_argument("--no-analyze", dest="analyze", action="store_false", help="leave the planner statistics as they are")

    def handle(self, *args, requests, analyze=True, **options):
        if Customer.objects.count() == 0:
            raise CommandError("no customers: seed a book first (make bench does)")
        if analyze and connection.vendor == "postgresql":
            # This machine's PostgreSQL runs with autovacuum off, so tables bulk-written by the
            # seed and the runs have no planner statistics (a 22k-row alert table estimated at 162
            # rows picks 20k index probes). Production's autoanalyze keeps them fresh; do its job.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        user, _ = User.objects.get_or_create(username="bench-analyst")
        user.groups.add(Group.objects.get(name=ANALYST))
        client = Client(HTTP_HOST=(settings.ALLOWED_HOSTS or ["localhost"])[0].replace("*", "localhost"))
        client.force_login(user)
        flagged = list(RiskAlert.objects.filter(status__in=RiskAlert.OPEN_STATUSES).values_list("customer__external_id", flat=True).distinct()[:20])
        ids = list(Customer.objects.order_by("pk").values_list("external_id", flat=True)[:: max(Customer.objects.count() // 20, 1)][:20])
        queue = reverse("decisions:queue")
        search = reverse("decisions:customer-search")
        phones = [p for p in Customer.objects.filter(external_id__in=ids).values_list("phone", flat=True) if p] or ["0000"]
        pages = {
            "/ (overview)": [reverse("decisions:overview")],
            "/queue/": [queue],
            "/queue/?severity=4": [queue + "?severity=4"],
            "/queue/?rule=OVER_BORROWING&access=limited": [queue + "?rule=OVER_BORROWING&access=limited"],
            "/queue/?assignee=unassigned&sla=breached&sort=-age": [queue + "?assignee=unassigned&sla=breached&sort=-age"],
            "/queue/?q=<external id>": [queue + f"?q={flagged[0] if flagged else ids[0]}"],
            # The header's search over the whole book (trigram indexes on PostgreSQL): a part of
            # an id (five of its characters, any case) and the last three digits of a phone number,
            # each matching several customers (a single match would redirect to the profile).
            "/search/?q=<part of an id>": [search + f"?q={x[-6:-1].lower()}" for x in ids],
            "/search/?q=<last phone digits>": [search + f"?q={p[-3:]}" for p in phones],
            "/customers/<id>/ (flagged)": [reverse("decisions:customer", args=[x]) for x in flagged or ids],
            "/customers/<id>/ (any)": [reverse("decisions:customer", args=[x]) for x in ids],
        }
        self.stdout.write(f"Pages on {Customer.objects.count():,} customers, {requests} logged-in requests each (after 5 warm-up):")
        worst = 0.0
        for name, urls in pages.items():
            for url in urls[:5]:
                self._get(client, url)
            timings = [self._get(client, urls[n % len(urls)]) for n in range(requests)]
            p95 = percentile(timings, 95)
            worst = max(worst, p95)
            self.stdout.write(
                f"  {name:<55} p50 {statistics.median(timings):6.1f} ms  p95 {p95:6.1f} ms  max {max(timings):6.1f} ms"
            )
        self.stdout.write(f"Target: every page p95 < {TARGET_MS} ms ({'met' if worst < TARGET_MS else 'NOT met'}: worst p95 {worst:.1f} ms)")

    def _get(self, client: Client, url: str) -> float:
        started = time.perf_counter()
        response = client.get(url, secure=True)
        elapsed = (time.perf_counter() - started) * 1000
        # The search answers a single match with a redirect to that customer's profile.
        found_one = response.status_code == 302 and "/customers/" in response.get("Location", "")
        if response.status_code != 200 and not found_one:
            raise CommandError(f"{url} answered {response.status_code}")
        return elapsed

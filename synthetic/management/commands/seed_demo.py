import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

from accounts.seeding.generator import as_of_default, parse_as_of
from accounts.selectors import seed_is_loaded
from accounts.services import SEED_TABLES
from riskops.core.bulk import refresh_planner_statistics
from riskops.core.exceptions import DomainError
from synthetic.replay import MAX_HISTORY_DAYS, REPLAYED_TABLES, demo_book_seed_with_history
from synthetic.report import engine_over_time


def _history_days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        raise CommandError(f"--history-days must be a whole number of days, not {value!r}")
    if not 0 <= days <= MAX_HISTORY_DAYS:
        raise CommandError(f"--history-days must be between 0 and {MAX_HISTORY_DAYS:,}, not {days}")
    return days


class Command(BaseCommand):
    help = (
        "Generate a reproducible synthetic book of customers, transactions, repayments, consents; with --history-days, "
        "replay it day by day up to today (events, nightly recomputes, triage)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=500)
        parser.add_argument("--seed", type=int, default=1, help="0–999; the same seed gives the same book")
        parser.add_argument("--as-of", default=None, help="YYYY-MM-DD the book ends on (default: today, UTC)")
        parser.add_argument(
            "--history-days", default="0",
            help=f"days of history replayed up to --as-of, 0–{MAX_HISTORY_DAYS:,} (0: the book is written as it stands today, with no replay)",
        )
        parser.add_argument("--triage-share", type=float, default=0.8, help="share of each day's new alerts the simulated analyst works (0–1)")
        parser.add_argument("--verify-fixed-point", action="store_true", help="rerun every replayed night with the same clock and count its decisions")
        parser.add_argument(
            "--daily-runs-last-days", type=int, default=None,
            help="recompute nightly only over the last N replayed days, at each month's end before (the bench book: 30)",
        )
        parser.add_argument("--chunk-size", type=int, default=2000)
        parser.add_argument("--workers", type=int, default=2, help="parallel writer processes (PostgreSQL only)")
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--skip-if-seeded", action="store_true", help="exit quietly if this seed is loaded")

    def handle(self, *args, customers, seed, as_of, history_days, triage_share, verify_fixed_point, daily_runs_last_days,
               chunk_size, workers, no_progress, skip_if_seeded, **options):
        days = _history_days(history_days)
        if daily_runs_last_days is not None and not 0 <= daily_runs_last_days <= days:
            raise CommandError(f"--daily-runs-last-days must be between 0 and --history-days ({days}), not {daily_runs_last_days}")
        if not 0 <= triage_share <= 1:
            raise CommandError(f"--triage-share must be between 0 and 1, not {triage_share}")
        if skip_if_seeded and seed_is_loaded(seed=seed):
            self.stdout.write(f"A book with seed {seed} is already loaded; not seeding again.")
            return
        try:
            as_of_dt = parse_as_of(as_of) if as_of else as_of_default()
        except ValueError:
            raise CommandError(f"--as-of must be a date like 2026-11-25, not {as_of!r}")
        if as_of_dt > as_of_default():
            raise CommandError(f"--as-of {as_of_dt.date()} is in the future: a book can end today ({as_of_default().date()}, UTC) at the latest")
        started = time.perf_counter()
        quiet = no_progress or None
        with tqdm(total=customers, unit="customer", disable=quiet, desc="seeding") as seed_bar, \
                tqdm(total=days, unit="day", disable=quiet or not days, desc="replaying") as day_bar:
            try:
                result, replay = demo_book_seed_with_history(
                    customers=customers, seed=seed, history_days=days, today=as_of_dt.date(), triage_share=triage_share,
                    verify_fixed_point=verify_fixed_point, chunk_size=chunk_size, workers=workers, daily_runs_last_days=daily_runs_last_days,
                    progress_seed=seed_bar.update, progress_days=day_bar.update,
                )
            except DomainError as exc:
                raise CommandError(f"{exc.field}: {exc.message}" if getattr(exc, "field", None) else exc.message)
        elapsed = time.perf_counter() - started
        rows = ", ".join(f"{n:,} {table}" for table, n in result.rows.items())
        self.stdout.write(self.style.SUCCESS(f"Seeded {result.customers:,} customers in {elapsed:.1f}s: {rows}"))
        # The first full recompute of a freshly seeded 100k book took 72.8 s (18.6 times the floor)
        # on tables nobody had analysed: the planner costed millions of rows as the empty tables
        # they were at CREATE. ANALYZE samples a fixed number of rows a table: seconds at any size.
        if connection.vendor == "postgresql":
            analysing = time.perf_counter()
            refresh_planner_statistics(*dict.fromkeys([*(model for model, _, _ in SEED_TABLES.values()), *REPLAYED_TABLES]))
            self.stdout.write(f"Planner statistics refreshed (ANALYZE) in {time.perf_counter() - analysing:.1f}s.")
        if replay is None:
            return
        s = replay.seconds
        self.stdout.write(
            f"Replayed {replay.days} days: {replay.events:,} events, {replay.decisions:,} decisions, {replay.triaged:,} alerts "
            f"triaged by the simulated analyst, {replay.hazard_rows:,} hazard rows. Time: generating {s['generate']:.1f}s, "
            f"ingesting {s['ingest']:.1f}s, recomputing {s['recompute']:.1f}s, figures and triage {s['other']:.1f}s."
        )
        if verify_fixed_point:
            self.stdout.write(f"Reruns of every replayed night with the same clock wrote {replay.rerun_decisions} decisions (a fixed point: 0).")
        figures = engine_over_time()
        self.stdout.write(
            f"Engine over time: {figures.reversals} limit reversals in {figures.customer_years:.1f} customer-years "
            f"({figures.reversals_per_customer_year:.3f} a customer-year); {figures.defaults} customers reached 90+ days past due, "
            f"{figures.caught_early} of them ({figures.caught_early_share:.0%}) limited, suspended or closed before."
        )

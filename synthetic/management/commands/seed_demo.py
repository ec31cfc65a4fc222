import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.seeding.generator import as_of_default, parse_as_of
from accounts.selectors import seed_is_loaded
from accounts.services import demo_book_seed
from riskops.core.exceptions import DomainError


class Command(BaseCommand):
    help = "Generate a reproducible synthetic book of customers, transactions, repayments, consents."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=500)
        parser.add_argument("--seed", type=int, default=1, help="0–999; the same seed gives the same book")
        parser.add_argument("--as-of", default=None, help="YYYY-MM-DD the book ends on (default: today, UTC)")
        parser.add_argument("--chunk-size", type=int, default=2000)
        parser.add_argument("--workers", type=int, default=2, help="parallel writer processes (PostgreSQL only)")
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--skip-if-seeded", action="store_true", help="exit quietly if this seed is loaded")

    def handle(self, *args, customers, seed, as_of, chunk_size, workers, no_progress, skip_if_seeded, **options):
        if skip_if_seeded and seed_is_loaded(seed=seed):
            self.stdout.write(f"A book with seed {seed} is already loaded; not seeding again.")
            return
        try:
            as_of_dt = parse_as_of(as_of) if as_of else as_of_default()
        except ValueError:
            raise CommandError(f"--as-of must be a date like 2026-11-25, not {as_of!r}")
        started = time.perf_counter()
        with tqdm(total=customers, unit="customer", disable=no_progress or None, desc="seeding") as bar:
            try:
                result = demo_book_seed(
                    customers=customers, seed=seed, as_of=as_of_dt, chunk_size=chunk_size, workers=workers, progress=bar.update
                )
            except DomainError as exc:
                raise CommandError(exc.message)
        elapsed = time.perf_counter() - started
        rows = ", ".join(f"{n:,} {table}" for table, n in result.rows.items())
        self.stdout.write(self.style.SUCCESS(f"Seeded {result.customers:,} customers in {elapsed:.1f}s: {rows}"))

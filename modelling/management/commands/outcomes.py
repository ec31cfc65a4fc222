import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from modelling.performance import utc_date
from modelling.selectors import customers_to_materialise
from modelling.services.outcomes import OutcomeReport, outcomes_materialise
from riskops.core.exceptions import DomainError

HEADERS = ("observation date", "customers", "excluded (no consent)", "matured", "bad", "bad rate")


def _as_of(value: str | None) -> date:
    if value is None:
        return utc_date(timezone.now())
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of must be a date as YYYY-MM-DD, not {value!r}") from None


def report_table(report: OutcomeReport) -> list[str]:
    """The report as aligned text lines: one per observation date."""
    rows = [
        (
            o.observation_date.isoformat(),
            f"{o.customers:,}",
            f"{o.excluded_no_consent:,}",
            f"{o.matured:,}",
            f"{o.bad:,}",
            f"{o.bad_rate:.2%}" if o.bad_rate is not None else "open",
        )
        for o in report.observations
    ]
    widths = [max(len(cell) for cell in column) for column in zip(HEADERS, *rows)]
    lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))) for row in [HEADERS, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


class Command(BaseCommand):
    help = (
        "Materialise credit outcomes as of a date: for every customer and monthly observation date, the worst days "
        "past due within the policy's horizon and whether that is bad. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", default=None, help="YYYY-MM-DD the outcomes are computed for (default: today, UTC)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, as_of, no_progress, **options):
        as_of_date = _as_of(as_of)
        started = time.perf_counter()
        try:
            with tqdm(total=customers_to_materialise(), unit="customer", desc="outcomes", disable=no_progress or None) as bar:
                report = outcomes_materialise(as_of=as_of_date, now=timezone.now(), progress=bar.update)
        except DomainError as exc:
            # The service names the bad input by its parameter; the user typed the option.
            name = "--as-of" if exc.field == "as_of" else exc.field
            raise CommandError(f"{name}: {exc.message}" if name else exc.message) from None
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"Outcomes as of {report.as_of}: bad = worst days past due ≥ {report.bad_days_past_due} within "
            f"{report.horizon_months} months (policy v{report.policy_version})."
        )
        if report.observations:
            for line in report_table(report):
                self.stdout.write(line)
        else:
            self.stdout.write("No observation date yet: the first is the first of the month after the first onboarding.")
        self.stdout.write(f"Excluded (no credit_scoring consent at the observation date): {report.excluded_no_consent:,} customer-months in total.")
        self.stdout.write(self.style.SUCCESS(
            f"{report.rows:,} outcomes: {report.written:,} written, {report.unchanged:,} unchanged, {report.deleted:,} deleted; "
            f"{report.customers_read:,} customers read in {elapsed:.1f}s."
        ))

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy
from tqdm import tqdm

from modelling.management.cli import aligned_table, as_of_date
from modelling.selectors import customers_to_materialise
from modelling.services.outcomes import OutcomeReport, outcomes_materialise
from riskops.core.exceptions import DomainError

HEADERS = (
    gettext_lazy("observation date"),
    gettext_lazy("customers"),
    gettext_lazy("excluded (no consent)"),
    gettext_lazy("matured"),
    gettext_lazy("bad"),
    gettext_lazy("bad rate"),
)


def report_table(report: OutcomeReport) -> list[str]:
    """The report as aligned text lines: a header, a rule, then one line per observation date."""
    rows = [
        (
            o.observation_date.isoformat(),
            f"{o.customers:,}",
            f"{o.excluded_no_consent:,}",
            f"{o.matured:,}",
            f"{o.bad:,}",
            f"{o.bad_rate:.2%}" if o.bad_rate is not None else _("open"),  # no rate before the horizon ends
        )
        for o in report.observations
    ]
    headers = tuple(str(h) for h in HEADERS)
    # The date left-aligned, the figures right-aligned.
    return aligned_table(headers, rows, right=set(range(1, len(headers))))


class Command(BaseCommand):
    help = (
        "Materialise credit outcomes as of a date: for every customer and monthly observation date, the worst days "
        "past due within the policy's horizon and whether that is bad. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", default=None, help="YYYY-MM-DD the outcomes are computed for (default: today, UTC)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, as_of, no_progress, **options):
        day = as_of_date(as_of)
        started = time.perf_counter()
        try:
            with tqdm(total=customers_to_materialise(), unit="customer", desc="outcomes", disable=no_progress or None) as bar:
                report = outcomes_materialise(as_of=day, now=timezone.now(), progress=bar.update)
        except DomainError as exc:
            # The service names the bad input by its parameter; the user typed the option.
            name = "--as-of" if exc.field == "as_of" else exc.field
            raise CommandError(f"{name}: {exc.message}" if name else exc.message) from None
        elapsed = time.perf_counter() - started
        self.stdout.write(
            _("Outcomes as of %(as_of)s: bad = worst days past due ≥ %(days)s within %(months)s months (policy v%(version)s).")
            % {"as_of": report.as_of, "days": report.bad_days_past_due, "months": report.horizon_months, "version": report.policy_version}
        )
        if report.observations:
            for line in report_table(report):
                self.stdout.write(line)
        else:
            self.stdout.write(_("No observation date yet: the first is the first month start on or after the first onboarding."))
        self.stdout.write(
            _("Excluded (no credit_scoring consent at the observation date): %(count)s customer-months in total.")
            % {"count": f"{report.excluded_no_consent:,}"}
        )
        self.stdout.write(self.style.SUCCESS(
            _("%(rows)s outcomes: %(written)s written, %(unchanged)s unchanged, %(deleted)s deleted; %(customers)s customers read in %(seconds).1fs.")
            % {
                "rows": f"{report.rows:,}",
                "written": f"{report.written:,}",
                "unchanged": f"{report.unchanged:,}",
                "deleted": f"{report.deleted:,}",
                "customers": f"{report.customers_read:,}",
                "seconds": elapsed,
            }
        ))


from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from modelling.drift import SCORE
from modelling.health_texts import level_name, reference_source_name
from modelling.management.cli import aligned_table, as_of_date
from modelling.services.monitoring import MonitorResult, model_monitor
from riskops.core.exceptions import DomainError


def figures_table(result: MonitorResult) -> list[str]:
    """The night's figures as aligned lines: the score's PSI first, then each feature's CSI."""
    found = result.figures
    levels = found.levels()
    rows = [
        (_("score (PSI)") if metric == SCORE else metric, f"{value:.4f}", str(level_name(levels[metric])))
        for metric, value in found.metrics().items()
    ]
    headers = (_("metric"), _("value"), _("level"))
    return aligned_table(headers, rows, right={1})


class Command(BaseCommand):
    help = (
        "Monitor the active policy version's scorecard as of a night: the score's PSI and each feature's CSI against "
        "its frozen reference, the night's model-health row, and a model alert at PSI >= 0.25. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", default=None, help="YYYY-MM-DD, the night measured (default: today, UTC)")

    def handle(self, *args, as_of, **options):
        try:
            result = model_monitor(as_of=as_of_date(as_of))
        except DomainError as exc:
            name = "--as-of" if exc.field == "as_of" else exc.field
            raise CommandError(f"{name}: {exc.message}" if name else exc.message) from None
        if result.figures is None:
            self.stdout.write(
                _("Policy v%(version)s has no scored customer as of %(as_of)s: nothing to measure.")
                % {"version": result.policy_version, "as_of": result.as_of.isoformat()}
            )
            return
        self.stdout.write(
            _("Policy v%(version)s as of %(as_of)s: %(rows)s customers against the reference from %(source)s%(frozen)s.")
            % {
                "version": result.policy_version,
                "as_of": result.as_of.isoformat(),
                "rows": f"{result.figures.rows:,}",
                "source": reference_source_name(result.reference_source),
                "frozen": _(" (frozen tonight)") if result.reference_frozen else "",
            }
        )
        for line in figures_table(result):
            self.stdout.write(line)
        for alert in result.alerts:
            self.stdout.write(self.style.ERROR(
                _("Model alert raised: %(metric)s at %(value).4f (>= 0.25).") % {"metric": alert.metric, "value": alert.value}
            ))
        summary = _("Level: %(level)s; %(state)s.") % {
            "level": level_name(result.figures.level),
            "state": _("the night's row written") if result.written else _("unchanged since the last run of this night"),
        }
        self.stdout.write(self.style.SUCCESS(summary) if result.figures.level == "stable" else self.style.WARNING(summary))

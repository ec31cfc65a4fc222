"""`manage.py scorecard_fit`: fit a scorecard from the book's outcomes or from a CSV file, print its
validation figures, write the report as JSON, and (from the book, or a CSV with --draft) store it as
a draft policy version for four-eyes activation."""

import json
from datetime import date
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from modelling.csv_input import CsvRefused
from modelling.models import ScorecardDevelopment
from modelling.services.sample import development_sample
from modelling.services.csv_development import scorecard_fit_csv
from modelling.services.development import scorecard_develop
from modelling.validation import SplitSettings, report_summary
from riskops.core.exceptions import DomainError


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} must be a date as YYYY-MM-DD, not {value!r}") from None


def _fraction(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise CommandError(f"--test-fraction must be a number between 0 and 1, not {value!r}") from None
    if not 0 < number < 1:
        raise CommandError(f"--test-fraction must be between 0 and 1 (exclusive), not {value}")
    return number


class Command(BaseCommand):
    help = (
        "Fit a scorecard with optbinning and validate it. --from-book: on the book's matured outcomes, written as a "
        "draft policy version with its validation report. --from-csv PATH: on a file's rows, reported only (a draft "
        "with --draft, when every column is an engine feature)."
    )

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--from-book", action="store_true", help="fit on the book's outcomes and recorded features")
        source.add_argument("--from-csv", metavar="PATH", help="fit on a CSV file (one row per observation)")
        parser.add_argument("--observation-from", metavar="DATE", help="first observation date (book)")
        parser.add_argument("--observation-to", metavar="DATE", help="last observation date (book)")
        parser.add_argument("--oot-months", type=int, default=2, help="latest observation dates held out of time (book; default 2)")
        parser.add_argument("--target", help="the target column (CSV)")
        parser.add_argument("--bad-value", help="the target's value that means bad (CSV)")
        split = parser.add_mutually_exclusive_group()
        split.add_argument("--split-column", help="a column whose values are train and test (CSV)")
        split.add_argument("--test-fraction", default="0.3", help="share held out at random (default 0.3)")
        parser.add_argument("--seed", type=int, default=0, help="seed of the random holdout (default 0)")
        parser.add_argument("--draft", action="store_true", help="CSV: also write a draft policy version (engine features only)")
        parser.add_argument("--report-json", metavar="PATH", help="write the report as JSON to PATH")
        parser.add_argument("--name", default="", help="the draft's name")
        parser.add_argument("--as", dest="username", help="the staff user the fit is recorded under (default: system)")
        parser.add_argument(
            "--skip-if-fitted", action="store_true",
            help="book: exit quietly when a scorecard was already fitted on this very sample (the same digest); for scripts",
        )

    def handle(self, *args, **options):
        actor = None
        if options["username"]:
            actor = get_user_model().objects.filter(username=options["username"]).first()
            if actor is None:
                raise CommandError(f"--as {options['username']}: no such user")
        report_path = Path(options["report_json"]) if options["report_json"] else None
        if report_path is not None and not report_path.parent.is_dir():
            raise CommandError(f"--report-json {report_path}: the folder {report_path.parent} does not exist")
        test_fraction = _fraction(options["test_fraction"])
        if options["from_book"]:
            for option in ("target", "bad_value", "split_column"):
                if options[option]:
                    raise CommandError(f"--{option.replace('_', '-')} applies to --from-csv only")
            if options["skip_if_fitted"] and (existing := self._fitted_on_same_sample(options)) is not None:
                self.stdout.write(f"Already fitted on this sample: policy v{existing.policy_version.version}; nothing written.")
                return
            try:
                result = scorecard_develop(
                    actor=actor,
                    observation_from=_date(options["observation_from"], "--observation-from"),
                    observation_to=_date(options["observation_to"], "--observation-to"),
                    split=SplitSettings(test_fraction=test_fraction, oot_months=options["oot_months"], seed=options["seed"]),
                    name=options["name"],
                )
            except DomainError as exc:
                raise CommandError(exc.message) from None
            report, version = result.report, result.version
        else:
            if options["observation_from"] or options["observation_to"]:
                raise CommandError("--observation-from and --observation-to apply to --from-book only")
            if not options["target"] or options["bad_value"] is None:
                raise CommandError("--from-csv needs --target COLUMN and --bad-value VALUE")
            try:
                fit = scorecard_fit_csv(
                    path=Path(options["from_csv"]),
                    target=options["target"],
                    bad_value=options["bad_value"],
                    split_column=options["split_column"],
                    test_fraction=test_fraction,
                    seed=options["seed"],
                    draft=options["draft"],
                    actor=actor,
                    name=options["name"],
                )
            except CsvRefused as exc:
                raise CommandError(str(exc)) from None
            report, version = fit.report, (fit.draft.version if fit.draft else None)
        summary = report_summary(report)
        self._print(summary, version)
        if report_path is not None:
            report_path.write_text(json.dumps(summary, indent=2, cls=DjangoJSONEncoder, default=str))
            self.stdout.write(f"Report written to {report_path}")

    def _fitted_on_same_sample(self, options):
        try:
            sample = development_sample(
                observation_from=_date(options["observation_from"], "--observation-from"),
                observation_to=_date(options["observation_to"], "--observation-to"),
            )
        except DomainError:
            return None  # scorecard_develop refuses it below, with its message
        return ScorecardDevelopment.objects.filter(sample_sha256=sample.digest()["sha256"]).select_related("policy_version").first()

    def _print(self, summary: dict, version) -> None:
        self.stdout.write(f"{'part':<6} {'rows':>9} {'bads':>7} {'AUC':>7} {'95% CI':>15} {'Gini':>7} {'KS':>7} {'champion':>9}")
        for part in ("train", "test", "oot"):
            if part not in summary:
                continue
            s = summary[part]
            ci = f"{s['auc_ci95'][0]:.3f}–{s['auc_ci95'][1]:.3f}"
            champion = f"{s['champion_auc']:.3f}" if "champion_auc" in s else "—"
            self.stdout.write(
                f"{part:<6} {s['rows']:>9,} {s['bads']:>7,} {s['auc']:>7.3f} {ci:>15} {s['gini']:>7.3f} {s['ks']:>7.3f} {champion:>9}"
            )
        if "oracle_auc" in summary:
            self.stdout.write("oracle AUC (true hazard): " + ", ".join(f"{k} {v:.3f}" for k, v in summary["oracle_auc"].items()))
        kept = [f for f in summary["features"] if f["selected"]]
        dropped = [f["name"] for f in summary["features"] if not f["selected"]]
        self.stdout.write("features: " + ", ".join(f"{f['name']} (IV {f['iv']:.3f})" for f in kept))
        if dropped:
            self.stdout.write("dropped (IV below the threshold): " + ", ".join(dropped))
        if version is not None:
            self.stdout.write(self.style.SUCCESS(f"Draft policy v{version.version} written: simulate it, then ask a second risk admin to approve it."))

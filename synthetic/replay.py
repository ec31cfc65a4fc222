"""Daily replay: the synthetic book lives through `history_days` days up to today.

The base book (`accounts.seeding`) is written as it stood `history_days` ago; then, for every day
up to yesterday, in order:

1. each customer's day is drawn from the generative model (`synthetic.life`), knowing the
   engine's decision in force that morning (a suspended line cannot be drawn);
2. the day's events go in through the ingestion services live events use: the batch services
   of `accounts.events_bulk` (the API's batch path) for transactions, repayments, applications
   and bureau reports, `transaction_record` for each draw with its schedule, `consent_grant`,
   `consent_withdraw` and `disclosure_acknowledge` with the day's clock. Recomputes are deferred
   (`accounts.changes.recomputes_deferred`): every event leaves its change mark, and nothing is
   recomputed at today's time;
3. the nightly recompute of that day runs with its clock at the day's end (`RecomputeRun.as_of`),
   through the same run and chunk services as the real nightly run;
4. the day's book figures are written as of the day's end; the next day, during office hours and
   before that day's run, a share of the alerts the night raised is triaged by the simulated
   analyst (user `simulated-analyst`, named so in the audit trail);
5. on the first day of each month, each customer's true hazard is written to `SyntheticHazard`.

With `verify_fixed_point`, each night's run is followed by a second run with the same clock, whose
decisions are counted: a fixed point writes none.

Not resumable: the generative state lives in memory for the length of the replay. An interrupted
replay leaves whole days behind it (each day's ingestion and run commit separately); seed again
into a fresh database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone as dt_timezone
from decimal import Decimal
from time import perf_counter
from typing import Callable

from django.contrib.auth.models import Group, User
from django.db import transaction

from accounts.changes import recomputes_deferred
from accounts.consent_evidence import synthetic_evidence
from accounts.events import consent_grant, consent_withdraw, disclosure_acknowledge, transaction_record
from accounts.events_bulk import applications_record_bulk, bureau_reports_record_bulk, repayments_record_bulk, transactions_record_bulk
from accounts.models import BureauReport, Consent, CreditApplication, Customer, Disclosure, RepaymentInstallment, Transaction
from accounts.seeding.generator import archetype_of
from accounts.services import demo_book_seed, disclosure_publish
from decisions.models import CreditDecision, CreditLine, RecomputeRun, RiskAlert, ScoreSnapshot, Trigger
from decisions.casework.services.book_stats import book_stats_refresh
from decisions.engine.services.runs import recompute_run_process_inline, recompute_run_start
from decisions.casework.services.triage import alert_confirm, alert_dismiss, suppression_bounds
from riskops.core.audit import audit_record
from riskops.core.bulk import refresh_planner_statistics
from riskops.core.exceptions import ValidationFailed
from riskops.core.roles import ANALYST

from .life import CustomerLife, Installment
from .models import SyntheticHazard

MAX_HISTORY_DAYS = 1100
SIMULATOR_USERNAME = "simulated-analyst"
# A new version of the risk disclosure is published this many days into the replay, so the
# history holds acknowledgements (and DISCLOSURE_MISSING alerts for those who never acknowledge).
DISCLOSURE_DAY = 45
# The tables a replayed month grows: their planner statistics are refreshed each month.
REPLAYED_TABLES = (
    Transaction, RepaymentInstallment, CreditApplication, BureauReport, Consent,
    ScoreSnapshot, CreditDecision, CreditLine, RiskAlert, SyntheticHazard,
)
NO_ENQUEUE = lambda customer_ids, trigger: None  # noqa: E731 - recomputes are the day's run


@dataclass
class ReplayReport:
    days: int = 0
    events: int = 0
    decisions: int = 0
    rerun_decisions: int = 0
    triaged: int = 0
    hazard_rows: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: {"generate": 0.0, "ingest": 0.0, "recompute": 0.0, "other": 0.0})


def day_end(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=dt_timezone.utc)


def history_days_check(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed("must be a whole number of days", field="history_days")
    if not 0 <= value <= MAX_HISTORY_DAYS:
        raise ValidationFailed(f"must be between 0 and {MAX_HISTORY_DAYS:,} days", field="history_days")
    return value


def _check_options(*, triage_share: float, daily_runs_last_days: int | None = None, history_days: int = MAX_HISTORY_DAYS) -> None:
    if isinstance(triage_share, bool) or not isinstance(triage_share, (int, float)) or not 0 <= triage_share <= 1:
        raise ValidationFailed("must be a share between 0 and 1", field="triage_share")
    if daily_runs_last_days is not None and (
        isinstance(daily_runs_last_days, bool) or not isinstance(daily_runs_last_days, int) or not 0 <= daily_runs_last_days <= history_days
    ):
        raise ValidationFailed(f"must be a whole number of days between 0 and history_days ({history_days})", field="daily_runs_last_days")


def simulated_analyst() -> User:
    user, created = User.objects.get_or_create(
        username=SIMULATOR_USERNAME, defaults={"first_name": "Simulated analyst", "last_name": "(replay)"}
    )
    if created:
        user.set_unusable_password()  # nobody logs in as the simulator
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=ANALYST))
    return user


def _lives(*, seed: int, start: date) -> list[CustomerLife]:
    """Each customer's generative state at the start of the replay, from the stored base book."""
    customers = list(Customer.objects.filter(external_id__startswith=f"C{seed:03d}-").order_by("pk").values_list("pk", "external_id", "onboarded_at"))
    income: dict[int, int] = {}
    for cid, amount in Transaction.objects.filter(customer_id__in=[c[0] for c in customers], kind="income").order_by("occurred_at").values_list("customer_id", "amount"):
        income[cid] = int(amount * 100)  # the latest salary
    open_installments: dict[int, list[Installment]] = {}
    for cid, draw, sequence, due_on, amount_due, amount_paid in (
        RepaymentInstallment.objects.filter(customer_id__in=[c[0] for c in customers], paid_at__isnull=True)
        .order_by("due_on", "pk").values_list("customer_id", "draw__external_id", "sequence", "due_on", "amount_due", "amount_paid")
    ):
        open_installments.setdefault(cid, []).append(Installment(draw, sequence, due_on, int((amount_due - amount_paid) * 100)))
    scoring = set(
        Consent.objects.filter(customer_id__in=[c[0] for c in customers], purpose="credit_scoring", state="active")
        .values_list("customer_id", flat=True)
    )
    lives = []
    for cid, external_id, onboarded_at in customers:
        index = int(external_id.split("-")[1])
        archetype = archetype_of(seed=seed, index=index)
        life = CustomerLife.begin(
            seed=seed, index=index, customer_id=cid, external_id=external_id, archetype=archetype,
            income_cents=income.get(cid, 240_000), onboarded_at=onboarded_at, start=start,
        )
        life.installments = open_installments.get(cid, [])
        life.scoring_consent = cid in scoring
        for i in life.installments:
            if i.due_on < start and life.defaulted_on is None:
                i.pay_on = start + timedelta(days=life.rng.randint(0, 10))  # late payers catch up
        lives.append(life)
    return lives


def _ingest(lives_by_ext: dict[str, CustomerLife], day: date, events: dict[str, list], consent_text: Disclosure, risk: Disclosure | None,
            acknowledging: list[CustomerLife]) -> int:
    stored = 0
    with recomputes_deferred():
        for name, service in (("transactions", transactions_record_bulk), ("applications", applications_record_bulk),
                              ("bureau_reports", bureau_reports_record_bulk), ("repayments", repayments_record_bulk)):
            items = events[name]
            for first in range(0, len(items), 1000):
                stored += service(items=items[first : first + 1000], enqueue=NO_ENQUEUE).created
        customers = {c.external_id: c for c in Customer.objects.filter(external_id__in={d["customer"] for d in events["draws"]})}
        for draw in events["draws"]:
            transaction_record(
                customer=customers[draw["customer"]], external_id=draw["external_id"], kind="credit_draw", amount=draw["amount"],
                occurred_at=draw["occurred_at"], installments=draw["installments"],
            )
            stored += 1
        at = datetime.combine(day, time(12), tzinfo=dt_timezone.utc)
        for ext in events["withdrawn"]:
            for consent in Consent.objects.filter(customer__external_id=ext, purpose="credit_scoring", state="active"):
                evidence = {"reason": "customer request", **synthetic_evidence("app", random.Random(f"{ext}:{day}:withdraw"), at=at)}
                consent_withdraw(consent=consent, channel="app", evidence=evidence, now=at)
                stored += 1
        for ext in events["granted"]:
            consent_grant(
                customer=lives_by_ext[ext].customer, purpose="credit_scoring", disclosure=consent_text, channel="app",
                evidence=synthetic_evidence("app", random.Random(f"{ext}:{day}:grant"), at=at), now=at,
            )
            stored += 1
        if risk is not None:
            for life in acknowledging:
                disclosure_acknowledge(customer=life.customer, disclosure=risk, shown_at=at, acknowledged_at=at + timedelta(minutes=2))
                stored += 1
    return stored


def _triage(*, raised_on: date, day: date, share: float, rng: random.Random, analyst: User) -> int:
    """The simulated analyst works, during `day`'s office hours, a share of the alerts the night
    run of `raised_on` (the day before) raised. Each decision is timed after the alert was raised
    and before `day`'s own run, as a person's would be: an alert is never resolved before it was
    raised, and what the decision changes reaches the line at that night's run."""
    if share <= 0:
        return 0
    start, end = datetime.combine(raised_on, time.min, tzinfo=dt_timezone.utc), day_end(raised_on)
    office = datetime.combine(day, time(9), tzinfo=dt_timezone.utc)
    max_days = suppression_bounds().max_days
    done = 0
    for alert in RiskAlert.objects.filter(raised_at__gte=start, raised_at__lte=end, status__in=RiskAlert.OPEN_STATUSES, assigned_to__isnull=True).order_by("pk"):
        if rng.random() >= share:
            continue
        confirm = alert.rule.startswith("OVERDUE") or rng.random() < 0.4
        service = alert_confirm if confirm else alert_dismiss
        note = "Simulated analyst (replay): " + ("the risk is real." if confirm else "a false positive on review.")
        at = office + timedelta(minutes=min(done * 3, 8 * 60))  # one case every 3 minutes, until 17:00
        with recomputes_deferred():
            service(alert=alert, actor=analyst, note=note, suppress_days=min(30, max_days), now=at)
        done += 1
    return done


def _hazards(lives: list[CustomerLife], month: date, lines: dict[int, tuple[str, int]]) -> int:
    now = day_end(month)
    rows = [
        SyntheticHazard(
            customer_id=life.customer_id, month=month, latent_risk=round(life.risk, 6),
            hazard=Decimal(str(round(life.hazard(today=month, limit_cents=lines.get(life.customer_id, ("", 0))[1]), 6))),
            in_default=life.defaulted_on is not None, days_past_due=life.days_past_due(month),
            recorded_at=now,
        )
        for life in lives if life.onboarded_at.date() <= month
    ]
    SyntheticHazard.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def _lines() -> dict[int, tuple[str, int]]:
    return {cid: (access, int(limit * 100)) for cid, access, limit in CreditLine.objects.values_list("customer_id", "access", "limit_amount")}


def book_replay(
    *, seed: int, start: date, end: date, triage_share: float = 0.8, verify_fixed_point: bool = False,
    daily_runs_from: date | None = None, progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Replay days start .. end − 1 on the book seeded with `seed` as of `start` (see the module).

    `daily_runs_from`: before this day the nightly recompute runs only at each month's end (the
    events of every day still go in; their change marks wait for the month's run). The bench
    book uses it: 12 months recomputed monthly, the last 30 days nightly."""
    _check_options(triage_share=triage_share)
    report = ReplayReport()
    lives = _lives(seed=seed, start=start)
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=[life.customer_id for life in lives])}
    for life in lives:
        life.customer = customers[life.customer_id]
    by_ext = {life.external_id: life for life in lives}
    consent_text = Disclosure.objects.filter(kind="consent_text").order_by("-version").first()
    analyst = simulated_analyst()
    triage_rng = random.Random(f"{seed}:triage")
    risk: Disclosure | None = None
    ack_day: dict[str, date] = {}
    day = start
    while day < end:
        t0 = perf_counter()
        if (day - start).days == DISCLOSURE_DAY:
            risk = _publish_risk_disclosure(day)
            ack_rng = random.Random(f"{seed}:ack")
            ack_day = {life.external_id: day + timedelta(days=int(ack_rng.expovariate(1 / 10))) for life in lives if ack_rng.random() < 0.9}
        lines = _lines()
        if day.day == 1 or day == start:
            report.hazard_rows += _hazards(lives, day.replace(day=1), lines)
            refresh_planner_statistics(*REPLAYED_TABLES)  # a month of bulk-written rows: the planner's figures catch up
        events: dict[str, list] = {k: [] for k in ("transactions", "applications", "bureau_reports", "repayments", "draws", "withdrawn", "granted")}
        for life in lives:
            access, limit = lines.get(life.customer_id, ("not_offered", 0))
            today = life.day(day, access=access, limit_cents=limit)
            events["transactions"] += today.transactions
            events["applications"] += today.applications
            events["bureau_reports"] += today.bureau_reports
            events["repayments"] += today.repayments
            events["draws"] += [dict(d, customer=life.external_id) for d in today.draws]
            if today.consent_withdrawn:
                events["withdrawn"].append(life.external_id)
            if today.consent_granted:
                events["granted"].append(life.external_id)
        noon = datetime.combine(day, time(12), tzinfo=dt_timezone.utc)
        acknowledging = [by_ext[ext] for ext, when in ack_day.items() if when == day and by_ext[ext].onboarded_at < noon]
        t1 = perf_counter()
        report.events += _ingest(by_ext, day, events, consent_text, risk, acknowledging)
        t2 = perf_counter()
        # Yesterday night's alerts, worked today before tonight's run (the first day has none).
        if day > start:
            report.triaged += _triage(raised_on=day - timedelta(days=1), day=day, share=triage_share, rng=triage_rng, analyst=analyst)
        as_of = day_end(day)
        month_end = (day + timedelta(days=1)).day == 1
        run_start = t3 = perf_counter()
        triage_seconds = run_start - t2
        if daily_runs_from is None or day >= daily_runs_from or month_end:
            run = recompute_run_start(trigger=Trigger.NIGHTLY, enqueue=False, night=day, as_of=as_of)
            recompute_run_process_inline(run=run)
            report.decisions += CreditDecision.objects.filter(run=run).count()
            if verify_fixed_point:
                rerun = recompute_run_start(trigger=Trigger.MANUAL, enqueue=False, as_of=as_of)
                recompute_run_process_inline(run=rerun)
                report.rerun_decisions += CreditDecision.objects.filter(run=rerun).count()
            t3 = perf_counter()
            book_stats_refresh(day=day, now=as_of)  # the run leaves a replayed night's figures to us
        report.seconds["generate"] += t1 - t0
        report.seconds["ingest"] += t2 - t1
        report.seconds["recompute"] += t3 - run_start
        report.seconds["other"] += perf_counter() - t3 + triage_seconds
        report.days += 1
        if progress:
            progress(1)
        day += timedelta(days=1)
    audit_record(
        actor=None, action="seed.replay", target=("seed", seed),
        after={"start": start.isoformat(), "end": end.isoformat(), "days": report.days, "events": report.events,
               "decisions": report.decisions, "triaged": report.triaged},
    )
    return report


def _publish_risk_disclosure(day: date) -> Disclosure:
    return disclosure_publish(
        kind="risk_disclosure", version=3, title="Risks of borrowing",
        body="Borrowing costs money. Missed repayments add fees, are reported to credit bureaus and can lower your credit score. "
        "Your limit follows your repayments and spending every day: it can go down, and your line can be suspended, if they change. "
        "Only borrow what you can repay.",
        published_at=datetime.combine(day, time(6), tzinfo=dt_timezone.utc),
    )


def demo_book_seed_with_history(
    *, customers: int, seed: int, history_days: int, today: date, triage_share: float = 0.8, verify_fixed_point: bool = False,
    chunk_size: int = 2000, workers: int = 1, daily_runs_last_days: int | None = None,
    progress_seed: Callable[[int], None] | None = None, progress_days: Callable[[int], None] | None = None,
) -> tuple[object, ReplayReport | None]:
    """Seed the base book `history_days` before `today` and replay it up to today.
    `history_days` 0 seeds today's book as before, with no replay. Every option is checked
    before anything is written."""
    history_days = history_days_check(history_days)
    _check_options(triage_share=triage_share, daily_runs_last_days=daily_runs_last_days, history_days=history_days)
    if today > datetime.now(dt_timezone.utc).date():
        raise ValidationFailed(f"{today} is in the future: a book can end today at the latest", field="today")
    start = today - timedelta(days=history_days)
    base = demo_book_seed(
        customers=customers, seed=seed, as_of=datetime.combine(start, time.min, tzinfo=dt_timezone.utc),
        chunk_size=chunk_size, workers=workers, progress=progress_seed,
    )
    if history_days == 0:
        return base, None
    daily_from = today - timedelta(days=daily_runs_last_days) if daily_runs_last_days is not None else None
    return base, book_replay(
        seed=seed, start=start, end=today, triage_share=triage_share, verify_fixed_point=verify_fixed_point,
        daily_runs_from=daily_from, progress=progress_days,
    )

"""The generative model: how a synthetic customer lives, day by day, from a latent risk.

Pure: no database. `CustomerLife.day(...)` returns the events of one day as plain data, which
`synthetic.replay` stores through the ingestion services. Every customer draws from its own
`random.Random`, seeded from (seed, index), so the same book replays to the same events.

The model (written out with its numbers in docs/synthetic-book.md):

- **Latent risk** `r`: normal with a mean set by the customer's archetype in the base book
  (on time −0.4, late 0.5, 30+ days overdue 1.2, 90+ days overdue 1.8) and standard deviation
  0.7. Higher is riskier. Everything below is driven by `r`.
- **Income**: the base book's monthly salary, paid on a fixed payday; each month it varies by
  a normal factor with sd `0.03 + 0.12·σ(r)` and is missed with probability `0.01 + 0.10·σ(r−1)`
  (σ is the logistic function).
- **Spending**: `3–6` purchases a month of `(0.45 + 0.3·σ(r))` of income between them, a bill
  with probability 1/30 a day; a spending spike (7 days of large purchases) starts with a daily
  probability of `0.0015·e^(0.8r)`.
- **Borrowing**: with no draw outstanding, a new draw with a daily probability of `0.004·e^(0.5r)`,
  of 20–90% of income (more for riskier customers), capped by the limit available that day
  (the engine's decision feeds back: a suspended line cannot be drawn), repaid in 3 or 6
  monthly installments with an 8% fee.
- **Applications**: a daily probability of `0.002·e^(0.7r)`; a burst (5–9 over six days) starts
  with a daily probability of `0.0005·e^r`.
- **Bureau**: a new report every 80–100 days, score `N(700 − 60r, 40)` clipped to 300–900.
- **Repayment**: an installment falls due; a customer in good standing pays on the day with
  probability `1 − 0.35·σ(r)`, else late by 1–25 days.
- **Default**: the monthly hazard is `h = σ(−4.4 + 1.1·r + 0.8·L + 0.6·S + 0.5·U)` where L is 1 if
  a payment was late in the last 90 days, S is 1 if a spending spike happened in the last 30
  days, U is 1 when more than 80% of the limit is drawn. Each day a customer in good standing
  who owes something defaults with probability `1 − (1 − h)^(1/30)` and stops paying, late
  payments already decided included. Rolling: at 30 and 60 days
  past due a defaulted customer cures (pays everything overdue) with probability 0.35 and 0.15;
  after 90 days never. The true `h` of each customer and month is stored in `SyntheticHazard`.
- **Consent**: a scoring consent is withdrawn with a daily probability of 0.0003 and granted
  again with 0.02 a day after that.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

UTC = timezone.utc
ARCHETYPE_RISK = {"on_time": -0.4, "late": 0.5, "overdue30": 1.2, "overdue90": 1.8}
MERCHANTS = ("grocery", "restaurant", "transport", "fuel", "pharmacy", "electronics", "fashion", "travel", "online")
BILLS = ("utilities", "telecom", "rent", "insurance")
CURE_AT = {30: 0.35, 60: 0.15}


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def monthly_hazard(*, risk: float, late_recently: bool, spiked_recently: bool, highly_utilised: bool) -> float:
    """The true probability of defaulting within a month (the model's one formula for it)."""
    return sigmoid(-4.4 + 1.1 * risk + 0.8 * late_recently + 0.6 * spiked_recently + 0.5 * highly_utilised)


def cents(value: float) -> int:
    return max(int(value), 1)


def money(amount_cents: int) -> str:
    return f"{amount_cents // 100}.{amount_cents % 100:02d}"


@dataclass
class Installment:
    draw: str  # the draw's external id
    sequence: int
    due_on: date
    amount_cents: int
    paid: bool = False
    pay_on: date | None = None  # a late payment already decided


@dataclass
class DayEvents:
    transactions: list[dict] = field(default_factory=list)
    draws: list[dict] = field(default_factory=list)  # each with its schedule
    repayments: list[dict] = field(default_factory=list)
    applications: list[dict] = field(default_factory=list)
    bureau_reports: list[dict] = field(default_factory=list)
    consent_withdrawn: bool = False
    consent_granted: bool = False


@dataclass
class CustomerLife:
    customer_id: int
    external_id: str
    risk: float
    income_cents: int
    onboarded_at: datetime
    rng: random.Random
    payday: int = 1
    spend_share: float = 0.6
    purchases_a_month: int = 4
    installments: list[Installment] = field(default_factory=list)
    scoring_consent: bool = True
    withdrew: bool = False  # withdrew during the replay (only they grant again)
    customer: object = None  # the Customer row, for the single-event services
    defaulted_on: date | None = None
    last_late: date | None = None
    last_spike: date | None = None
    spike_days_left: int = 0
    burst_days_left: int = 0
    next_bureau: date | None = None
    lenders: int = 1
    seq: int = 0

    @classmethod
    def begin(
        cls, *, seed: int, index: int, customer_id: int, external_id: str, archetype: str, income_cents: int, onboarded_at: datetime,
        start: date,
    ) -> "CustomerLife":
        rng = random.Random(f"{seed}:{index}:life")
        life = cls(
            customer_id=customer_id, external_id=external_id, risk=rng.gauss(ARCHETYPE_RISK[archetype], 0.7),
            income_cents=income_cents, onboarded_at=onboarded_at, rng=rng,
        )
        life.payday = rng.randint(1, 28)
        life.spend_share = 0.45 + 0.3 * sigmoid(life.risk) + rng.uniform(-0.05, 0.05)
        life.purchases_a_month = rng.randint(3, 6)
        life.next_bureau = start + timedelta(days=rng.randint(1, 90))
        life.lenders = max(0, int(rng.gauss(1 + max(life.risk, 0), 1)))
        if archetype.startswith("overdue"):
            life.defaulted_on = start  # the base book left them overdue: they do not pay
        return life

    # --- what the model knows about itself -------------------------------------------------

    def drawn_cents(self) -> int:
        return sum(i.amount_cents for i in self.installments if not i.paid)

    def hazard(self, *, today: date, limit_cents: int) -> float:
        return monthly_hazard(
            risk=self.risk,
            late_recently=self.last_late is not None and (today - self.last_late).days <= 90,
            spiked_recently=self.last_spike is not None and (today - self.last_spike).days <= 30,
            highly_utilised=limit_cents > 0 and self.drawn_cents() > 0.8 * limit_cents,
        )

    def _late_within(self, today: date, *, days: int) -> int:
        return int(self.last_late is not None and (today - self.last_late).days <= days)

    def days_past_due(self, today: date) -> int:
        overdue = [i.due_on for i in self.installments if not i.paid and i.due_on < today]
        return (today - min(overdue)).days if overdue else 0

    # --- one day -----------------------------------------------------------------------------

    def _id(self, letter: str) -> str:
        self.seq += 1
        return f"{self.external_id}-{letter}{self.seq:05d}"

    def _at(self, day: date) -> datetime:
        # 07:00–23:00, the same hours as the base book.
        return datetime.combine(day, time(7), tzinfo=UTC) + timedelta(seconds=int(self.rng.random() * 57600))

    def _purchase(self, events: DayEvents, day: date, amount: int, category: str, kind: str = "purchase") -> None:
        events.transactions.append(
            dict(customer=self.external_id, external_id=self._id("L"), kind=kind, amount=money(cents(amount)),
                 occurred_at=self._at(day), merchant_category=category)
        )

    def day(self, today: date, *, access: str, limit_cents: int) -> DayEvents:
        """The customer's events of `today`. `access` and `limit_cents` are the engine's decision
        in force at the start of the day (a draw needs an open or limited line and room in it)."""
        rng, events = self.rng, DayEvents()
        if self.onboarded_at.date() > today:
            return events
        sig = sigmoid(self.risk)
        # Income on payday (sometimes missed, more often by riskier customers).
        if today.day == self.payday and rng.random() >= 0.01 + 0.10 * sigmoid(self.risk - 1):
            amount = self.income_cents * max(rng.gauss(1, 0.03 + 0.12 * sig), 0.2)
            self._purchase(events, today, amount, "", kind="income")
        # Everyday spending, bills, spikes.
        budget = self.income_cents * self.spend_share
        if rng.random() < self.purchases_a_month / 30:
            self._purchase(events, today, budget / self.purchases_a_month * rng.uniform(0.3, 1.7), rng.choice(MERCHANTS))
        if rng.random() < 1 / 30:
            self._purchase(events, today, self.income_cents * rng.uniform(0.05, 0.2), rng.choice(BILLS), kind="bill")
        if self.spike_days_left == 0 and rng.random() < 0.0015 * math.exp(0.8 * self.risk):
            self.spike_days_left = 7
        if self.spike_days_left:
            self.spike_days_left -= 1
            self.last_spike = today
            for _ in range(rng.randint(1, 2)):
                self._purchase(events, today, self.income_cents * rng.uniform(0.3, 0.8), rng.choice(("electronics", "travel", "online")))
        # Applications, and now and then a burst of them.
        if self.burst_days_left == 0 and rng.random() < 0.0005 * math.exp(self.risk):
            self.burst_days_left = 6
        applications = 0
        if self.burst_days_left:
            self.burst_days_left -= 1
            applications += rng.randint(0, 2)
        applications += rng.random() < 0.002 * math.exp(0.7 * self.risk)
        for _ in range(applications):
            events.applications.append(
                dict(customer=self.external_id, external_id=self._id("P"), requested_amount=money(rng.randint(50, 3000) * 100),
                     applied_at=self._at(today), channel=rng.choice(("app", "app", "web", "partner")))
            )
        # Bureau refresh.
        if self.next_bureau is not None and today >= self.next_bureau:
            self.next_bureau = today + timedelta(days=rng.randint(80, 100))
            self.lenders = max(0, self.lenders + rng.choice((-1, 0, 0, 1)) + (self.defaulted_on is not None))
            score = min(900, max(300, int(rng.gauss(700 - 60 * self.risk, 40)) - (80 if self.defaulted_on else 0)))
            events.bureau_reports.append(
                dict(customer=self.external_id, external_id=self._id("B"), score=score, external_lenders=self.lenders,
                     external_debt=money(int(self.income_cents * self.lenders * rng.uniform(0.2, 1.2))),
                     delinquencies_12m=int(self.defaulted_on is not None) + self._late_within(today, days=365), reported_at=self._at(today),
                     bureau="national", raw={"source": "synthetic-replay"})
            )
        # Default, cure, repayments. Only a customer who owes something can default; a default
        # stops every payment, including a late one already decided.
        if (
            self.defaulted_on is None and self.drawn_cents() > 0
            and rng.random() < 1 - (1 - self.hazard(today=today, limit_cents=limit_cents)) ** (1 / 30)
        ):
            self.defaulted_on = today
            for i in self.installments:
                if not i.paid:
                    i.pay_on = None
        dpd = self.days_past_due(today)
        if self.defaulted_on is not None and self.drawn_cents() == 0:
            self.defaulted_on = None  # nothing owed any more: the default is over
        if self.defaulted_on is not None and dpd in CURE_AT and rng.random() < CURE_AT[dpd]:
            self.defaulted_on = None
            for i in self.installments:
                if not i.paid and i.due_on < today:
                    i.pay_on = today
        for i in self.installments:
            if i.paid:
                continue
            if i.pay_on is None and i.due_on == today and self.defaulted_on is None:
                late = rng.random() >= 1 - 0.35 * sig
                i.pay_on = today + timedelta(days=rng.randint(1, 25)) if late else today
                if late:
                    self.last_late = today
            if i.pay_on is not None and i.pay_on <= today:
                i.paid = True
                events.repayments.append(
                    dict(external_id=self._id("R"), amount=money(i.amount_cents), paid_at=self._at(today), draw=i.draw, sequence=i.sequence)
                )
        # A new draw, when the line allows it and nothing is outstanding.
        available = limit_cents - self.drawn_cents()
        if (
            access in ("open", "limited") and self.defaulted_on is None and self.drawn_cents() == 0 and available >= 5000
            and rng.random() < 0.004 * math.exp(0.5 * self.risk)
        ):
            principal = min(int(self.income_cents * rng.uniform(0.2, 0.6 + 0.3 * sig)), available)
            terms = rng.choice((3, 6))
            per = max(principal * 108 // 100 // terms, 100)
            draw_id, when = self._id("D"), self._at(today)
            schedule = [Installment(draw_id, n, today + timedelta(days=30 * n), per) for n in range(1, terms + 1)]
            self.installments.extend(schedule)
            events.draws.append(
                dict(external_id=draw_id, amount=money(principal), occurred_at=when,
                     installments=[{"due_on": i.due_on, "amount_due": money(i.amount_cents)} for i in schedule])
            )
        # Consent for scoring: withdrawn now and then, granted again later.
        if self.scoring_consent and rng.random() < 0.0003:
            self.scoring_consent, self.withdrew, events.consent_withdrawn = False, True, True
        elif self.withdrew and not self.scoring_consent and rng.random() < 0.02:
            self.scoring_consent, events.consent_granted = True, True
        return events

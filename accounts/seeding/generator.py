"""A reproducible synthetic book: every customer is generated from (seed, index, as_of) alone.

Each customer draws from its own `random.Random`, so the book is the same whatever the chunk size,
and customer 41 is the same in a book of 100 and a book of 100,000. The generator is pure: it
returns row tuples with ids from the customer's own `IdBlock`; the seeding service writes them.

Shape of the book (fractions of customers, roughly):
- risk archetype: 78% pay on time, 13% sometimes pay late (1–20 days), 6% have an installment
  30–89 days overdue, 3% one 90+ days overdue;
- 55% have drawn on the credit line (1–3 draws, 3 or 6 monthly installments each);
- 4% show a spending spike in the last 7 days, 3% a burst of applications in the last 7 days,
  5% borrow from many other lenders;
- consents: credit_scoring granted by ~95% (4% of them later withdrawn), bureau_query ~85%,
  transaction_analysis ~88%, marketing ~45%; ~92% have a bureau report. Consents come through
  the app (~70%), the web (~23%), the call centre (~4%) and a branch (~3%), each with the
  evidence its channel records (accounts/consent_evidence.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from accounts.consent_evidence import synthetic_evidence

UTC = timezone.utc

FIRST_NAMES = (
    "Ana Ben Chloe Dara Elif Femi Gita Hugo Ines Jonas Kemal Lena Marta Nikos Omar Priya Quinn Rosa "
    "Sami Tara Uma Viktor Wen Xavi Yara Zane Aiko Bruno Carla Diego Emma Farah Goran Hana Ivan Jade"
).split()
LAST_NAMES = (
    "Silva Novak Okafor Jensen Haddad Costa Yilmaz Moreau Kowalski Tanaka Nguyen Rossi Schmidt "
    "Garcia Ivanova Mensah Larsen Papadopoulos Kaur Dubois Fischer Santos Ali Berg Horvat Lindqvist"
).split()
MERCHANTS = ("grocery", "restaurant", "transport", "fuel", "pharmacy", "electronics", "fashion", "travel", "online")
BILLS = ("utilities", "telecom", "rent", "insurance")

PURPOSES = ("credit_scoring", "bureau_query", "transaction_analysis", "marketing")


@dataclass(frozen=True)
class DisclosureVersion:
    kind: str
    version: int
    published_days_ago: int
    title: str
    body: str


DISCLOSURES = (
    DisclosureVersion("risk_disclosure", 1, 720, "Risks of borrowing", "Borrowing costs money. Missed repayments add fees, are reported to credit bureaus and can lower your credit score. Only borrow what you can repay."),
    DisclosureVersion("risk_disclosure", 2, 120, "Risks of borrowing", "Borrowing costs money. Missed repayments add fees, are reported to credit bureaus and can lower your credit score. Your limit can go down or your line can be suspended if your repayment behaviour changes. Only borrow what you can repay."),
    DisclosureVersion("product_terms", 1, 720, "Instant credit line terms", "Your credit line is revolving. Each draw is repaid in monthly installments on the dates shown in the app."),
    DisclosureVersion("product_terms", 2, 200, "Instant credit line terms", "Your credit line is revolving. Each draw is repaid in 3 or 6 monthly installments on the dates shown in the app. Limits are reviewed regularly."),
    DisclosureVersion("privacy_notice", 1, 720, "Privacy notice", "We process your personal data to provide the service, to meet our legal obligations and, with your consent, for the purposes you choose."),
    DisclosureVersion("consent_text", 1, 720, "Your data choices", "You may allow us to score your credit, query credit bureaus, analyse your transactions and contact you with offers. Each choice is separate and you can withdraw it at any time."),
    DisclosureVersion("consent_text", 2, 240, "Your data choices", "You may allow us to (1) score your credit from your repayment and payment history, (2) query credit bureaus, (3) analyse your transactions, (4) contact you with offers. Each choice is separate and you can withdraw it at any time in Settings."),
)


# Each customer owns a fixed block of ids per table (index × stride), so rows can reference each
# other before insert and chunks can be generated and written in parallel without coordination.
ID_STRIDES = {
    "customer": 1,
    "transaction": 256,  # at most ~12 × 8 monthly + 12 spike + 3 × 7 credit rows
    "installment": 32,  # 3 draws × 6
    "application": 16,  # 3 + 9
    "bureau": 4,
    "consent": 4,
    "consent_event": 8,
    "acknowledgement": 8,
}


class IdBlock:
    """Hands out one customer's primary keys per table."""

    def __init__(self, bases: dict[str, int], index: int) -> None:
        self._next = {t: bases[t] + index * stride for t, stride in ID_STRIDES.items()}
        self._end = {t: start + ID_STRIDES[t] for t, start in self._next.items()}

    def take(self, table: str) -> int:
        value = self._next[table]
        if value >= self._end[table]:
            raise OverflowError(f"customer used more than {ID_STRIDES[table]} {table} ids")
        self._next[table] = value + 1
        return value


@dataclass
class CustomerRows:
    customer: tuple = ()
    transactions: list[tuple] = field(default_factory=list)
    installments: list[tuple] = field(default_factory=list)
    applications: list[tuple] = field(default_factory=list)
    bureau_reports: list[tuple] = field(default_factory=list)
    consents: list[tuple] = field(default_factory=list)
    consent_events: list[tuple] = field(default_factory=list)
    acknowledgements: list[tuple] = field(default_factory=list)
    traits: dict = field(default_factory=dict)


# Column orders; the seeding service passes these to the bulk writer.
CUSTOMER_COLUMNS = ("id", "external_id", "full_name", "national_id", "phone", "onboarded_at", "language", "created_at")
TRANSACTION_COLUMNS = ("id", "external_id", "customer_id", "kind", "amount", "merchant_category", "occurred_at", "created_at")
INSTALLMENT_COLUMNS = ("id", "draw_id", "customer_id", "sequence", "due_on", "amount_due", "amount_paid", "paid_at")
APPLICATION_COLUMNS = ("id", "external_id", "customer_id", "requested_amount", "channel", "applied_at", "created_at")
BUREAU_COLUMNS = ("id", "external_id", "customer_id", "bureau", "score", "external_lenders", "external_debt", "delinquencies_12m", "reported_at", "raw", "created_at")
CONSENT_COLUMNS = ("id", "customer_id", "purpose", "disclosure_id", "channel", "evidence", "state", "granted_at", "expires_at", "withdrawn_at")
CONSENT_EVENT_COLUMNS = ("id", "consent_id", "kind", "occurred_at", "channel", "evidence")
ACK_COLUMNS = ("id", "customer_id", "disclosure_id", "channel", "shown_at", "acknowledged_at")


def money(cents: int) -> str:
    """Exact decimal text for an integer amount of cents (no float ever touches money)."""
    return f"{cents // 100}.{cents % 100:02d}"


def customer_external_id(seed: int, index: int) -> str:
    return f"C{seed:03d}-{index:07d}"


def _below(rng: random.Random, n: int) -> int:
    # random() arithmetic: about four times cheaper than randrange() on the hot path.
    return int(rng.random() * n)


def _at(day_start: datetime, rng: random.Random) -> datetime:
    # Business hours mostly: 07:00–23:00.
    return day_start + timedelta(seconds=25200 + _below(rng, 57600))


ARCHETYPES = ((0.78, "on_time"), (0.91, "late"), (0.97, "overdue30"), (1.0, "overdue90"))


def archetype_of(*, seed: int, index: int) -> str:
    """The customer's risk archetype: the first draw of its generator (see `generate_customer`)."""
    roll = random.Random(f"{seed}:{index}").random()
    return next(name for bound, name in ARCHETYPES if roll < bound)


def generate_customer(
    *, seed: int, index: int, as_of: datetime, id_bases: dict[str, int], disclosure_ids: dict[tuple[str, int], int]
) -> CustomerRows:
    rng = random.Random(f"{seed}:{index}")
    rows = CustomerRows()
    ids = IdBlock(id_bases, index)
    cid = ids.take("customer")
    ext = customer_external_id(seed, index)
    today = as_of.replace(hour=0, minute=0, second=0, microsecond=0)

    roll = rng.random()
    archetype = next(name for bound, name in ARCHETYPES if roll < bound)
    months = rng.randint(3, 12)
    if archetype == "overdue90":
        months = max(months, 6)  # long enough for an installment to be 90+ days past due
    onboarded = today - timedelta(days=months * 30 + rng.randint(0, 20)) + timedelta(seconds=rng.randint(28800, 72000))
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    national_id = f"{seed % 1000:03d}{index:08d}"
    phone = f"+1555{rng.randint(0, 9_999_999):07d}"
    # About three in ten read the app in Chinese. Derived from the id, not drawn from `rng`, so
    # the rest of a seeded book is the same as before the language existed.
    language = "zh-hans" if (cid * 2654435761) % 10 < 3 else "en"
    rows.customer = (cid, ext, name, national_id, phone, onboarded, language, onboarded)

    spike = rng.random() < 0.04
    burst = rng.random() < 0.03
    heavy_borrower = rng.random() < 0.05
    income_cents = int(rng.lognormvariate(12.4, 0.45))  # median ≈ 2,400.00 a month
    rows.traits = {"archetype": archetype, "spike": spike, "burst": burst, "heavy_borrower": heavy_borrower}

    tx_seq = 0

    def add_tx(kind: str, cents: int, when: datetime, category: str = "") -> int:
        nonlocal tx_seq
        tx_seq += 1
        tid = ids.take("transaction")
        rows.transactions.append((tid, f"{ext}-T{tx_seq:05d}", cid, kind, money(max(cents, 1)), category, when, when))
        return tid

    # Payment history: salary at the start of each month, everyday spending, bills.
    first_day = onboarded.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    spend_share = rng.uniform(0.4, 0.9)
    per_month = rng.randint(3, 5)
    day = first_day
    while day < today:
        month_end = min(day + timedelta(days=30), today)
        span = (month_end - day).days or 1
        add_tx("income", int(income_cents * rng.uniform(0.95, 1.05)), _at(day, rng))
        budget = income_cents * spend_share
        # A partial last month gets its share of the month's spending, not a whole month's.
        share = span / 30
        for _ in range(round(per_month * share)):
            when = _at(day + timedelta(days=_below(rng, span)), rng)
            add_tx("purchase", int(budget / per_month * rng.uniform(0.3, 1.7)), when, rng.choice(MERCHANTS))
        if rng.random() < share:
            add_tx("bill", int(income_cents * rng.uniform(0.05, 0.2)), _at(day + timedelta(days=_below(rng, span)), rng), rng.choice(BILLS))
        if rng.random() < 0.3 * share:
            kind = rng.choice(("transfer_out", "cash_out"))
            add_tx(kind, int(income_cents * rng.uniform(0.05, 0.3)), _at(day + timedelta(days=_below(rng, span)), rng))
        day = month_end
    if spike:
        for _ in range(rng.randint(6, 12)):
            when = _at(today - timedelta(days=rng.randint(1, 6)), rng)
            add_tx("purchase", int(income_cents * rng.uniform(0.3, 0.8)), when, rng.choice(("electronics", "travel", "online")))

    # Credit-line draws and their installments.
    draws = rng.randint(1, 3) if rng.random() < 0.55 or archetype.startswith("overdue") else 0
    history_days = (today - first_day).days
    for draw_no in range(draws):
        terms = rng.choice((3, 6))
        forced_overdue = archetype.startswith("overdue") and draw_no == 0
        if forced_overdue:
            # Place the draw so that exactly one installment is due the right number of days ago.
            dpd = rng.randint(31, 85) if archetype == "overdue30" else rng.randint(95, min(170, max(95, history_days - 40)))
            first_due = today - timedelta(days=dpd)
            draw_day = first_due - timedelta(days=30)
        else:
            draw_day = first_day + timedelta(days=rng.randint(0, max(history_days - 10, 0)))
            first_due = draw_day + timedelta(days=30)
        if draw_day < first_day:
            draw_day, first_due = first_day, first_day + timedelta(days=30)
        principal = int(income_cents * rng.uniform(0.2, 0.9))
        draw_id = add_tx("credit_draw", principal, _at(draw_day, rng))
        per_installment = max(principal * 108 // 100 // terms, 100)  # 8% flat fee over the term
        for seq in range(1, terms + 1):
            due = first_due + timedelta(days=30 * (seq - 1))
            paid_at = None
            if due < today:
                if forced_overdue:
                    paid_at = None  # the missed installment and everything after it stays unpaid
                elif archetype == "late" and rng.random() < 0.4:
                    paid_at = _at(due + timedelta(days=rng.randint(1, 20)), rng)
                else:
                    paid_at = _at(due - timedelta(days=rng.randint(0, 5)), rng)
                if paid_at is not None and paid_at >= as_of:
                    paid_at = None
            paid = money(per_installment) if paid_at else "0.00"
            rows.installments.append(
                (ids.take("installment"), draw_id, cid, seq, due.date(), money(per_installment), paid, paid_at)
            )
            if paid_at:
                add_tx("repayment", per_installment, paid_at)

    # Credit applications: occasional, and a burst for some.
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        when = _at(first_day + timedelta(days=rng.randrange(max(history_days, 1))), rng)
        rows.applications.append(_application(rows, ids, ext, cid, when, rng))
    if burst:
        for _ in range(rng.randint(5, 9)):
            # Days 1–6 before as_of: an event of "today" would lie after as_of (midnight) and reach the
            # engine later, as if it had just arrived, moving decisions on a rerun with no new event.
            rows.applications.append(_application(rows, ids, ext, cid, _at(today - timedelta(days=rng.randint(1, 6)), rng), rng))

    # Bureau reports.
    if rng.random() < 0.92:
        base = {"on_time": 700, "late": 630, "overdue30": 570, "overdue90": 520}[archetype]
        lenders = rng.randint(5, 9) if heavy_borrower else rng.choice((0, 0, 1, 1, 2, 3))
        for n in range(rng.choice((1, 1, 2))):
            reported = _at(today - timedelta(days=rng.randint(1, 80) + 90 * n), rng)
            score = min(900, max(300, int(rng.gauss(base, 55))))
            debt = int(income_cents * lenders * (rng.uniform(0.8, 2.0) if heavy_borrower else rng.uniform(0.2, 0.8)))
            delinquencies = 0 if archetype == "on_time" else rng.randint(0, 3)
            rows.bureau_reports.append(
                (ids.take("bureau"), f"{ext}-B{n + 1}", cid, "national", score, lenders, money(debt), delinquencies,
                 reported, {"source": "synthetic", "inquiries_6m": rng.randint(0, 6)}, reported)
            )

    _consents(rows, ids, cid, onboarded, today, rng, disclosure_ids, ext=ext)
    _acknowledgements(rows, ids, cid, onboarded, today, rng, disclosure_ids)
    return rows


def _application(rows: CustomerRows, ids: IdBlock, ext: str, cid: int, when: datetime, rng: random.Random) -> tuple:
    n = len(rows.applications) + 1
    channel = rng.choice(("app", "app", "app", "web", "partner"))
    return (ids.take("application"), f"{ext}-A{n:03d}", cid, money(rng.randint(50, 3000) * 100), channel, when, when)


def _consent_version(granted: datetime, today: datetime, disclosure_ids: dict) -> int:
    v2_published = today - timedelta(days=next(d.published_days_ago for d in DISCLOSURES if d.kind == "consent_text" and d.version == 2))
    return disclosure_ids[("consent_text", 2 if granted >= v2_published else 1)]


def _consents(rows, ids, cid, onboarded, today, rng, disclosure_ids, *, ext: str) -> None:
    side = random.Random(f"{ext}:consent-evidence")
    granted_share = {"credit_scoring": 0.95, "bureau_query": 0.85, "transaction_analysis": 0.88, "marketing": 0.45}
    scoring_granted = False
    for purpose in PURPOSES:
        if purpose != "credit_scoring" and purpose != "marketing" and not scoring_granted:
            continue  # the app asks for bureau and transaction consent only with scoring consent
        if rng.random() >= granted_share[purpose]:
            continue
        scoring_granted = scoring_granted or purpose == "credit_scoring"
        granted = onboarded + timedelta(minutes=rng.randint(1, 30))
        channel = rng.choice(("app", "app", "app", "web"))
        # These four draws are the customer's stream as it always was (the rest of the book stays
        # the same); what they cannot say consistently (a web consent from an "ios" device, a
        # phone consent) comes from a second generator derived from the id.
        device = rng.choice(("ios", "android", "web"))
        ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        roll = side.random()
        channel = "call_center" if roll < 0.04 else "branch" if roll < 0.07 else channel
        evidence = synthetic_evidence(channel, side, at=granted, ip=ip, device=device)
        withdrawn = None
        if rng.random() < (0.04 if purpose == "credit_scoring" else 0.02):
            withdrawn = granted + timedelta(days=rng.randint(1, max((today - granted).days - 1, 1)))
        consent_id = ids.take("consent")
        rows.consents.append(
            (consent_id, cid, purpose, _consent_version(granted, today, disclosure_ids), channel, evidence,
             "withdrawn" if withdrawn else "active", granted, None, withdrawn)
        )
        rows.consent_events.append((ids.take("consent_event"), consent_id, "granted", granted, channel, evidence))
        if withdrawn:
            rows.consent_events.append(
                (ids.take("consent_event"), consent_id, "withdrawn", withdrawn, "app",
                 {"reason": "customer request", **synthetic_evidence("app", side, at=withdrawn)})
            )


def _acknowledgements(rows, ids, cid, onboarded, today, rng, disclosure_ids) -> None:
    for d in DISCLOSURES:
        if d.kind == "consent_text":
            continue  # consent text is evidenced by the consent itself
        published = today - timedelta(days=d.published_days_ago)
        shown = max(onboarded, published) + timedelta(hours=rng.randint(0, 72))
        if shown >= today or rng.random() > 0.9:
            continue
        rows.acknowledgements.append(
            (ids.take("acknowledgement"), cid, disclosure_ids[(d.kind, d.version)], "app", shown,
             shown + timedelta(seconds=rng.randint(5, 600)))
        )


def as_of_default() -> datetime:
    now = datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def parse_as_of(value: str) -> datetime:
    day = date.fromisoformat(value)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)

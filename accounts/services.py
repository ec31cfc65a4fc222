"""State changes in `accounts`: the only place that writes customers and their data."""

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from django.db import connection, connections, transaction

from riskops.core.audit import audit_record
from riskops.core.bulk import copy_rows, next_id, reset_sequences
from riskops.core.exceptions import Conflict, NotPermitted, ValidationFailed
from riskops.core.models import AuditAction

from .models import (
    BureauReport,
    Consent,
    ConsentEvent,
    CreditApplication,
    Customer,
    Disclosure,
    DisclosureAcknowledgement,
    RepaymentInstallment,
    Transaction,
)
from .seeding import generator as gen
from .selectors import seed_is_loaded

SEED_TABLES = {
    "customer": (Customer, gen.CUSTOMER_COLUMNS, "customer"),
    "transaction": (Transaction, gen.TRANSACTION_COLUMNS, "transactions"),
    "installment": (RepaymentInstallment, gen.INSTALLMENT_COLUMNS, "installments"),
    "application": (CreditApplication, gen.APPLICATION_COLUMNS, "applications"),
    "bureau": (BureauReport, gen.BUREAU_COLUMNS, "bureau_reports"),
    "consent": (Consent, gen.CONSENT_COLUMNS, "consents"),
    "consent_event": (ConsentEvent, gen.CONSENT_EVENT_COLUMNS, "consent_events"),
    "acknowledgement": (DisclosureAcknowledgement, gen.ACK_COLUMNS, "acknowledgements"),
}
MAX_SEED_CUSTOMERS = 2_000_000


@dataclass
class SeedResult:
    customers: int = 0
    rows: Counter = field(default_factory=Counter)
    traits: Counter = field(default_factory=Counter)


def disclosure_publish(*, kind: str, version: int, title: str, body: str, published_at: datetime, actor=None) -> Disclosure:
    """Publish a disclosure version. Versions are immutable: the same (kind, version) with another
    body is refused rather than overwritten, so an acknowledgement always points at what was shown."""
    content_hash = hashlib.sha256(body.encode()).hexdigest()
    with transaction.atomic():
        existing = Disclosure.objects.select_for_update().filter(kind=kind, version=version).first()
        if existing:
            if existing.content_hash != content_hash:
                raise Conflict(f"{kind} v{version} is already published with different text", field="body")
            return existing
        disclosure = Disclosure.objects.create(
            kind=kind, version=version, title=title, body=body, content_hash=content_hash, published_at=published_at
        )
        audit_record(actor=actor, action="disclosure.publish", target=disclosure, after={"kind": kind, "version": version, "sha256": content_hash})
        return disclosure


def demo_disclosures_ensure(*, as_of: datetime) -> dict[tuple[str, int], int]:
    ids = {}
    for d in gen.DISCLOSURES:
        published = as_of - timedelta(days=d.published_days_ago)
        ids[(d.kind, d.version)] = disclosure_publish(
            kind=d.kind, version=d.version, title=d.title, body=d.body, published_at=published
        ).pk
    return ids


def _seed_chunk(*, seed: int, first: int, last: int, as_of: datetime, id_bases: dict, disclosure_ids: dict) -> SeedResult:
    """Generate and write customers [first, last) in one transaction (runs in a worker process too)."""
    result = SeedResult()
    with transaction.atomic():
        batch = [
            gen.generate_customer(seed=seed, index=i, as_of=as_of, id_bases=id_bases, disclosure_ids=disclosure_ids)
            for i in range(first, last)
        ]
        for key, (model, columns, attr) in SEED_TABLES.items():
            rows = [b.customer for b in batch] if key == "customer" else [row for b in batch for row in getattr(b, attr)]
            result.rows[key] += copy_rows(model, columns, rows)
    for b in batch:
        result.traits.update(k if v is True else f"{k}:{v}" for k, v in b.traits.items() if v)
    result.customers = len(batch)
    return result


def _seed_chunk_in_worker(kwargs: dict) -> SeedResult:
    try:
        return _seed_chunk(**kwargs)
    finally:
        connections.close_all()


def demo_book_seed(
    *,
    customers: int,
    seed: int,
    as_of: datetime,
    chunk_size: int = 2000,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    actor=None,
) -> SeedResult:
    """Generate and insert a synthetic book of `customers` customers.

    Invariants: the same (seed, as_of) always yields the same book, whatever the chunk size or
    number of workers; a seed already present is refused (nothing is written); each chunk commits
    in one transaction, so an interrupted seed leaves whole customers only. One audit event
    records the whole seed. Worker processes are used only on PostgreSQL outside a transaction
    (they could not see uncommitted rows, and SQLite has one writer).
    """
    if customers < 1 or customers > MAX_SEED_CUSTOMERS:
        raise ValidationFailed(f"customers must be between 1 and {MAX_SEED_CUSTOMERS:,}", field="customers")
    if not 0 <= seed <= 999:
        raise ValidationFailed("seed must be between 0 and 999", field="seed")
    if chunk_size < 1:
        raise ValidationFailed("chunk size must be at least 1", field="chunk_size")
    if seed_is_loaded(seed=seed):
        raise Conflict(f"a book with seed {seed} is already loaded; use another --seed or a fresh database", field="seed")

    disclosure_ids = demo_disclosures_ensure(as_of=as_of)
    id_bases = {key: next_id(model) for key, (model, _, _) in SEED_TABLES.items()}
    chunks = [
        dict(seed=seed, first=first, last=min(first + chunk_size, customers), as_of=as_of, id_bases=id_bases, disclosure_ids=disclosure_ids)
        for first in range(0, customers, chunk_size)
    ]
    parallel = workers > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block
    result = SeedResult()

    def collect(part: SeedResult) -> None:
        result.customers += part.customers
        result.rows.update(part.rows)
        result.traits.update(part.traits)
        if progress:
            progress(part.customers)

    if parallel:
        connections.close_all()  # children must not share the parent's socket
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            for part in pool.map(_seed_chunk_in_worker, chunks):
                collect(part)
    else:
        for chunk in chunks:
            collect(_seed_chunk(**chunk))

    with transaction.atomic():
        reset_sequences(*(model for model, _, _ in SEED_TABLES.values()))
        audit_record(
            actor=actor,
            action="seed.demo_book",
            target=("seed", seed),
            after={"customers": result.customers, "rows": dict(result.rows), "as_of": as_of.isoformat()},
        )
    return result


# --- a customer's national id and phone, unmasked on request ---

PII_PERMISSION = "accounts.view_customer_pii"


@dataclass(frozen=True)
class RevealedPii:
    national_id: str
    phone: str


@transaction.atomic
def customer_pii_reveal(*, actor, customer: Customer, via: str) -> RevealedPii:
    """The customer's unmasked national id and phone, for someone whose job needs them.

    Pages show them masked (riskops/core/masking.py); seeing them in full is a deliberate act,
    recorded before the values are returned: who (the actor), when, which customer, and where
    (`via`, e.g. "admin"), as the data-subject report records `pii_unmasked`. Anyone without
    `accounts.view_customer_pii` is refused and nothing is recorded.
    """
    if not actor.has_perm(PII_PERMISSION):
        raise NotPermitted("Your role may not see a customer's national id and phone.", field="customer")
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_PII_REVEAL,
        target=customer,
        after={"external_id": customer.external_id, "fields": ["national_id", "phone"], "via": via},
    )
    return RevealedPii(national_id=customer.national_id, phone=customer.phone)

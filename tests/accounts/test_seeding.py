
import pytest
from django.core.management import CommandError, call_command

from accounts.models import (
    BureauReport,
    Consent,
    ConsentEvent,
    CreditApplication,
    Customer,
    DisclosureAcknowledgement,
    RepaymentInstallment,
    Transaction,
)
from accounts.seeding import generator as gen
from accounts.services import demo_book_seed

AS_OF = gen.parse_as_of("2026-11-01")
DISCLOSURE_IDS = {(d.kind, d.version): n for n, d in enumerate(gen.DISCLOSURES, start=1)}


def _generate(seed: int, indexes: range):
    bases = {table: 1 for table in gen.ID_STRIDES}
    return [gen.generate_customer(seed=seed, index=i, as_of=AS_OF, id_bases=bases, disclosure_ids=DISCLOSURE_IDS) for i in indexes]


def test_generator_is_reproducible_for_a_seed_and_differs_between_seeds():
    first, again, other = _generate(5, range(30)), _generate(5, range(30)), _generate(6, range(30))
    assert [c.transactions for c in first] == [c.transactions for c in again]
    assert [c.consents for c in first] == [c.consents for c in again]
    assert [c.transactions[:3] for c in first] != [c.transactions[:3] for c in other]


def test_a_customer_does_not_depend_on_the_size_of_the_book():
    # Customer 7 of a 10-customer book is customer 7 of a 20-customer book, ids included.
    small, large = _generate(5, range(10))[7], _generate(5, range(20))[7]
    assert small == large


def _fingerprint():
    return list(
        Transaction.objects.order_by("external_id").values_list("external_id", "kind", "amount", "occurred_at")
    )


def test_seeding_is_reproducible_whatever_the_chunk_size(db):
    demo_book_seed(customers=60, seed=4, as_of=AS_OF, chunk_size=60)
    once = _fingerprint()
    # Loading the seed again needs an empty book: delete children before parents (PROTECT).
    for model in (ConsentEvent, Consent, DisclosureAcknowledgement, RepaymentInstallment, Transaction, CreditApplication, BureauReport, Customer):
        model.objects.all().delete()

    demo_book_seed(customers=60, seed=4, as_of=AS_OF, chunk_size=7)

    assert _fingerprint() == once


def test_seed_demo_command_reports_and_validates(db, capsys):
    call_command("seed_demo", customers=12, seed=9, as_of="2026-11-01", no_progress=True)
    assert "Seeded 12 customers" in capsys.readouterr().out
    call_command("seed_demo", customers=12, seed=9, skip_if_seeded=True)
    assert "already loaded" in capsys.readouterr().out
    with pytest.raises(CommandError, match="already loaded"):
        call_command("seed_demo", customers=12, seed=9, no_progress=True)
    with pytest.raises(CommandError, match="between 1"):
        call_command("seed_demo", customers=0, seed=10, no_progress=True)
    with pytest.raises(CommandError, match="--as-of"):
        call_command("seed_demo", customers=1, seed=10, as_of="yesterday")
    assert Customer.objects.count() == 12


@pytest.mark.postgres
def test_seed_demo_analyses_the_tables_it_loaded(db, capsys):
    """The first full recompute of a fresh book ran on tables nobody had analysed (72.8 s instead
    of about 4 at 100k): seed_demo leaves the planner figures matching what it wrote."""
    from django.db import connection

    from accounts.models import Transaction

    call_command("seed_demo", customers=15, seed=11, as_of="2026-11-01", no_progress=True)
    assert "Planner statistics refreshed (ANALYZE)" in capsys.readouterr().out
    with connection.cursor() as cursor:
        for model in (Customer, Transaction):
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
            assert cursor.fetchone()[0] == model.objects.count() > 0, model




@pytest.mark.slow
def test_a_book_past_the_old_sqlite_limit_seeds_and_recomputes(largest_statement, capsys):
    # 800 customers in one 2,000-customer chunk is ~43,000 transactions × 8 columns: one INSERT
    # for the chunk bound ~350,000 values, past even Debian's SQLite limit of 250,000 (issue 11:
    # 600 customers failed with "too many SQL variables").
    from django.db import connection

    from decisions.models import CreditDecision, CreditLine, RecomputeRun, ScoreSnapshot

    call_command("seed_demo", customers=800, seed=3, as_of="2026-11-01", no_progress=True)
    call_command("recompute", all=True, no_progress=True)

    out = capsys.readouterr().out
    assert "Seeded 800 customers" in out
    assert Customer.objects.count() == 800
    transactions = Transaction.objects.count()
    assert transactions > 30_000  # the statement that used to fail really was that large
    assert f"{transactions:,} transaction" in out
    assert Transaction.objects.values("customer").distinct().count() == 800
    assert ConsentEvent.objects.count() >= Consent.objects.count() > 800
    run = RecomputeRun.objects.get()
    assert (run.status, run.done_customers, run.failed_customers) == ("succeeded", 800, 0)
    assert ScoreSnapshot.objects.filter(run=run).count() == 800
    assert CreditLine.objects.exclude(last_snapshot=None).count() == 800
    assert CreditDecision.objects.values("customer").distinct().count() == 800
    if connection.vendor == "sqlite":
        # Every statement stayed within Django's portable SQLite assumption (999 variables), so
        # this also holds on builds compiled with the old default limit.
        assert largest_statement[0] <= connection.features.max_query_params

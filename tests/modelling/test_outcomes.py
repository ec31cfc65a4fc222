"""Materialised credit outcomes on a hand-built book: bad, good, maturity, consent, idempotency.

The book starts on 2024-01-10, so the first observation date is 2024-02-01; outcomes are computed
as of 2025-03-15, which makes 14 observation dates (2024-02-01 … 2025-03-01), of which the first
two have a 12-month horizon that ended by then (matured). Policy v1 is active: it has no
`outcome` section, so the defaults apply (bad = 90+ days past due within 12 months).
"""

from datetime import date, datetime, timedelta, timezone as dt_timezone
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Consent
from modelling.models import Outcome
from modelling.selectors import customer_outcomes
from modelling.services.outcomes import UPSERT_BATCH, UPSERT_FIELDS, outcomes_materialise
from riskops.core.exceptions import ValidationFailed
from riskops.core.models import AuditEvent
from tests.modelling.factories import OutcomeFactory, active_policy_with_outcome, at_noon, book_customer, installment

pytestmark = pytest.mark.django_db

BOOK_START = date(2024, 1, 10)
AS_OF = date(2025, 3, 15)
NOW = datetime(2025, 3, 15, 18, 0, tzinfo=dt_timezone.utc)
FEB, MAR, JUN, DEC = date(2024, 2, 1), date(2024, 3, 1), date(2024, 6, 1), date(2024, 12, 1)


@pytest.fixture
def book():
    """Customers by what happens to them (see each comment)."""
    c = {}
    # 95 days late on an installment due 2024-03-10, paid 2024-06-13: bad.
    c["late95"] = book_customer(onboarded_on=BOOK_START)
    installment(c["late95"], drawn_on=date(2024, 2, 10), due_on=date(2024, 3, 10), paid_on=date(2024, 6, 13))
    # Paid the same installment 10 days late: not bad.
    c["late10"] = book_customer(onboarded_on=BOOK_START)
    installment(c["late10"], drawn_on=date(2024, 2, 10), due_on=date(2024, 3, 10), paid_on=date(2024, 3, 20))
    # An installment due 2024-06-01, still open, of a draw booked on 2025-02-20 (a backdated
    # schedule): after the February horizon's end (2025-02-01), within March's (2025-03-01).
    c["late_draw"] = book_customer(onboarded_on=BOOK_START)
    installment(c["late_draw"], drawn_on=date(2025, 2, 20), due_on=date(2024, 6, 1))
    # Never gave credit_scoring consent: excluded at every observation date.
    c["no_consent"] = book_customer(onboarded_on=BOOK_START, scoring_consent=False)
    # Withdrew consent on 2024-05-20: in until May, excluded from June.
    c["withdrew"] = book_customer(onboarded_on=BOOK_START, withdrawn_on=date(2024, 5, 20))
    # Onboarded mid-June: first observed on 2024-07-01.
    c["joiner"] = book_customer(onboarded_on=date(2024, 6, 15))
    # Open since 2024-12-10: 95 days past due at as_of, bad before the December horizon matures.
    c["open_bad"] = book_customer(onboarded_on=BOOK_START)
    installment(c["open_bad"], drawn_on=date(2024, 11, 10), due_on=date(2024, 12, 10))
    return c


def _row(customer, observation_date) -> Outcome:
    return Outcome.objects.get(customer=customer, observation_date=observation_date)


def _values() -> dict:
    """Every row's values (not computed_at), keyed by (customer, observation date)."""
    fields = ["horizon_end", "as_of", "worst_dpd", "matured", "bad", "bad_days_past_due", "horizon_months", "policy_version_id"]
    return {(r["customer_id"], r["observation_date"]): r for r in Outcome.objects.values("customer_id", "observation_date", *fields)}


def test_a_customer_95_days_late_is_bad_and_one_10_days_late_is_not(book):
    outcomes_materialise(as_of=AS_OF, now=NOW)

    late95, late10 = _row(book["late95"], FEB), _row(book["late10"], FEB)
    assert (late95.worst_dpd, late95.bad, late95.matured) == (95, True, True)
    assert (late10.worst_dpd, late10.bad, late10.matured) == (10, False, True)
    # The definition and where it came from travel with the row.
    assert (late95.bad_days_past_due, late95.horizon_months) == (90, 12)
    assert late95.policy_version.version == 1
    assert late95.horizon_end == date(2025, 2, 1) and late95.as_of == AS_OF and late95.computed_at == NOW


def test_lateness_settled_before_the_observation_date_is_not_an_outcome(book):
    outcomes_materialise(as_of=AS_OF, now=NOW)

    # Still unpaid on 2024-06-01 (83 days late), paid on the 13th: 95 reached in June's window.
    assert _row(book["late95"], JUN).worst_dpd == 95
    # Paid before 2024-07-01: nothing past due after that date.
    assert _row(book["late95"], date(2024, 7, 1)).worst_dpd == 0


def test_an_installment_of_a_draw_made_after_the_horizon_end_is_not_counted(book):
    outcomes_materialise(as_of=AS_OF, now=NOW)

    assert _row(book["late_draw"], FEB).worst_dpd == 0  # the draw (2025-02-20) is after 2025-02-01
    march = _row(book["late_draw"], MAR)  # the draw is within 2025-03-01's horizon
    assert (march.worst_dpd, march.bad) == ((date(2025, 3, 1) - date(2024, 6, 1)).days, True)


def test_maturity_and_a_bad_outcome_before_it(book):
    report = outcomes_materialise(as_of=AS_OF, now=NOW)

    matured = {s.observation_date for s in report.observations if s.matured}
    assert matured == {FEB, MAR}
    assert set(Outcome.objects.filter(matured=True).values_list("observation_date", flat=True)) == {FEB, MAR}
    # December's horizon is open: observed up to as_of only, and already bad.
    december = _row(book["open_bad"], DEC)
    assert (december.matured, december.horizon_end, december.worst_dpd, december.bad) == (False, date(2025, 12, 1), 95, True)
    # Two months earlier in the same window the installment was not yet due: good, for now.
    assert _row(book["open_bad"], FEB).worst_dpd == (date(2025, 2, 1) - date(2024, 12, 10)).days


def test_customers_without_scoring_consent_at_the_date_are_excluded_and_counted(book):
    report = outcomes_materialise(as_of=AS_OF, now=NOW)

    assert not Outcome.objects.filter(customer=book["no_consent"]).exists()
    withdrew = set(Outcome.objects.filter(customer=book["withdrew"]).values_list("observation_date", flat=True))
    assert withdrew == {FEB, MAR, date(2024, 4, 1), date(2024, 5, 1)}
    assert min(Outcome.objects.filter(customer=book["joiner"]).values_list("observation_date", flat=True)) == date(2024, 7, 1)
    by_date = {s.observation_date: s for s in report.observations}
    assert len(by_date) == 14 and min(by_date) == FEB and max(by_date) == date(2025, 3, 1)
    assert by_date[FEB].excluded_no_consent == 1  # no_consent
    assert by_date[JUN].excluded_no_consent == 2  # and withdrew
    assert report.excluded_no_consent == 14 + 10


def test_the_report_per_observation_date(book):
    report = outcomes_materialise(as_of=AS_OF, now=NOW)

    by_date = {s.observation_date: s for s in report.observations}
    feb, mar, jun = by_date[FEB], by_date[MAR], by_date[JUN]
    assert (feb.customers, feb.matured, feb.bad, feb.bad_rate) == (5, 5, 1, Decimal("0.2000"))
    assert (mar.customers, mar.matured, mar.bad, mar.bad_rate) == (5, 5, 2, Decimal("0.4000"))
    # Open: bad so far (late95, late_draw, open_bad), no rate until the horizon ends.
    assert (jun.customers, jun.matured, jun.bad, jun.bad_rate) == (4, 0, 3, None)
    assert report.rows == Outcome.objects.count()
    assert report.written == report.rows and report.unchanged == 0 and report.deleted == 0


def test_one_audit_event_with_the_counts(book):
    before = AuditEvent.objects.count()

    report = outcomes_materialise(as_of=AS_OF, now=NOW)

    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.order_by("-id").first()
    assert (event.action, event.actor_label, event.target_type, event.target_id) == ("outcomes.materialise", "system", "outcomes", "2025-03-15")
    assert event.after["rows"] == report.rows
    assert event.after["excluded_no_consent"] == 24
    assert event.after["written"] == report.rows
    assert event.after["observation_dates"] == 14


def test_a_second_run_changes_nothing(book):
    outcomes_materialise(as_of=AS_OF, now=NOW)
    first = _values()
    stamps = dict(Outcome.objects.values_list("pk", "computed_at"))

    report = outcomes_materialise(as_of=AS_OF, now=NOW + timedelta(hours=1))

    assert _values() == first
    assert dict(Outcome.objects.values_list("pk", "computed_at")) == stamps  # not even rewritten
    assert (report.written, report.deleted, report.unchanged) == (0, 0, len(first))


def test_a_later_run_rewrites_open_rows_and_leaves_unchanged_matured_ones(book):
    outcomes_materialise(as_of=AS_OF, now=NOW)
    later = NOW + timedelta(days=3)

    report = outcomes_materialise(as_of=AS_OF + timedelta(days=3), now=later)

    february = _row(book["late10"], FEB)
    assert (february.as_of, february.computed_at) == (AS_OF, NOW)  # final: left as it was
    june = _row(book["late10"], JUN)
    assert (june.as_of, june.computed_at) == (AS_OF + timedelta(days=3), later)
    assert _row(book["open_bad"], DEC).worst_dpd == 98
    assert report.unchanged == Outcome.objects.filter(matured=True).count()


def test_rows_of_a_customer_who_withdrew_consent_since_are_deleted(book):
    outcomes_materialise(as_of=AS_OF, now=NOW)
    Consent.objects.filter(customer=book["late10"]).update(state=Consent.State.WITHDRAWN, withdrawn_at=at_noon(date(2024, 4, 20)))

    report = outcomes_materialise(as_of=AS_OF, now=NOW)

    dates = set(Outcome.objects.filter(customer=book["late10"]).values_list("observation_date", flat=True))
    assert dates == {FEB, MAR, date(2024, 4, 1)}
    assert report.deleted == 14 - 3


def test_rows_dated_after_as_of_are_deleted_by_an_earlier_as_of(book):
    outcomes_materialise(as_of=AS_OF, now=NOW)

    outcomes_materialise(as_of=date(2024, 12, 31), now=NOW)

    assert max(Outcome.objects.values_list("observation_date", flat=True)) == DEC
    assert not Outcome.objects.filter(as_of__gt=date(2024, 12, 31)).exists()


def test_the_active_policy_defines_bad(book):
    active_policy_with_outcome({"bad_days_past_due": 10, "horizon_months": 3})

    outcomes_materialise(as_of=AS_OF, now=NOW)

    late10 = _row(book["late10"], FEB)
    assert (late10.bad, late10.matured, late10.horizon_end) == (True, True, date(2024, 5, 1))
    assert (late10.bad_days_past_due, late10.horizon_months) == (10, 3)
    assert late10.policy_version.version != 1


@pytest.mark.parametrize(
    "as_of, message",
    [(date(2025, 3, 16), "is in the future"), (date(2024, 1, 9), "before the book starts")],
)
def test_a_bad_as_of_is_refused_and_nothing_is_written(book, as_of, message):
    OutcomeFactory(customer=book["late10"])
    rows, events = list(Outcome.objects.values()), AuditEvent.objects.count()

    with pytest.raises(ValidationFailed) as refused:
        outcomes_materialise(as_of=as_of, now=NOW)

    assert refused.value.field == "as_of"
    assert message in refused.value.message
    assert list(Outcome.objects.values()) == rows
    assert AuditEvent.objects.count() == events


def test_as_of_on_the_first_onboarding_day_is_accepted(book):
    report = outcomes_materialise(as_of=BOOK_START, now=NOW)

    assert report.observations == [] and Outcome.objects.count() == 0


def test_an_empty_book_has_no_observation_dates():
    report = outcomes_materialise(as_of=AS_OF, now=NOW)

    assert report.observations == [] and report.customers_read == 0


def _statements(as_of: date, chunk_size: int) -> dict[str, int]:
    """Statements a run sends, by kind: SELECT, INSERT (the upserts), DELETE, other."""
    Outcome.objects.all().delete()  # every row is written again
    with CaptureQueriesContext(connection) as captured:
        outcomes_materialise(as_of=as_of, now=NOW, chunk_size=chunk_size)
    kinds = {"SELECT": 0, "INSERT": 0, "DELETE": 0, "other": 0}
    for query in captured.captured_queries:
        verb = query["sql"].lstrip().split(" ", 1)[0].upper()
        kinds[verb if verb in kinds else "other"] += 1
    return kinds


def _more_customers_like(book) -> None:
    for _ in range(3):
        late = book_customer(onboarded_on=BOOK_START)
        installment(late, drawn_on=date(2024, 2, 10), due_on=date(2024, 3, 10), paid_on=date(2024, 6, 13))
        book_customer(onboarded_on=BOOK_START, scoring_consent=False)
        book_customer(onboarded_on=date(2024, 6, 15))


def test_a_chunk_costs_a_fixed_number_of_queries_whatever_its_customers(book):
    small = _statements(AS_OF, chunk_size=2000)
    _more_customers_like(book)
    large = _statements(AS_OF, chunk_size=2000)
    rows = Outcome.objects.count()

    # The same reads for 7 customers as for 16: customers, installments, consents, stored rows
    # (and, once a run: the book's start, the active policy, the audit chain's tail and lock)
    assert large["SELECT"] == small["SELECT"] <= 10
    # One upsert per batch of rows (the backend's variable limit on SQLite), never per customer
    batch = min(UPSERT_BATCH, connection.ops.bulk_batch_size(UPSERT_FIELDS + ["customer", "observation_date"], [None] * rows) or rows)
    assert large["INSERT"] - 1 == -(-rows // batch)  # + the audit event's insert
    assert large["DELETE"] == small["DELETE"] == 0


def test_each_chunk_reads_the_same_tables_once(book):
    one_chunk = _statements(AS_OF, chunk_size=2000)
    seven_chunks = _statements(AS_OF, chunk_size=1)

    # 4 reads a chunk: customers, installments (with the draw's date), consents, stored rows;
    # plus the empty page that ends the walk.
    assert seven_chunks["SELECT"] - one_chunk["SELECT"] == 4 * (len(book) - 1)


def test_progress_is_reported_per_chunk(book):
    seen = []

    outcomes_materialise(as_of=AS_OF, now=NOW, progress=seen.append, chunk_size=3)

    assert seen == [3, 3, 1]


def test_the_selector_lists_a_customers_outcomes_newest_first(book):
    outcomes_materialise(as_of=AS_OF, now=NOW)

    rows = list(customer_outcomes(book["withdrew"].pk))

    assert [r.observation_date for r in rows] == [date(2024, 5, 1), date(2024, 4, 1), MAR, FEB]
    assert rows[0].policy_version.version == 1
    assert customer_outcomes(book["no_consent"].pk).count() == 0

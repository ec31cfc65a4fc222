from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Count, F, Q, Sum

from accounts.models import (
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
from accounts.seeding import generator as gen
from accounts.services import demo_book_seed
from riskops.core.audit import verify_chain
from riskops.core.exceptions import Conflict
from riskops.core.models import AuditEvent

AS_OF = gen.parse_as_of("2026-11-01")
DISCLOSURE_IDS = {(d.kind, d.version): n for n, d in enumerate(gen.DISCLOSURES, start=1)}


pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def book(django_db_setup, django_db_blocker):
    """One 400-customer book for the whole module, rolled back when the module ends."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield demo_book_seed(customers=400, seed=3, as_of=AS_OF, chunk_size=150)
        transaction.set_rollback(True)


def test_seeded_book_has_the_expected_counts(book):
    # Pinned: a change to the generator that changes the book must be deliberate.
    assert book.customers == Customer.objects.count() == 400
    counts = {
        "transaction": Transaction.objects.count(),
        "installment": RepaymentInstallment.objects.count(),
        "application": CreditApplication.objects.count(),
        "bureau": BureauReport.objects.count(),
        "consent": Consent.objects.count(),
        "consent_event": ConsentEvent.objects.count(),
        "acknowledgement": DisclosureAcknowledgement.objects.count(),
    }
    assert counts == {k: v for k, v in book.rows.items() if k != "customer"}
    assert counts == {
        "transaction": 21926, "installment": 2025, "application": 529, "bureau": 482,
        "consent": 1240, "consent_event": 1276, "acknowledgement": 1796,
    }
    per_customer = counts["transaction"] / 400
    assert 40 <= per_customer <= 70, per_customer  # ~5M transactions for 100k customers
    assert Disclosure.objects.count() == len(gen.DISCLOSURES) == 7


def test_seeded_book_covers_every_repayment_case(book):
    today = AS_OF.date()
    paid = RepaymentInstallment.objects.filter(paid_at__isnull=False)
    on_time = paid.filter(paid_at__date__lte=F("due_on")).count()
    late = paid.filter(paid_at__date__gt=F("due_on")).count()
    unpaid_due = RepaymentInstallment.objects.filter(paid_at__isnull=True, due_on__lt=today)
    customers_30 = unpaid_due.filter(due_on__lte=today - timedelta(days=30), due_on__gt=today - timedelta(days=90)).values("customer").distinct().count()
    customers_90 = unpaid_due.filter(due_on__lte=today - timedelta(days=90)).values("customer").distinct().count()
    drawers = Transaction.objects.filter(kind="credit_draw").values("customer").distinct().count()

    assert on_time > 5 * late > 0, (on_time, late)  # most on time, some late
    assert 0 < customers_90 < customers_30 < 0.15 * 400, (customers_30, customers_90)  # a few overdue
    assert 0.45 * 400 < drawers < 0.75 * 400
    # Every paid installment has its repayment transaction.
    assert Transaction.objects.filter(kind="repayment").count() == paid.count()


def test_seeded_book_covers_consents_bureau_applications_and_spending(book):
    scoring = Consent.objects.filter(purpose="credit_scoring")
    never = Customer.objects.exclude(consents__purpose="credit_scoring").count()
    withdrawn = scoring.filter(state="withdrawn").count()
    assert scoring.filter(state="active").count() > 0.85 * 400  # most granted
    assert 0 < never < 0.1 * 400  # some never
    assert 0 < withdrawn < 0.1 * 400  # some withdrawn
    assert ConsentEvent.objects.filter(kind="withdrawn").count() == Consent.objects.filter(state="withdrawn").count()
    assert ConsentEvent.objects.filter(kind="granted").count() == Consent.objects.count()
    assert not Customer.objects.filter(consents__purpose="bureau_query").exclude(consents__purpose="credit_scoring").exists()

    assert BureauReport.objects.filter(external_lenders__gte=5).values("customer").distinct().count() > 0
    with_bureau = BureauReport.objects.values("customer").distinct().count()
    assert 0.85 * 400 < with_bureau < 400

    week_ago = AS_OF - timedelta(days=7)
    bursts = (
        CreditApplication.objects.filter(applied_at__gte=week_ago).values("customer").annotate(n=Count("id")).filter(n__gte=5).count()
    )
    assert bursts > 0

    spikes = (
        Customer.objects.annotate(
            week=Sum("transactions__amount", filter=Q(transactions__kind="purchase", transactions__occurred_at__gte=week_ago)),
            quarter=Sum("transactions__amount", filter=Q(transactions__kind="purchase", transactions__occurred_at__gte=AS_OF - timedelta(days=90))),
        )
        .filter(week__gt=F("quarter") * 7 / 90 * 3)
        .count()
    )
    assert spikes > 0

    assert DisclosureAcknowledgement.objects.values("customer").distinct().count() > 0.8 * 400


def test_history_spans_three_to_twelve_months(book):
    for customer in Customer.objects.all()[:50]:
        months = (AS_OF - customer.onboarded_at).days / 30
        assert 3 <= months <= 13, (customer, months)


def test_pii_is_masked_on_display(book):
    customer = Customer.objects.first()
    assert customer.phone_masked.endswith(customer.phone[-3:])
    assert customer.national_id not in customer.national_id_masked


def test_seed_is_audited_and_the_chain_verifies(book):
    event = AuditEvent.objects.get(action="seed.demo_book")
    assert event.after["customers"] == 400
    assert verify_chain()[1] is None


def test_loading_the_same_seed_twice_is_refused_and_writes_nothing(book):
    before = Transaction.objects.count()
    with pytest.raises(Conflict):
        demo_book_seed(customers=5, seed=3, as_of=AS_OF)
    assert Transaction.objects.count() == before



def test_no_seeded_event_is_dated_after_as_of(book):
    # An event after as_of would reach the engine later as if it had just arrived, and a rerun
    # with no new data would move decisions (a burst of applications "today" once did).
    from django.db.models import Max

    latest = [
        Transaction.objects.aggregate(m=Max("occurred_at"))["m"],
        CreditApplication.objects.aggregate(m=Max("applied_at"))["m"],
        BureauReport.objects.aggregate(m=Max("reported_at"))["m"],
        Consent.objects.aggregate(m=Max("granted_at"))["m"],
        ConsentEvent.objects.aggregate(m=Max("occurred_at"))["m"],
        RepaymentInstallment.objects.aggregate(m=Max("paid_at"))["m"],
        DisclosureAcknowledgement.objects.aggregate(m=Max("acknowledged_at"))["m"],
    ]
    assert all(when < AS_OF for when in latest if when is not None), latest


def test_every_seeded_consents_evidence_fits_its_channel(book):
    """An app consent carries the phone and IP, a web one the browser and IP, a call-centre one
    the recording, a branch one the signed form: never a web consent from an "ios" device."""
    from accounts.consent_evidence import REQUIRED_KEYS, evidence_problems

    consents = list(Consent.objects.values_list("pk", "channel", "evidence"))
    events = list(ConsentEvent.objects.values_list("pk", "kind", "channel", "evidence"))
    wrong = [(pk, channel, problems) for pk, channel, evidence in consents if (problems := evidence_problems(channel, evidence))]
    wrong += [(pk, channel, problems) for pk, _kind, channel, evidence in events if (problems := evidence_problems(channel, evidence))]
    assert wrong == []
    channels = Consent.objects.values("channel").annotate(n=Count("pk"))
    shares = {c["channel"]: c["n"] / len(consents) for c in channels}
    assert set(shares) == set(REQUIRED_KEYS)  # every channel in the book, app the most
    assert max(shares, key=shares.get) == "app" and shares["call_center"] < 0.1 and shares["branch"] < 0.1
    # A grant's event records the same channel and the same evidence as the consent it created.
    granted = {e.consent_id: (e.channel, e.evidence) for e in ConsentEvent.objects.filter(kind="granted")}
    assert all(granted[pk] == (channel, evidence) for pk, channel, evidence in consents)
    assert all(e.evidence["reason"] and e.channel == "app" for e in ConsentEvent.objects.filter(kind="withdrawn"))

"""Draw checks: the rules (access, available limit, velocity, new device/channel), validation and
the append-only record."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import given, settings as hsettings, strategies as st

from decisions.engine.policy import DrawRules, default_policy_body
from decisions.governance.services.policy import policy_activate, policy_create
from draws.models import DrawCheck
from draws.services import Velocity, draw_check, draw_decide
from riskops.core.exceptions import NotFound, ValidationFailed
from tests.factories import CreditLineFactory, CustomerFactory, RepaymentInstallmentFactory

from .factories import DrawCheckFactory

pytestmark = pytest.mark.django_db
RULES = DrawRules()


def body(customer, amount="100.00", **extra):
    return {"customer": customer.external_id, "amount": amount, "currency": "CNY", "channel": "app", **extra}


def codes(check):
    return [r["code"] for r in check.reasons]


# --- rules -------------------------------------------------------------------------------------

def test_open_line_within_limit_is_allowed_and_recorded():
    line = CreditLineFactory(limit_amount=Decimal("500.00"))
    check = draw_check(data=body(line.customer, "120.50", merchant_category="5411", device_id="dev-1"))
    assert (check.decision, check.reasons, check.available) == ("allow", [], Decimal("500.00"))
    stored = DrawCheck.objects.get(pk=check.pk)
    assert (stored.amount, stored.channel, stored.merchant_category, stored.device_id) == (Decimal("120.50"), "app", "5411", "dev-1")
    assert stored.latency_ms >= 0 and stored.checked_at is not None


def test_available_is_limit_minus_unpaid_installments():
    line = CreditLineFactory(limit_amount=Decimal("500.00"))
    RepaymentInstallmentFactory(draw__customer=line.customer, amount_due=Decimal("150.00"))
    RepaymentInstallmentFactory(draw__customer=line.customer, amount_due=Decimal("100.00"), partially_paid=True)  # 50 left
    RepaymentInstallmentFactory(draw__customer=line.customer, amount_due=Decimal("100.00"), paid=True)  # repaid: not drawn
    allowed = draw_check(data=body(line.customer, "300.00"))
    assert (allowed.decision, allowed.available) == ("allow", Decimal("300.00"))
    denied = draw_check(data=body(line.customer, "300.01"))
    assert denied.decision == "deny" and codes(denied) == ["OVER_AVAILABLE"]


@pytest.mark.parametrize(
    "trait, code", [("closed", "ACCESS_CLOSED"), ("suspended", "ACCESS_SUSPENDED"), ("not_offered", "ACCESS_NOT_OFFERED")]
)
def test_closed_suspended_not_offered_deny(trait, code):
    line = CreditLineFactory(**{trait: True})
    check = draw_check(data=body(line.customer, "1.00"))
    assert check.decision == "deny" and codes(check) == [code] and check.available == 0


def test_customer_without_a_line_is_denied_as_not_offered():
    customer = CustomerFactory()
    check = draw_check(data=body(customer, "1.00"))
    assert check.decision == "deny" and codes(check) == ["ACCESS_NOT_OFFERED"]


def _activate(draws: dict, admin) -> None:
    doc = default_policy_body() | {"draws": draws}
    version = policy_create(name="draws", body=doc, actor=admin)
    policy_activate(version=version, actor=admin)


def test_limited_line_reviews_by_default_and_allows_when_the_policy_says(risk_admin):
    line = CreditLineFactory(access="limited", limit_amount=Decimal("200.00"))
    check = draw_check(data=body(line.customer, "50.00"))
    assert check.decision == "review" and codes(check) == ["ACCESS_LIMITED"]
    assert draw_check(data=body(line.customer, "250.00")).decision == "deny"  # over the limit: deny wins
    _activate({"limited": "allow"}, risk_admin)
    assert draw_check(data=body(line.customer, "50.00")).decision == "allow"


@pytest.mark.parametrize(
    "prior, amount, code",
    [
        # five allowed in the last hour: a sixth exceeds hour.max_count (5)
        ([("100.00", 10)] * 5, "1.00", "VELOCITY_HOUR_COUNT"),
        # 19,950 drawn in the hour: 100 more exceeds hour.max_amount (20,000)
        ([("19950.00", 10)], "100.00", "VELOCITY_HOUR_AMOUNT"),
        # 20 allowed today, none in the last hour: the day's count (20)
        ([("10.00", 120)] * 20, "1.00", "VELOCITY_DAY_COUNT"),
        # 49,990 drawn today, none in the last hour: the day's amount (50,000)
        ([("19995.00", 120), ("19995.00", 180), ("10000.00", 240)], "20.00", "VELOCITY_DAY_AMOUNT"),
    ],
)
def test_velocity_per_hour_and_day_by_count_and_amount(prior, amount, code):
    line = CreditLineFactory(limit_amount=Decimal("900000.00"))
    now = timezone.now()
    for value, minutes_ago in prior:
        DrawCheckFactory(customer=line.customer, amount=Decimal(value), checked_at=now - timedelta(minutes=minutes_ago))
    check = draw_check(data=body(line.customer, amount), now=now)
    assert check.decision == "deny" and codes(check) == [code]


def test_velocity_counts_only_allowed_checks_inside_the_window():
    line = CreditLineFactory(limit_amount=Decimal("900000.00"))
    now = timezone.now()
    for _ in range(5):
        DrawCheckFactory(customer=line.customer, decision="deny", checked_at=now - timedelta(minutes=5))
        DrawCheckFactory(customer=line.customer, checked_at=now - timedelta(days=1, minutes=1))  # outside the day
    DrawCheckFactory(checked_at=now)  # another customer
    for _ in range(4):
        DrawCheckFactory(customer=line.customer, checked_at=now - timedelta(minutes=59))
    assert draw_check(data=body(line.customer, "1.00"), now=now).decision == "allow"  # the fifth in the hour
    assert codes(draw_check(data=body(line.customer, "1.00"), now=now)) == ["VELOCITY_HOUR_COUNT"]  # the sixth


def test_new_device_and_new_channel_ask_for_review():
    line = CreditLineFactory(limit_amount=Decimal("5000.00"))
    now = timezone.now()
    DrawCheckFactory(customer=line.customer, channel="app", device_id="dev-1", checked_at=now - timedelta(days=3))
    DrawCheckFactory(customer=line.customer, channel="web", device_id="dev-old", checked_at=now - timedelta(days=200))
    assert draw_check(data=body(line.customer, device_id="dev-1"), now=now).decision == "allow"
    new_device = draw_check(data=body(line.customer, device_id="dev-2"), now=now)
    assert new_device.decision == "review" and codes(new_device) == ["NEW_DEVICE"]
    # seen, but more than new_device_days (90) ago; and a channel seen only then
    stale = draw_check(data=body(line.customer, device_id="dev-old") | {"channel": "web"}, now=now)
    assert stale.decision == "review" and codes(stale) == ["NEW_DEVICE", "NEW_CHANNEL"]


def test_no_baseline_no_novelty():
    line = CreditLineFactory()
    DrawCheckFactory(customer=line.customer, decision="review", channel="web", device_id="x")  # not allowed: no baseline
    assert draw_check(data=body(line.customer, device_id="dev-9")).decision == "allow"


def test_policy_velocity_limits_apply(risk_admin):
    _activate({"velocity": {"hour": {"max_count": 1, "max_amount": "1000"}, "day": {"max_count": 2, "max_amount": "1000"}}}, risk_admin)
    line = CreditLineFactory()
    assert draw_check(data=body(line.customer, "10.00")).decision == "allow"
    assert codes(draw_check(data=body(line.customer, "10.00"))) == ["VELOCITY_HOUR_COUNT"]


@given(
    hour_count=st.integers(0, 30), day_extra=st.integers(0, 30),
    amount=st.decimals(min_value="0.01", max_value="100000", places=2),
    available=st.decimals(min_value="-1000", max_value="100000", places=2),
    access=st.sampled_from(["open", "limited", "suspended", "closed", "not_offered"]),
)
@hsettings(max_examples=200, deadline=None)
def test_an_allowed_draw_never_breaks_a_rule(hour_count, day_extra, amount, available, access):
    velocity = Velocity(hour_count=hour_count, hour_amount=Decimal(hour_count) * 100, day_count=hour_count + day_extra,
                        day_amount=Decimal(hour_count + day_extra) * 100)
    out = draw_decide(access=access, available=available, amount=amount, velocity=velocity, rules=RULES)
    if out.decision == "allow":
        assert access == "open" and amount <= available
        assert velocity.hour_count < RULES.hour_max_count and velocity.day_count < RULES.day_max_count
        assert velocity.hour_amount + amount <= RULES.hour_max_amount and velocity.day_amount + amount <= RULES.day_max_amount
    assert out.available >= 0
    assert (out.decision == "allow") == (out.reasons == [])


# --- errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "change, field",
    [
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "Infinity"}, "amount"),
        ({"amount": Decimal("NaN")}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": 1.5}, "amount"),  # a float is never taken (the API parses JSON numbers as Decimal)
        ({"amount": None}, "amount"),
        ({"currency": "USD"}, "currency"),
        ({"currency": 5}, "currency"),
        ({"currency": "cny"}, "currency"),  # exactly the book's currency, as ingestion requires
        ({"currency": " CNY"}, "currency"),
        ({"amout": "1.00"}, "amout"),  # a misspelt field is refused, not ignored
        ({"device": "dev-1", "client_ref": "x"}, "client_ref"),  # the first unknown in name order
        ({"channel": ""}, "channel"),
        ({"channel": "x" * 21}, "channel"),
        ({"customer": ""}, "customer"),
        ({"customer": 12}, "customer"),
        ({"device_id": "d" * 65}, "device_id"),
        ({"merchant_category": 5411}, "merchant_category"),
    ],
)
def test_bad_fields_are_named_and_nothing_is_written(change, field):
    line = CreditLineFactory()
    with pytest.raises(ValidationFailed) as err:
        draw_check(data=body(line.customer) | change)
    assert err.value.field == field
    assert not DrawCheck.objects.exists()


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({}, "body", "the body is empty; send a JSON object"),
        ([], "body", "the body must be a JSON object"),
        ({"amount": "1.00", "currency": "CNY", "channel": "app"}, "customer", "is required"),  # not empty: the field is named
        ({"customer": "C1", "amount": "1.00", "currency": "CNY", "channel": "app", "extra": 1}, "extra", "is not a field of this request"),
    ],
)
def test_empty_body_and_unknown_fields_are_named(data, field, message):
    CreditLineFactory(customer__external_id="C1")
    with pytest.raises(ValidationFailed) as err:
        draw_check(data=data)
    assert (err.value.field, err.value.message) == (field, message)
    assert not DrawCheck.objects.exists()


def test_unknown_customer_is_not_found_and_nothing_is_written():
    with pytest.raises(NotFound) as err:
        draw_check(data={"customer": "nobody", "amount": "1", "currency": "CNY", "channel": "app"})
    assert err.value.field == "customer" and not DrawCheck.objects.exists()


# --- the record --------------------------------------------------------------------------------

def test_a_check_is_one_read_and_one_insert(django_assert_max_num_queries):
    line = CreditLineFactory()
    # one read (customer ⟕ line, drawn balance, posted draws, active policy row, velocity and holds) and the insert
    with django_assert_max_num_queries(2):
        draw_check(data=body(line.customer))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the append-only trigger exists on PostgreSQL only")
def test_postgres_refuses_update_and_delete_of_a_check():
    check = DrawCheckFactory()
    for statement in ("UPDATE draws_drawcheck SET decision = 'allow' WHERE id = %s", "DELETE FROM draws_drawcheck WHERE id = %s"):
        with pytest.raises(Exception, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, [check.pk])
    assert DrawCheck.objects.filter(pk=check.pk).exists()


def test_no_code_path_updates_or_deletes_a_check():
    """The record is append-only in code: draws/ never calls save() on an existing check,
    update() or delete() on the model."""
    from pathlib import Path

    import draws

    root = Path(draws.__file__).parent
    sources = "\n".join(p.read_text() for p in root.rglob("*.py") if "migrations" not in p.parts)
    assert ".update(" not in sources and ".delete(" not in sources and "bulk_update" not in sources


# --- durability of the record ------------------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sync_commit", [False, True])
def test_the_record_commits_without_waiting_for_the_flush_unless_settings_say_so(settings, sync_commit):
    from django.test.utils import CaptureQueriesContext

    settings.RISKOPS_DRAW_CHECK_ASYNC_COMMIT = not sync_commit
    line = CreditLineFactory(limit_amount=Decimal("500.00"))
    with CaptureQueriesContext(connection) as queries:
        check = draw_check(data=body(line.customer))
    inserts = [q["sql"] for q in queries.captured_queries if "INSERT INTO" in q["sql"]]
    assert len(inserts) == 1
    assert ("set_config('synchronous_commit', 'off', true)" in inserts[0]) is not sync_commit
    assert DrawCheck.objects.filter(pk=check.pk).exists()  # committed either way

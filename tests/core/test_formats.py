"""One formatter for money, counts and times (riskops/core/formats.py) and its template filters,
the same in English and Chinese."""

from datetime import date, datetime, timedelta, timezone as dt_timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import formats as django_formats, timezone, translation
from hypothesis import given, strategies as st

from riskops.core import formats

LANGUAGES = ("en", "zh-hans")


@pytest.mark.parametrize(
    "amount, text",
    [
        (Decimal("1234567.5"), "¥1,234,567.50"),
        (Decimal("0"), "¥0.00"),
        (Decimal("999.99"), "¥999.99"),
        (Decimal("-1200"), "-¥1,200.00"),
        (3, "¥3.00"),
        ("4500.00", "¥4,500.00"),  # a JSON report's decimal string
        (12.1, "¥12.10"),  # a chart's float, read as written
        (None, "¥0.00"),
    ],
)
def test_money_is_the_currency_with_comma_thousands_and_two_decimals(amount, text):
    assert formats.money(amount) == text


def test_money_signed_and_blank():
    assert formats.money(Decimal("1200"), signed=True) == "+¥1,200.00"
    assert formats.money(Decimal("-1200"), signed=True) == "-¥1,200.00"
    assert formats.money(Decimal("0"), signed=True) == "¥0.00"
    assert formats.money(None, blank="—") == "—"
    assert formats.money(Decimal("0"), blank="—") == "¥0.00"  # zero is an amount, not a blank


def test_money_uses_the_configured_currency_symbol(settings):
    settings.RISKOPS_CURRENCY_SYMBOL = "$"
    assert formats.money(Decimal("1000")) == "$1,000.00"


@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False, allow_infinity=False))
def test_money_reads_back_as_the_amount(amount):
    text = formats.money(amount)
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("-").removeprefix("¥")
    whole, _, cents = digits.partition(".")
    assert len(cents) == 2
    groups = whole.split(",")
    assert all(len(g) == 3 for g in groups[1:]) and 1 <= len(groups[0]) <= 3
    assert sign * Decimal(digits.replace(",", "")) == amount


def test_count_groups_by_three_in_every_language():
    for language in LANGUAGES:
        with translation.override(language):
            assert formats.count(1234567) == "1,234,567"
            assert formats.count(Decimal("12")) == "12"
    assert formats.count(None) == "—"


def test_when_is_minutes_in_the_active_zone():
    at = datetime(2024, 12, 3, 23, 5, 59, 123456, tzinfo=dt_timezone.utc)
    assert formats.when(at) == "2024-12-03 23:05"
    with timezone.override(ZoneInfo("Asia/Shanghai")):
        assert formats.when(at) == "2024-12-04 07:05"
        assert formats.zone_name() == "Asia/Shanghai"
        assert formats.utc_when(at) == "2024-12-03 23:05"  # exports stay in UTC
    assert formats.when(date(2024, 1, 2)) == "2024-01-02"
    assert formats.when(None) == "—"
    assert formats.zone_name() == "UTC"


@pytest.mark.parametrize("language", LANGUAGES)
def test_django_renders_dates_times_and_numbers_the_same_way_in_both_languages(language):
    """FORMAT_MODULE_PATH: the admin and a bare {{ value }} agree with the pages."""
    at = datetime(2024, 12, 3, 9, 5, 7, tzinfo=dt_timezone.utc)
    with translation.override(language):
        assert django_formats.localize(at) == "2024-12-03 09:05"
        assert django_formats.localize(date(2024, 12, 3)) == "2024-12-03"
        assert django_formats.number_format(Decimal("1234567.5"), 2, force_grouping=True) == "1,234,567.50"
        rendered = Template('{{ at }}|{{ day }}|{{ n|floatformat:"0g" }}|{{ at|date }}').render(
            Context({"at": at, "day": date(2024, 12, 3), "n": 1234567})
        )
    assert rendered == "2024-12-03 09:05|2024-12-03|1,234,567|2024-12-03"


@pytest.mark.parametrize("language", LANGUAGES)
def test_template_filters(language):
    at = datetime(2024, 5, 1, 14, 5, 30, tzinfo=dt_timezone.utc)
    template = Template(
        "{% load riskops_formats %}{{ a|money }}|{{ d|money:'signed' }}|{{ none|money:'blank' }}|{{ n|count }}|{{ at|when }}|"
        "{% time_element at %}|{% time_element at 'muted' %}|{% time_element at date_only=True %}|{% time_element none %}"
    )
    with translation.override(language):
        out = template.render(Context({"a": Decimal("12345.6"), "d": Decimal("100"), "none": None, "n": 98765, "at": at}))
    iso = at.isoformat()
    assert out.split("|") == [
        "¥12,345.60", "+¥100.00", "—", "98,765", "2024-05-01 14:05",
        f'<time datetime="{iso}">2024-05-01 14:05</time>',
        f'<time class="muted" datetime="{iso}">2024-05-01 14:05</time>',
        f'<time datetime="{iso}">2024-05-01</time>',
        '<span class="muted">—</span>',
    ]


def test_ids_in_attributes_are_never_grouped():
    """USE_THOUSAND_SEPARATOR stays off: an id printed into a form value must stay 123456."""
    assert Template("{{ pk }}").render(Context({"pk": 123456})) == "123456"


def test_a_naive_time_is_written_as_given():
    assert formats.when(datetime(2024, 1, 2, 3, 4) + timedelta(seconds=59)) == "2024-01-02 03:04"

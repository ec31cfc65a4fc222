"""Money and dates one way on the main pages, in English and Chinese.

A small seeded book, decided once (decisions, lines, alerts, notices, an override, an audit trail), is
rendered page by page: the overview, the queue, profiles, the compliance pages and the admin's lists
and detail pages. On each, the text a reader sees (and the title attributes of tooltips) holds no
time in another format than `YYYY-MM-DD HH:MM` (no "a.m.", "Dec.", ISO with a `T`, seconds or
microseconds, no `2024年12月3日`, no zone after a value), the page names the zone once, and every
amount carries the currency with comma thousands (no bare `12345.00`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from accounts.seeding.generator import as_of_default
from accounts.services import demo_book_seed
from decisions.engine.services.runs import recompute_run_process_inline, recompute_run_start
from decisions.models import CreditLine, RiskAlert
from tests.factories import OverrideFactory

pytestmark = pytest.mark.django_db

# Times in another format than YYYY-MM-DD HH:MM.
FOREIGN_TIMES = {
    "12-hour clock": re.compile(r"\b(?:a\.m\.|p\.m\.|noon|midnight)|\d\s?[AP]M\b"),
    "month name": re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?\s+\d|\b(?:January|February|March|April|June|July|August|September|October|November|December)\b"),
    "ISO with T": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d"),
    "seconds": re.compile(r"\b\d\d:\d\d:\d\d"),
    "microseconds or offset": re.compile(r"\d\d:\d\d(?:\.\d+|[+-]\d\d:\d\d)"),
    "Chinese date": re.compile(r"\d{4}年\d{1,2}月"),
    "slashed date": re.compile(r"\b\d{1,4}/\d{1,2}/\d{2,4}\b"),
    "zone after a value": re.compile(r"\d\d:\d\d\s*\(?(?:UTC|GMT|CST)"),
}
# An amount without the currency or without its separators: 12345.00, ¥12345.00.
BARE_AMOUNT = re.compile(r"(?<![\d,.\w])\d{4,}\.\d\d(?!\d)|¥\d{4,}")
MONEY = re.compile(r"^[+-]?¥\d{1,3}(?:,\d{3})*\.\d\d$")
ZONE_SENTENCES = {"en": "All times are in UTC.", "zh-hans": "UTC"}


class _Reader(HTMLParser):
    """The text a reader sees (scripts and styles skipped), tooltips, and the text of each
    element with the `money` class."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.money: list[str] = []
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, skipped, money)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("title"):
            self.text.append(attrs["title"])
        if tag in {"br", "input", "img", "meta", "link", "hr", "col", "wbr"}:
            return
        is_money = "money" in (attrs.get("class") or "").split()
        if is_money:
            self.money.append("")
        self.stack.append((tag, tag in {"script", "style", "template", "textarea"}, is_money))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if any(skipped for _, skipped, _m in self.stack):
            return
        self.text.append(data)
        if any(m for _, _s, m in self.stack) and self.money:
            self.money[-1] += data


def read(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    reader.text_joined = " ".join(reader.text)
    return reader


def problems(html: str) -> list[str]:
    reader = read(html)
    text = reader.text_joined
    found = [f"{name}: {m.group(0)!r}" for name, pattern in FOREIGN_TIMES.items() for m in pattern.finditer(text)]
    found += [f"bare amount: {m.group(0)!r}" for m in BARE_AMOUNT.finditer(text)]
    for shown in reader.money:
        for part in re.split(r"\s*(?:→|,)\s+|\s+", shown.strip()):
            if part and part not in {"—", "→"} and not MONEY.match(part):
                found.append(f"money without currency or separators: {shown.strip()!r}")
    return found


def test_the_checks_catch_what_they_should():
    bad = (
        '<p title="2024-12-03 09:05 UTC">Dec. 3, 2024, 9:05 a.m.</p><p>2024-12-03T09:05:07+00:00</p>'
        '<p>2024年12月3日</p><span class="money">12345.00</span><p>¥12345.00</p><script>var x="Dec. 3"</script>'
    )
    found = " ".join(problems(bad))
    for name in ("12-hour clock", "month name", "ISO with T", "Chinese date", "zone after a value", "bare amount", "money without"):
        assert name in found
    good = '<p>2024-12-03 09:05 · ids C001-00012, #12345</p><span class="money">¥12,345.00</span> <span class="money">-¥1.00 → ¥0.00</span>'
    assert problems(good) == []


@pytest.fixture
def book(db):
    demo_book_seed(customers=40, seed=36, as_of=as_of_default(), chunk_size=20)
    recompute_run_process_inline(run=recompute_run_start(enqueue=False))
    line = CreditLine.objects.select_related("customer").order_by("-limit_amount").first()
    assert line.limit_amount >= Decimal("1000"), "a limit of four digits, to see its separator"
    flagged = RiskAlert.objects.filter(status__in=RiskAlert.OPEN_STATUSES).select_related("customer").first()
    assert flagged is not None
    override = OverrideFactory(customer=line.customer, limit_amount=Decimal("12345.00"))
    return {"rich": line.customer, "flagged": flagged.customer, "alert": flagged, "override": override}


@pytest.fixture
def everyone(db):
    user = User.objects.create_user("fiona", password="pw-fiona-123", is_staff=True, is_superuser=True)
    user.groups.add(*Group.objects.filter(name__in=["analyst", "compliance", "risk_admin"]))
    return user


def _pages(book) -> dict[str, str]:
    rich, flagged = book["rich"].external_id, book["flagged"].external_id
    pages = {
        "overview": reverse("decisions:overview"),
        "queue": reverse("decisions:queue"),
        "profile (largest limit)": reverse("decisions:customer", args=[rich]),
        "profile (flagged)": reverse("decisions:customer", args=[flagged]),
        "runs": reverse("decisions:runs"),
        "compliance home": reverse("compliance:index"),
        "audit trail": reverse("compliance:audit"),
        "notices": reverse("compliance:notices"),
        "consents": reverse("compliance:consents"),
        "customer consents": reverse("compliance:customer-consents", args=[rich]),
        "disclosures": reverse("compliance:disclosures"),
        "subject report": reverse("compliance:subject-report", args=[rich]),
    }
    for model in (
        "accounts/customer", "accounts/transaction", "accounts/repaymentinstallment", "accounts/creditapplication",
        "accounts/bureaureport", "accounts/consent", "decisions/creditdecision", "decisions/creditline",
        "decisions/riskalert", "decisions/scoresnapshot", "decisions/recomputerun", "decisions/override",
        "decisions/policyversion", "core/auditevent",
    ):
        app, name = model.split("/")
        pages[f"admin {model}"] = reverse(f"admin:{app}_{name}_changelist")
    pages["admin credit line (detail)"] = reverse("admin:decisions_creditline_change", args=[book["rich"].credit_line.pk])
    pages["admin override (detail)"] = reverse("admin:decisions_override_change", args=[book["override"].pk])
    return pages


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_main_page_writes_money_and_times_one_way(client, book, everyone, language):
    client.force_login(everyone)
    client.cookies["django_language"] = language
    failures = {}
    amounts_seen = 0
    for name, url in _pages(book).items():
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, f"{name} ({url}): {response.status_code}"
        html = response.content.decode()
        found = problems(html)
        reader = read(html)
        if "All times are in" not in html and "UTC" not in reader.text_joined:
            found.append("the zone is not named")
        if language == "en" and reader.text_joined.count("All times are in UTC.") != 1:
            found.append("the zone is not named exactly once")
        amounts_seen += len(re.findall(r"¥\d{1,3},\d{3}\.\d\d", reader.text_joined))
        if found:
            failures[name] = found
    assert not failures, "\n".join(f"{k}: {sorted(set(v))[:8]}" for k, v in failures.items())
    assert amounts_seen > 10, "the pages show amounts of four digits and more, with their separators"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_amount_of_four_digits_reads_with_its_separator_on_the_profile_and_the_admin(client, book, everyone, language):
    client.force_login(everyone)
    client.cookies["django_language"] = language
    line = book["rich"].credit_line
    expected = f"¥{line.limit_amount:,.2f}"
    profile = client.get(reverse("decisions:customer", args=[book["rich"].external_id])).content.decode()
    assert expected in profile
    admin_list = client.get(reverse("admin:decisions_creditline_changelist")).content.decode()
    assert expected in admin_list
    detail = client.get(reverse("admin:decisions_creditline_change", args=[line.pk])).content.decode()
    assert expected in detail

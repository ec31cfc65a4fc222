"""Every main page, rendered in Chinese for each role, has no English word left on it.

A book with data on every page (a seeded book decided once, its daily figures, alerts, a case
note, a simulated draft, a night of model monitoring) is rendered with the language set to
zh-hans, for the analyst, the compliance officer and the risk admin (the admin included). The
visible text (tags, scripts and styles stripped, plus the attributes a reader meets: title,
aria-label, placeholder, alt) must hold no run of three or more Latin letters, except:

- ids and codes: a token with a digit, an underscore, a colon, @ or / in it, or dotted words
  (C005-0000054, OVER_BORROWING, seed:5, policy.activate);
- what is typed or recorded as it is: key caps (<kbd>), code (<code>, `manage.py outcomes`), and
  values the house style sets in monospace (class "mono": hashes, evidence, audited payloads);
- text marked with another language (`lang="en"`): the language switch names English in English,
  as a language switch names every language in itself, and a disclosure or a notice is shown in
  the language it was written in;
- the short list of names and abbreviations below, which Chinese text keeps in Latin letters.

Names of customers and policies are data, not interface: the book gets Chinese ones.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from accounts.models import Consent, Customer
from accounts.seeding.generator import as_of_default
from accounts.services import demo_book_seed
from decisions.casework.services.book_stats import book_stats_refresh, utc_today
from decisions.engine.services.runs import recompute_run_process_inline, recompute_run_start
from decisions.governance.services.policy import policy_simulate
from decisions.governance.services.simulation import simulation_process_inline
from decisions.models import PolicyVersion, RiskAlert
from modelling.services.development import scorecard_develop
from modelling.services.monitoring import model_monitor
from modelling.validation import SplitSettings
from riskops.core.models import AuditEvent
from tests.decisions.policy_factories import edited_draft
from tests.factories import CaseNoteFactory
from tests.modelling.book_factories import modelling_book

# Proper names and abbreviations a Chinese finance professional reads in Latin letters.
ALLOWED_WORDS = {
    "RiskOps",  # the product's name
    "API", "CSV", "JSON", "PDF", "URL",  # formats and protocols
    "PSI", "CSI", "AUC", "WoE", "Gini", "ROC", "OOT",  # model validation's terms, named so in the literature
    "UTC",  # the time zone every time is written in
    "Webhook", "Webhooks",  # the mechanism's name (Standard Webhooks), used as is in Chinese
    "Ctrl",  # a key cap
}
ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
# Key caps (<kbd>Enter</kbd>) are printed in Latin letters on a Chinese keyboard too, and code
# (<code>manage.py outcomes</code>) is typed as written; a text area holds what is being edited
# (the policy document in the JSON editor).
SKIPPED = {"script", "style", "template", "kbd", "code", "samp", "textarea"}
# The house style sets recorded values in monospace (class "mono"): ids, hashes, evidence as the
# client sent it (device=android), fields of an audited payload. They are shown as stored.
SKIPPED_CLASSES = {"mono"}
# A management command in a sentence ("…generated monthly (manage.py outcomes)…") is typed as written.
COMMAND = re.compile(r"manage\.py(\s+[a-z_]+)?(\s+--?[a-z][a-z\-]*)*")
# An action's prefix as typed in a search ("（decision.）"): a word and a dot right before a bracket or comma.
CODE_PREFIX = re.compile(r"\b[a-z_]+\.(?=[）),，])")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
WORD = re.compile(r"[A-Za-z]{3,}")
# A run of ASCII letters, digits and the joiners of ids and codes; anything else (spaces, CJK,
# punctuation) separates tokens.
TOKEN = re.compile(r"[A-Za-z0-9_.:@/+\-]+")


class _Text(HTMLParser):
    """What a reader sees: text outside script/style and `lang="en"` elements, and a few attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)

    def _skipping(self) -> bool:
        return any(skipped for _, skipped in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        skipped = (
            tag in SKIPPED
            or bool(SKIPPED_CLASSES & set((attrs.get("class") or "").split()))
            or (attrs.get("lang") or "").lower().startswith("en") and tag != "html"
        )
        if not self._skipping() and not skipped:
            self.parts.extend(attrs[name] for name in ATTRIBUTES if attrs.get(name))
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.parts.append(attrs["value"])
        if tag not in VOID:
            self.stack.append((tag, skipped))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if not self._skipping():
            self.parts.append(data)


def _is_id_or_code(token: str) -> bool:
    """cust-000012, OVER_BORROWING, ana@example.test, policy.activate, seed:5, /api/v1/: not words."""
    token = token.strip(".-/:")
    return bool(re.search(r"[0-9_@/:]", token)) or re.fullmatch(r"[a-z]+(\.[a-z]+)+", token) is not None


def english_words(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    found = []
    for token in TOKEN.findall(CODE_PREFIX.sub(" ", COMMAND.sub(" ", " ".join(parser.parts)))):
        if _is_id_or_code(token):
            continue
        found.extend(word for word in WORD.findall(token) if word not in ALLOWED_WORDS)
    return found


def test_the_parser_finds_english_and_skips_what_it_should():
    html = (
        '<html lang="zh-hans"><head><title>总览 | RiskOps</title><style>.a{color:red}</style></head>'
        '<body><script>var notAWord = 1;</script><p title="Open case">客户 cust-000012 的 OVER_BORROWING 警报</p>'
        '<button lang="en">English</button><p>policy.activate，Pending</p><td class="small mono">device=web</td>'
        "<p>结果按月生成（manage.py outcomes），见 seed:5 和 <kbd>Enter</kbd>。操作前缀（decision.）</p></body></html>"
    )
    assert english_words(html) == ["Open", "case", "Pending"]


# --- the book -------------------------------------------------------------------------------------


@pytest.fixture
def book(make_user):
    """Enough of everything that each page shows its tables, charts and panels, not its empty state."""
    demo_book_seed(customers=60, seed=5, as_of=as_of_default(), chunk_size=100)
    run = recompute_run_process_inline(run=recompute_run_start(enqueue=False, chunk_size=100))
    assert run.status == "succeeded"
    for day in range(3):
        book_stats_refresh(day=utc_today() - timedelta(days=day))
    # Names are data, not interface: the book's customers and the shipped policy get Chinese names.
    PolicyVersion.objects.filter(version=1).update(name="默认评分卡与规则")
    for n, customer in enumerate(Customer.objects.order_by("pk")):
        customer.full_name = "王芳李娜张伟刘洋陈静"[n % 5 * 2 : n % 5 * 2 + 2]
        customer.save(update_fields=["full_name"])
    users = {
        "analyst": make_user("分析员", "analyst"),
        "compliance": make_user("合规员", "compliance"),
        "risk_admin": make_user("风控管理员", "risk_admin", is_staff=True, is_superuser=True),
    }
    alert = RiskAlert.objects.filter(status="open").order_by("-severity").first()
    CaseNoteFactory(customer=alert.customer, alert=alert, author=users["analyst"], body="已致电客户，收入已核实。")
    # A draft simulated on the whole book, and the night measured for model health.
    draft = edited_draft(actor=users["risk_admin"])
    PolicyVersion.objects.filter(pk=draft.pk).update(name="更严格的规则")
    simulation = simulation_process_inline(simulation=policy_simulate(version=draft, actor=users["risk_admin"], enqueue=False))
    model_monitor(as_of=utc_today())
    consent = Consent.objects.filter(customer=alert.customer).first()
    event = AuditEvent.objects.filter(actor__isnull=False).order_by("-pk").first()
    return {"users": users, "customer": alert.customer, "alert": alert, "simulation": simulation, "consent": consent, "event": event, "draft": draft}


def _pages(book) -> dict[str, list[str]]:
    customer = book["customer"].external_id
    return {
        "analyst": [
            reverse("decisions:overview"),
            reverse("decisions:queue"),
            reverse("decisions:customer", args=[customer]),
            reverse("decisions:customer-search") + "?q=" + customer[:7],  # several matches: the list
        ],
        "compliance": [
            reverse("compliance:index"),
            reverse("compliance:audit"),
            reverse("compliance:audit-event", args=[book["event"].pk]),
            reverse("compliance:consents"),
            reverse("compliance:consent", args=[book["consent"].pk]),
            reverse("compliance:disclosures"),
            reverse("compliance:disclosure-missing", args=["risk_disclosure"]),
            reverse("compliance:notices"),
            reverse("compliance:customer-consents", args=[customer]),
            reverse("compliance:subject-report", args=[customer]),
        ],
        "risk_admin": [
            reverse("decisions:overview"),
            reverse("decisions:runs"),
            reverse("decisions:simulation", args=[book["simulation"].pk]),
            reverse("modelling:index"),
            reverse("modelling:health"),
            reverse("modelling:challenger"),
            reverse("admin:index"),
            reverse("admin:decisions_policyversion_changelist"),
            reverse("admin:decisions_riskalert_changelist"),
            reverse("admin:accounts_customer_changelist"),
            reverse("admin:accounts_customer_change", args=[book["customer"].pk]),
            reverse("admin:decisions_policyversion_change", args=[book["draft"].pk]),
            reverse("admin:decisions_override_changelist"),
            reverse("admin:core_auditevent_changelist"),
            reverse("decisions:run-start"),
        ],
    }


def test_every_main_page_in_chinese_has_no_english_word(client, book):
    client.cookies["django_language"] = "zh-hans"
    found: dict[str, list[str]] = {}
    for role, urls in _pages(book).items():
        client.force_login(book["users"][role])
        for url in urls:
            response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
            assert response.status_code == 200, (role, url, response.status_code)
            words = english_words(response.content.decode())
            if words:
                found[f"{role} {url}"] = sorted(set(words))
    assert not found, "\n".join(f"{page}: {' '.join(words)}" for page, words in found.items())


def test_the_language_switch_names_each_language_in_itself_and_in_the_page_language(client, make_user):
    client.force_login(make_user("u", "analyst"))
    english = client.get(reverse("decisions:overview")).content.decode()
    assert '<button type="submit" name="language" value="zh-hans" lang="zh-hans" class="linklike" title="Simplified Chinese">简体中文</button>' in english
    client.cookies["django_language"] = "zh-hans"
    chinese = client.get(reverse("decisions:overview")).content.decode()
    assert 'value="en" lang="en" class="linklike" title="英语">English</button>' in chinese
    assert 'lang="zh-hans" class="linklike" aria-current="true">简体中文</button>' in chinese


def test_a_scorecard_validation_report_in_chinese_has_no_english_word(client, make_user):
    """The model page with the most words: a scorecard fitted from a model-ready book, its report."""
    admin = make_user("风控管理员", "risk_admin", is_staff=True)
    modelling_book(customers=400, dates=4)
    fitted = scorecard_develop(actor=admin, split=SplitSettings(oot_months=1))
    PolicyVersion.objects.filter(pk=fitted.version.pk).update(name="拟合的评分卡")
    client.force_login(admin)
    client.cookies["django_language"] = "zh-hans"
    response = client.get(reverse("modelling:report", args=[fitted.version.version]))
    assert response.status_code == 200
    assert english_words(response.content.decode()) == []

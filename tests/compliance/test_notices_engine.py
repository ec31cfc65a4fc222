"""Customer notices are written with adverse decisions, in the customer's language, and never for
a change that did not happen."""

import re

import pytest
from django.utils import timezone

from accounts.models import Customer, Transaction
from decisions.models import CreditDecision, CustomerNotice
from decisions.engine.services.notices import notice_kind
from decisions.engine.services.recompute import decision_recompute
from decisions.engine.services.runs import recompute_run_process_inline, recompute_run_start
from tests.decisions.scenarios import make_customer
from tests.factories import DisclosureFactory

CJK = re.compile(r"[\u4e00-\u9fff]")
LENDERS = {"score": 720, "external_lenders": 6, "external_debt": "500.00"}


@pytest.mark.django_db
@pytest.mark.parametrize("recipe, kind, access", [
    ({"overdue_days": 95}, "closed", "closed"),
    ({"overdue_days": 35}, "suspended", "suspended"),
    ({"consents": ()}, "refused", "not_offered"),
    ({"bureau": LENDERS}, "limited", "limited"),
])
def test_a_first_adverse_decision_writes_one_notice(recipe, kind, access):
    risk = DisclosureFactory(kind="risk_disclosure", version=3)
    customer = make_customer(**recipe)

    decision_recompute(customer=customer, trigger="manual")

    decision = CreditDecision.objects.get(customer=customer)
    assert decision.access == access
    notice = CustomerNotice.objects.get(customer=customer)
    assert (notice.decision_id, notice.kind, notice.language) == (decision.pk, kind, "en")
    assert notice.disclosure_id == risk.pk
    assert notice.created_at == decision.decided_at
    assert notice.reasons and all(r["code"] and r["text"] for r in notice.reasons)
    assert "WHAT_CHANGED" not in {r["code"] for r in notice.reasons}
    assert "review" in notice.review_text


@pytest.mark.django_db
def test_a_limit_cut_writes_a_notice_and_a_rerun_writes_none():
    customer = make_customer()  # open, limit 4,500.00
    decision_recompute(customer=customer, trigger="manual")
    assert not CustomerNotice.objects.exists()  # a grant is not adverse

    Transaction.objects.filter(customer=customer, kind="income").update(amount="1000.00")
    now = timezone.now()
    decision_recompute(customer=customer, trigger="transaction", now=now)
    cut = CreditDecision.objects.filter(customer=customer).latest()
    assert cut.limit_amount < cut.previous_limit and cut.access == "open"
    assert CustomerNotice.objects.get().kind == "limit_cut"
    assert CustomerNotice.objects.get().disclosure is None  # none published

    # a rerun with nothing new writes no decision, so no notice
    decision_recompute(customer=customer, trigger="manual", now=now)
    assert CreditDecision.objects.filter(customer=customer).count() == 2
    assert CustomerNotice.objects.count() == 1


@pytest.mark.django_db
def test_a_chinese_customers_notice_is_in_chinese():
    customer = make_customer(overdue_days=35)
    Customer.objects.filter(pk=customer.pk).update(language="zh-hans")

    decision_recompute(customer=customer, trigger="manual")

    notice = CustomerNotice.objects.get(customer=customer)
    assert (notice.kind, notice.language) == ("suspended", "zh-hans")
    assert all(CJK.search(r["text"]) for r in notice.reasons), notice.reasons
    assert CJK.search(notice.review_text)


@pytest.mark.django_db
def test_the_chunk_path_writes_notices_in_bulk_and_a_rerun_none():
    refused = make_customer(consents=())
    suspended = make_customer(overdue_days=35)
    fine = make_customer()
    recompute_run_process_inline(run=recompute_run_start(enqueue=False))
    kinds = dict(CustomerNotice.objects.values_list("customer_id", "kind"))
    assert kinds == {refused.pk: "refused", suspended.pk: "suspended"}
    assert fine.pk not in kinds

    recompute_run_process_inline(run=recompute_run_start(enqueue=False))
    assert CustomerNotice.objects.count() == 2


@pytest.mark.parametrize("before, after, first, expected", [
    (("open", 1000), ("closed", 0), False, "closed"),
    (("closed", 0), ("closed", 0), False, None),
    (("open", 1000), ("suspended", 0), False, "suspended"),
    (("not_offered", 0), ("not_offered", 0), True, "refused"),
    (("open", 1000), ("not_offered", 0), False, "refused"),
    (("open", 1000), ("limited", 1000), False, "limited"),
    (("open", 1000), ("limited", 500), False, "limited"),  # one notice: the stronger move
    (("limited", 1000), ("limited", 500), False, "limit_cut"),
    (("open", 1000), ("open", 500), False, "limit_cut"),
    (("open", 500), ("open", 1000), False, None),
    (("not_offered", 0), ("open", 1000), True, None),
    (("suspended", 0), ("open", 1000), False, None),
])
def test_notice_kind(before, after, first, expected):
    from decimal import Decimal

    got = notice_kind(access=after[0], previous_access=before[0], limit=Decimal(after[1]), previous_limit=Decimal(before[1]), first=first)
    assert got == expected

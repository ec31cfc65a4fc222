"""Champion and challenger in a real browser: a risk admin attaches a draft from /models/challenger/,
a nightly run scores it in shadow, the page draws the swap sets (Plotly) and passes axe, and the
admin detaches it."""

import pytest
from django.urls import reverse

from decisions.engine.services.runs import recompute_run_process_inline, recompute_run_start
from decisions.governance.services.policy import policy_draft_copy, policy_draft_edit
from decisions.models import ChallengerAttachment, PolicyVersion, ShadowScore, Trigger
from tests.decisions.policy_factories import stricter_body
from tests.decisions.scenarios import make_customer

from .helpers import assert_no_serious_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_attach_a_challenger_read_the_swap_sets_and_detach_it(page, live_server, login, risk_admin):
    for _ in range(4):
        make_customer()
    make_customer(overdue_days=40)
    draft = policy_draft_copy(source=PolicyVersion.objects.get(state="active"), actor=risk_admin)
    draft = policy_draft_edit(version=draft, body=stricter_body(draft.body), actor=risk_admin)
    url = live_server.url + reverse("modelling:challenger")

    login(page, live_server, risk_admin)
    page.goto(url)
    assert "No nightly run has scored a challenger yet" in page.inner_text("main")
    assert_no_serious_axe_violations(page)

    page.select_option("#challenger-version", str(draft.pk))
    with page.expect_navigation():
        page.click("text=Attach as challenger")
    assert f"Policy v{draft.version} is attached as the challenger" in page.inner_text("main")
    assert ChallengerAttachment.objects.get(state="attached").version_id == draft.pk

    # Tonight's run scores it in shadow.
    run = recompute_run_process_inline(run=recompute_run_start(trigger=Trigger.NIGHTLY, enqueue=False))
    assert ShadowScore.objects.filter(run=run).count() == 5

    page.goto(url)
    for chart in ("challenger-bands", "challenger-access", "challenger-limits"):
        page.wait_for_selector(f"[data-chart='{chart}'] .main-svg")
    assert page.locator("#band-matrix tbody tr").count() == 5
    assert "No matured outcome yet" in page.inner_text("main")
    assert_no_serious_axe_violations(page)

    with page.expect_navigation():
        page.click("text=Detach the challenger")
    assert f"Policy v{draft.version} is detached" in page.inner_text("main")
    assert not ChallengerAttachment.objects.filter(state="attached").exists()
    assert_no_serious_axe_violations(page)

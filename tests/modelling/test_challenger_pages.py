"""The champion-and-challenger page (/models/challenger/): who sees it, the attach and detach forms,
the swap sets and limit differences of the latest shadowed night, and AUC/KS on matured outcomes."""

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse

from decisions.models import ChallengerAttachment, PolicyVersion, ShadowScore, Trigger
from modelling.challenger_selectors import challenger_page
from modelling.metrics import auc, ranking
from modelling.performance import start_of
from riskops.core.models import AuditEvent
from tests.factories import CustomerFactory, PolicyVersionFactory, RecomputeRunFactory
from tests.modelling.factories import OutcomeFactory, active_policy_version

pytestmark = pytest.mark.django_db

URL = reverse("modelling:challenger")
OBSERVED = date(2024, 3, 1)  # an observation date whose outcomes have matured


@pytest.fixture
def admin_client(client, risk_admin):
    client.force_login(risk_admin)
    return client


def _run(*, clock, night=None, **extra):
    return RecomputeRunFactory(
        trigger=Trigger.NIGHTLY, policy_version=active_policy_version(), as_of=clock, night=night or clock.date(),
        succeeded=True, **extra,
    )


def _row(run, customer, challenger, *, band=("C", "C"), access=("open", "open"), limit=("1000.00", "1000.00"), score=(620, 620)):
    """A shadow row: each pair is (champion, challenger)."""
    return ShadowScore(
        run=run, customer=customer, challenger=challenger, champion_score=score[0], score=score[1],
        champion_band=band[0], band=band[1], champion_access=access[0], access=access[1],
        champion_limit=Decimal(limit[0]), limit_amount=Decimal(limit[1]),
    )


# --- who sees it, and the forms ----------------------------------------------------------------


@pytest.mark.parametrize("role, status", [("analyst", 403), ("compliance", 403), ("risk_admin", 200)])
def test_only_risk_admins_see_the_page(client, make_user, role, status):
    client.force_login(make_user("u", role))
    assert client.get(URL).status_code == status
    # The actions too: a risk admin is answered with a message (nothing is attached), others 403.
    assert client.post(reverse("modelling:challenger-detach")).status_code == (302 if status == 200 else 403)


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_an_analyst_cannot_attach(client, make_user):
    draft = PolicyVersionFactory()
    client.force_login(make_user("a", "analyst"))
    assert client.post(reverse("modelling:challenger-attach"), {"version": draft.pk}).status_code == 403
    assert not ChallengerAttachment.objects.exists()


def test_attach_from_the_page_then_detach(admin_client, risk_admin):
    draft, retired = PolicyVersionFactory(name="stricter"), PolicyVersionFactory(retired=True)

    page = admin_client.get(URL)
    html = page.content.decode()
    assert page.context["page"].attached is None
    # The select offers drafts and retired versions, never the active one.
    assert f'value="{draft.pk}"' in html and f'value="{retired.pk}"' in html
    assert f'value="{active_policy_version().pk}"' not in html
    assert "No nightly run has scored a challenger yet" in html

    response = admin_client.post(reverse("modelling:challenger-attach"), {"version": draft.pk}, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert f"Policy v{draft.version} is attached as the challenger" in response.content.decode()
    assert ChallengerAttachment.objects.get(state="attached").version_id == draft.pk
    assert AuditEvent.objects.filter(action="challenger.attach", actor_id=risk_admin.pk).exists()
    assert "Detach the challenger" in response.content.decode()

    response = admin_client.post(reverse("modelling:challenger-detach"), follow=True)
    assert f"Policy v{draft.version} is detached" in response.content.decode()
    assert not ChallengerAttachment.objects.filter(state="attached").exists()


@pytest.mark.parametrize("value, message", [("", "Choose a policy version"), ("abc", "Choose a policy version"), ("987654", "No such policy version")])
def test_bad_input_is_refused_with_a_message(admin_client, value, message):
    response = admin_client.post(reverse("modelling:challenger-attach"), {"version": value}, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert message in response.content.decode()
    assert not ChallengerAttachment.objects.exists()


def test_the_active_version_is_refused_and_so_is_a_second_challenger(admin_client):
    response = admin_client.post(reverse("modelling:challenger-attach"), {"version": active_policy_version().pk}, follow=True)
    assert "the champion" in response.content.decode()
    first, second = PolicyVersionFactory(), PolicyVersionFactory()
    admin_client.post(reverse("modelling:challenger-attach"), {"version": first.pk})
    response = admin_client.post(reverse("modelling:challenger-attach"), {"version": second.pk}, follow=True)
    assert "detach it first" in response.content.decode()
    assert list(ChallengerAttachment.objects.values_list("version_id", flat=True)) == [first.pk]


def test_the_forms_need_csrf(risk_admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(risk_admin)
    assert client.post(reverse("modelling:challenger-attach"), {"version": PolicyVersionFactory().pk}).status_code == 403
    assert not ChallengerAttachment.objects.exists()


def test_an_attached_draft_edited_since_is_flagged(admin_client, risk_admin):
    draft = PolicyVersionFactory()
    admin_client.post(reverse("modelling:challenger-attach"), {"version": draft.pk})
    PolicyVersion.objects.filter(pk=draft.pk).update(edited_at=draft.created_at + timedelta(hours=1))
    assert "edited after it was attached" in admin_client.get(URL).content.decode()


# --- the latest night: swap sets and limits ---------------------------------------------------


def test_the_swap_matrix_access_swaps_and_limit_differences_of_the_latest_night(admin_client):
    challenger = PolicyVersionFactory()
    older = _run(clock=start_of(OBSERVED) - timedelta(days=2))
    latest = _run(clock=start_of(OBSERVED) - timedelta(days=1), total_customers=9, done_customers=9)
    people = CustomerFactory.create_batch(8)
    ShadowScore.objects.bulk_create([_row(older, c, challenger, band=("A", "E")) for c in people])  # not the latest
    ShadowScore.objects.bulk_create([
        _row(latest, people[0], challenger, band=("A", "A"), limit=("4500.00", "4500.00")),
        _row(latest, people[1], challenger, band=("A", "B"), limit=("4500.00", "3000.00")),
        _row(latest, people[2], challenger, band=("B", "A"), limit=("3000.00", "3750.50")),
        _row(latest, people[3], challenger, band=("C", "E"), access=("open", "not_offered"), limit=("1800.00", "0.00")),
        _row(latest, people[4], challenger, band=("D", "E"), access=("limited", "not_offered"), limit=("900.00", "0.00")),
        _row(latest, people[5], challenger, band=("C", "C"), access=("open", "closed"), limit=("1800.00", "0.00")),
        _row(latest, people[6], challenger, band=("E", "D"), access=("not_offered", "limited"), limit=("0.00", "450.00")),
        _row(latest, people[7], challenger, band=("C", "C"), access=("suspended", "suspended"), limit=("0.00", "0.00")),
    ])

    response = admin_client.get(URL)
    s = response.context["page"].swaps

    assert s.run == latest and s.challenger == challenger and s.customers == 8 and s.run_customers == 9
    #            A  B  C  D  E   (challenger) — rows: the champion's band
    assert s.bands == [
        [1, 1, 0, 0, 0],
        [1, 0, 0, 0, 0],
        [0, 0, 2, 0, 1],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 1, 0],
    ]
    assert (s.band_better, s.band_worse) == (2, 3)
    assert [(x["from"], x["to"], x["customers"]) for x in s.access_swaps] == [
        ("limited", "not_offered", 1), ("not_offered", "limited", 1), ("open", "closed", 1), ("open", "not_offered", 1),
    ]
    # Σ(challenger − champion) = 0 − 1500 + 750.50 − 1800 − 900 − 1800 + 450 + 0
    assert s.limit_sum == Decimal("-4799.50")
    assert (s.limit_up, s.limit_up_sum, s.limit_down, s.limit_down_sum, s.limit_same) == (
        2, Decimal("1200.50"), 4, Decimal("-6000.00"), 2,
    )
    buckets = dict(s.limit_buckets)
    assert buckets == {**{label: 0 for label in buckets}, "0": 2, "-2,000 … -1,000": 3, "-1,000 … -500": 1, "+500 … +1,000": 1, "0 … +100": 0, "+100 … +500": 1}
    assert (s.champion_exposure, s.challenger_exposure) == (Decimal("16500.00"), Decimal("11700.50"))
    html = response.content.decode()
    assert "-¥4,799.50" in html and "+¥1,200.50" in html  # money with the currency and two decimals
    assert html.count('data-chart="challenger-') == 3 and '"type": "heatmap"' in html
    assert "plotly.min.js" in html


def test_the_page_reads_a_fixed_number_of_queries(risk_admin, django_assert_max_num_queries):
    challenger = PolicyVersionFactory()
    OutcomeFactory.create_batch(3, observation_date=OBSERVED)

    def night(n: int, days: int):
        run = _run(clock=start_of(OBSERVED) - timedelta(days=days))
        ShadowScore.objects.bulk_create([_row(run, c, challenger, score=(600 + i, 610 - i)) for i, c in enumerate(CustomerFactory.create_batch(n))])

    night(5, 3)
    with django_assert_max_num_queries(12) as small:
        challenger_page()
    night(60, 2)
    night(60, 1)
    with django_assert_max_num_queries(len(small.captured_queries)):
        challenger_page()


# --- as outcomes mature ------------------------------------------------------------------------


def test_auc_and_ks_of_both_on_the_same_customers_from_the_night_nearest_before(admin_client):
    rng = np.random.default_rng(4)
    challenger = PolicyVersionFactory()
    people = CustomerFactory.create_batch(120)
    bad = rng.random(120) < 0.3
    # The champion ranks by noise around the truth; the challenger knows the truth better.
    champion_scores = [int(650 - 60 * b + rng.normal(0, 45)) for b in bad]
    challenger_scores = [int(650 - 60 * b + rng.normal(0, 15)) for b in bad]
    for customer, b in zip(people, bad):
        OutcomeFactory(customer=customer, observation_date=OBSERVED, worst_dpd=120 if b else 0)
    # Another challenger's night, nearer still: not this challenger's scores.
    rival = _run(clock=start_of(OBSERVED) - timedelta(minutes=30), night=date(2024, 2, 1))
    other = PolicyVersionFactory()
    ShadowScore.objects.bulk_create([_row(rival, c, other, score=(300, 900)) for c in people])
    # The nearest night before the date, a night before it (not the nearest) and a night after
    # it: only the first counts.
    nearest = _run(clock=start_of(OBSERVED) - timedelta(hours=1))
    earlier = _run(clock=start_of(OBSERVED) - timedelta(days=1, hours=1))
    after = _run(clock=start_of(OBSERVED) + timedelta(days=1))
    ShadowScore.objects.bulk_create(
        [_row(nearest, c, challenger, score=(a, b)) for c, a, b in zip(people, champion_scores, challenger_scores)]
        + [_row(run, c, challenger, score=(900, 300)) for run in (earlier, after) for c in people]
    )
    # A customer without an outcome, scored that night: not in the sample.
    ShadowScore.objects.bulk_create([_row(nearest, CustomerFactory(), challenger)])

    p = admin_client.get(URL).context["page"].performance

    assert p.dates == [OBSERVED] and p.rows == 120 and p.bads == int(bad.sum()) and not p.message
    expected_champion = ranking([-s for s in champion_scores], bad).as_json()
    expected_challenger = ranking([-s for s in challenger_scores], bad).as_json()
    assert p.champion == expected_champion and p.challenger == expected_challenger
    assert p.champion["auc"]["value"] == round(auc([-s for s in champion_scores], bad), 4)
    assert p.challenger["auc"]["value"] > p.champion["auc"]["value"]
    html = admin_client.get(URL).content.decode()
    assert f'{p.challenger["auc"]["value"]:.3f}' in html and f'{p.champion["ks"]["value"]:.3f}' in html
    assert f"Challenger v{challenger.version}" in html


def test_no_matured_outcome_yet_is_said_honestly(admin_client):
    challenger = PolicyVersionFactory()
    run = _run(clock=start_of(OBSERVED) - timedelta(hours=1))
    people = CustomerFactory.create_batch(3)
    ShadowScore.objects.bulk_create([_row(run, c, challenger) for c in people])
    # Outcomes observed but not matured yet (as of a day inside the horizon).
    for c in people:
        OutcomeFactory(customer=c, observation_date=OBSERVED, as_of=OBSERVED + timedelta(days=40))

    response = admin_client.get(URL)
    assert response.context["page"].performance.champion is None
    assert "No matured outcome yet" in response.content.decode()


def test_matured_outcomes_with_no_recent_shadowed_night_before_them_are_not_ranked(admin_client):
    challenger = PolicyVersionFactory()
    people = CustomerFactory.create_batch(3)
    # One night after the only matured date, one more than 31 days before it: neither says what
    # the challenger would have scored at the date.
    for clock in (start_of(OBSERVED) + timedelta(days=40), start_of(OBSERVED) - timedelta(days=40)):
        run = _run(clock=clock)
        ShadowScore.objects.bulk_create([_row(run, c, challenger) for c in people])
    for c in people:
        OutcomeFactory(customer=c, observation_date=OBSERVED)
    html = admin_client.get(URL).content.decode()
    assert "No matured outcome follows a night this challenger was scored on yet" in html
    assert OBSERVED.isoformat() in html


def test_only_goods_cannot_be_ranked_and_the_page_says_so(admin_client):
    challenger = PolicyVersionFactory()
    run = _run(clock=start_of(OBSERVED) - timedelta(hours=1))
    people = CustomerFactory.create_batch(4)
    ShadowScore.objects.bulk_create([_row(run, c, challenger) for c in people])
    for c in people:
        OutcomeFactory(customer=c, observation_date=OBSERVED)
    html = admin_client.get(URL).content.decode()
    assert "4 matured outcomes, but AUC and KS need both bad and good ones: 0 bad." in html

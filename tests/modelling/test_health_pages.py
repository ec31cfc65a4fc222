"""The model-health page (/models/health/), its acknowledge action, the bad rate by band per
vintage, and the open model alerts on the overview (risk admins only)."""

from datetime import date, datetime, time, timedelta, timezone as dt_timezone

import pytest
from django.urls import reverse

from decisions.models import PolicyVersion, ScoreSnapshot, Trigger
from modelling.drift import SCORE
from modelling.health_selectors import NO_BAND, bad_rates_by_vintage, model_health_page
from modelling.models import ModelAlert, ModelHealth
from modelling.services.monitoring import model_monitor
from riskops.core.models import AuditEvent
from tests.factories import CustomerFactory
from tests.modelling.factories import OutcomeFactory
from tests.modelling.monitoring_factories import NIGHT, book_customers, scored_night

pytestmark = pytest.mark.django_db

URL = "modelling:health"
NEXT = NIGHT + timedelta(days=1)


@pytest.fixture
def drifted():
    """Two nights of policy v1: the first freezes the reference, the second has drifted."""
    people = book_customers(300)
    scored_night(people, day=NIGHT, seed=1)
    model_monitor(as_of=NIGHT)
    scored_night(people, day=NEXT, seed=2, shift=2.0)
    model_monitor(as_of=NEXT)
    return ModelAlert.objects.get(metric=SCORE)


@pytest.fixture
def admin_client(client, risk_admin):
    client.force_login(risk_admin)
    return client


# --- who sees it --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["analyst", "compliance"])
def test_only_risk_admins_see_the_page(client, make_user, role):
    client.force_login(make_user("u", role))
    assert client.get(reverse(URL)).status_code == 403


def test_anonymous_goes_to_login(client):
    assert client.get(reverse(URL)).url.startswith(reverse("login"))


def test_an_empty_page_says_how_monitoring_starts(admin_client):
    response = admin_client.get(reverse(URL))
    assert response.status_code == 200
    text = response.content.decode()
    assert "No night measured yet." in text and "manage.py model_monitor" in text
    assert "No open model alert." in text and "No outcome is materialised yet" in text


# --- what it shows ------------------------------------------------------------------------------


def test_the_page_shows_the_trend_the_latest_figures_and_the_open_alert(admin_client, drifted):
    response = admin_client.get(reverse(URL))
    assert response.status_code == 200
    page = response.context["page"]
    night = ModelHealth.objects.get(day=NEXT)
    assert [n.day for n in page.nights] == [NIGHT, NEXT] and page.latest == night
    assert page.figures[0].metric == SCORE and page.figures[0].level == "alert"
    assert page.figures[0].level_text == "alert: not the population the model was developed on"
    text = response.content.decode()
    assert "Policy v1" in text and "the book on the first night monitored" in text
    # the trend: the score and every feature, the two levels drawn across
    figure = page.stability_chart["figure"]
    assert [t["name"] for t in figure["data"]][0] == "Score (PSI)" and len(figure["data"]) == 12
    assert sorted(s["y0"] for s in figure["layout"]["shapes"]) == [0.10, 0.25]
    assert 'id="chart-stability"' in text
    # the open alert with its form (a note is required, CSRF)
    assert f'action="{reverse("modelling:health-acknowledge", args=[drifted.pk])}"' in text
    assert "csrfmiddlewaretoken" in text and 'name="note"' in text and "required" in text
    assert f"{drifted.value:.4f}" in text


def test_the_page_reads_in_a_fixed_number_of_queries(admin_client, drifted, django_assert_max_num_queries):
    # more nights and alerts do not add queries
    for n in range(2, 6):
        day = NIGHT + timedelta(days=n)
        ModelHealth.objects.create(
            policy_version=drifted.policy_version, day=day, score_psi=0.3, csi={}, counts={}, rows=1, level="alert",
            computed_at=datetime.now(dt_timezone.utc),
        )
    # session, user, groups, active version, reference, nights, open alerts, acknowledged alerts,
    # outcome dates (the vintage aggregate needs none without dates), messages
    with django_assert_max_num_queries(10):
        assert admin_client.get(reverse(URL)).status_code == 200


# --- acknowledging ------------------------------------------------------------------------------


def test_acknowledging_without_a_note_is_refused_with_a_message(admin_client, drifted):
    response = admin_client.post(reverse("modelling:health-acknowledge", args=[drifted.pk]), {"note": "  "}, follow=True)
    assert response.status_code == 200
    assert "a note is required" in response.content.decode()
    drifted.refresh_from_db()
    assert drifted.status == ModelAlert.Status.OPEN


def test_acknowledging_with_a_note(admin_client, drifted, risk_admin):
    response = admin_client.post(reverse("modelling:health-acknowledge", args=[drifted.pk]), {"note": "Partner launch."}, follow=True)
    assert response.redirect_chain[-1][0] == reverse(URL)
    text = response.content.decode()
    assert "Model alert on Score (PSI) acknowledged." in text and "Partner launch." in text
    drifted.refresh_from_db()
    assert drifted.status == ModelAlert.Status.ACKNOWLEDGED and drifted.acknowledged_by == risk_admin
    assert AuditEvent.objects.filter(action="model_alert.acknowledge", target_id=str(drifted.pk)).count() == 1


def test_an_analyst_cannot_acknowledge(client, analyst, drifted):
    client.force_login(analyst)
    response = client.post(reverse("modelling:health-acknowledge", args=[drifted.pk]), {"note": "seen"})
    assert response.status_code == 403
    drifted.refresh_from_db()
    assert drifted.status == ModelAlert.Status.OPEN


def test_acknowledging_is_a_post(admin_client, drifted):
    assert admin_client.get(reverse("modelling:health-acknowledge", args=[drifted.pk])).status_code == 405
    assert admin_client.post(reverse("modelling:health-acknowledge", args=[999_999]), {"note": "x"}).status_code == 404


# --- the overview -------------------------------------------------------------------------------


def test_the_overview_shows_open_model_alerts_to_a_risk_admin(admin_client, drifted):
    text = admin_client.get(reverse("decisions:overview")).content.decode()
    open_count = ModelAlert.objects.filter(status="open").count()
    assert f"{open_count} open model alerts" in text
    assert f"Score (PSI) at {drifted.value:.4f} · policy v1 · night of {NEXT.isoformat()}" in text
    assert reverse(URL) in text


def test_the_overview_does_not_show_them_to_an_analyst(analyst_client, drifted):
    text = analyst_client.get(reverse("decisions:overview")).content.decode()
    assert "open model alert" not in text and reverse(URL) not in text


def test_the_overview_shows_no_panel_once_every_alert_is_acknowledged(admin_client, drifted, risk_admin):
    ModelAlert.objects.update(status="acknowledged", acknowledged_by=risk_admin, acknowledged_at=drifted.raised_at, note="done")
    assert "open model alert" not in admin_client.get(reverse("decisions:overview")).content.decode()


def test_the_overview_budget_grows_by_one_query_for_a_risk_admin(admin_client, drifted, django_assert_max_num_queries):
    # the overview's own budget (tests/decisions/test_overview.py) is 9; for a risk admin the
    # pending-approvals count adds two (its panel and the nav) and the model alerts one
    with django_assert_max_num_queries(12):
        assert admin_client.get(reverse("decisions:overview")).status_code == 200


# --- bad rate by band per vintage ---------------------------------------------------------------


def _snapshot(customer, *, at: datetime, band: str, score: int = 600):
    ScoreSnapshot.objects.create(
        customer=customer, policy_version=PolicyVersion.objects.get(version=1), computed_at=at, trigger=Trigger.NIGHTLY,
        score=score, band=band, features={},
    )


def test_bad_rate_by_band_per_vintage_counts_matured_and_open_apart(django_assert_max_num_queries):
    matured_month, open_month = date(2025, 1, 1), date(2026, 2, 1)
    before = lambda day, hours=22: datetime.combine(day, time(0), tzinfo=dt_timezone.utc) - timedelta(hours=hours)  # noqa: E731
    a1, a2, a3, d1, nobody = CustomerFactory.create_batch(5)
    for c in (a1, a2, a3):
        _snapshot(c, at=before(matured_month), band="A")
        _snapshot(c, at=before(open_month), band="B")
    _snapshot(d1, at=before(matured_month), band="D")
    _snapshot(d1, at=before(matured_month, hours=-1), band="E")  # after the observation point: not it
    _snapshot(nobody, at=before(matured_month, hours=24 * 40), band="A")  # older than the window
    for c, bad in ((a1, True), (a2, False), (a3, False), (d1, True), (nobody, False)):
        OutcomeFactory(customer=c, observation_date=matured_month, worst_dpd=120 if bad else 0)
    OutcomeFactory(customer=a1, observation_date=open_month, as_of=open_month + timedelta(days=20), worst_dpd=95)
    OutcomeFactory(customer=a2, observation_date=open_month, as_of=open_month + timedelta(days=20), worst_dpd=0)
    # the stamps, then one aggregate per vintage; a second read is the cache's
    with django_assert_max_num_queries(3):
        vintages = bad_rates_by_vintage()
    with django_assert_max_num_queries(0):
        assert [v.month for v in bad_rates_by_vintage()] == [open_month, matured_month]
    assert [v.month for v in vintages] == [open_month, matured_month]
    recent, old = vintages
    cells = {c.band: c for c in old.cells}
    assert (cells["A"].matured, cells["A"].matured_bad, cells["A"].rate) == (3, 1, pytest.approx(1 / 3))
    assert (cells["D"].matured, cells["D"].matured_bad, cells["D"].rate_text) == (1, 1, "100.0%")
    assert cells["E"].matured == 0 and cells["E"].rate is None
    assert cells[NO_BAND].matured == 1 and cells[NO_BAND].matured_bad == 0
    assert not old.is_open and old.customers == 5
    b = next(c for c in recent.cells if c.band == "B")
    assert recent.is_open and (b.open, b.open_bad, b.matured, b.rate) == (2, 1, 0, None)
    # the chart has the matured vintage only, its bands with a rate
    page = model_health_page()
    assert [t["name"] for t in page.vintage_chart["figure"]["data"]] == ["Band A", "Band D"]
    assert page.vintage_chart["figure"]["data"][0]["x"] == ["2025-01-01"]


def test_a_vintage_is_counted_again_once_its_outcomes_are_rewritten():
    month = date(2025, 1, 1)
    customer = CustomerFactory()
    _snapshot(customer, at=datetime.combine(month, time(0), tzinfo=dt_timezone.utc) - timedelta(hours=2), band="B")
    outcome = OutcomeFactory(customer=customer, observation_date=month, worst_dpd=0)
    assert next(c for c in bad_rates_by_vintage()[0].cells if c.band == "B").matured_bad == 0
    # the nightly materialisation rewrites the row (a late payment reached 90 days); the page's
    # stamps are trusted for five minutes, then the vintage is counted again
    from modelling.models import Outcome

    Outcome.objects.filter(pk=outcome.pk).update(worst_dpd=95, bad=True, computed_at=outcome.computed_at + timedelta(days=1))
    from django.core.cache import cache

    cache.delete("modelling:vintage-stamps:24")
    assert next(c for c in bad_rates_by_vintage()[0].cells if c.band == "B").matured_bad == 1

"""Plotly in Chinese: a Chinese page loads plotly.js's zh-CN locale (a static file, no inline
script) and charts.js draws with it; the locale is the one of the plotly.js the page loads."""

import re
from pathlib import Path

import plotly
import pytest
from django.conf import settings
from django.urls import reverse

LOCALE = settings.BASE_DIR / "static" / "vendor" / "plotly-locale-zh-cn.js"
LOCALE_URL = "/static/vendor/plotly-locale-zh-cn.js"


def _version(text: str) -> str:
    return re.search(r"plotly\.js v(\d+\.\d+\.\d+)", text).group(1)


def test_the_locale_belongs_to_the_plotly_js_the_pages_load():
    bundled = (Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js").read_text()[:500]
    locale = LOCALE.read_text()
    assert _version(locale) == _version(bundled), "plotly was upgraded: take dist/plotly-locale-zh-cn.js of the same plotly.js"
    # Month names for date axes and the mode bar's buttons, registered without any inline script.
    assert 'name:"zh-CN"' in locale and "\\u4e00\\u6708" in locale and "Zoom in" in locale
    assert "Plotly.register(locale)" in locale


@pytest.mark.django_db
def test_a_chinese_page_loads_the_locale_and_an_english_one_does_not(client, make_user):
    client.force_login(make_user("u", "analyst"))
    english = client.get(reverse("decisions:overview")).content.decode()
    assert "/static/plotly/plotly.min.js" in english and LOCALE_URL not in english
    client.cookies["django_language"] = "zh-hans"
    chinese = client.get(reverse("decisions:overview")).content.decode()
    assert '<html lang="zh-hans">' in chinese
    # After plotly.js (it registers itself with it) and before charts.js draws.
    assert chinese.index("/static/plotly/plotly.min.js") < chinese.index(LOCALE_URL) < chinese.index("/static/js/charts.js")


def test_charts_js_draws_in_the_locale_of_the_page_language():
    charts = (settings.BASE_DIR / "static" / "js" / "charts.js").read_text()
    assert '"zh-hans": "zh-CN"' in charts and "document.documentElement.lang" in charts
    assert "locale: pageLocale" in charts

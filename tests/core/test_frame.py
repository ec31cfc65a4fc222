"""The frame around every staff page: navigation by role, languages, error pages, security headers,
login throttling, and the no-inline-script rule that keeps the CSP strict."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from riskops.core.models import AuditEvent

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _nav(html: str) -> str:
    match = re.search(r'<nav class="mainnav".*?</nav>', html, re.S)
    return match.group(0) if match else ""


def test_analyst_navigation_has_overview_and_runs_but_no_admin(client, analyst):
    client.force_login(analyst)

    nav = _nav(client.get("/").content.decode())

    assert 'href="/"' in nav and reverse("decisions:runs") in nav
    assert "/admin/" not in nav


def test_risk_admin_navigation_links_to_the_admin(client, risk_admin):
    client.force_login(risk_admin)

    nav = _nav(client.get("/").content.decode())

    assert reverse("admin:index") in nav


def test_user_menu_shows_username_roles_and_a_logout_form(client, analyst):
    client.force_login(analyst)

    html = client.get("/").content.decode()

    assert '<details class="usermenu">' in html and analyst.username in html
    assert re.search(r'<form method="post" action="%s">\s*<input type="hidden" name="csrfmiddlewaretoken"' % reverse("logout"), html)


def test_every_page_has_a_main_landmark_a_skip_link_and_the_shortcut_help(client, db):
    html = client.get(reverse("login")).content.decode()

    assert '<main id="main"' in html and 'href="#main"' in html
    assert '<dialog id="kbd-help"' in html and "js/keyboard.js" in html
    assert "django_htmx/htmx-2.min.js" in html


def test_flash_messages_are_announced_with_a_role(rf, analyst):
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message

    request = rf.get("/")
    request.user = analyst
    html = render_to_string(
        "base.html",
        {"messages": [Message(constants.SUCCESS, "Saved."), Message(constants.ERROR, "Failed.")]},
        request=request,
    )

    assert '<p class="message success" role="status">Saved.</p>' in html
    assert '<p class="message error" role="alert">Failed.</p>' in html


def test_language_switch_posts_and_the_next_page_is_in_chinese(client, analyst):
    client.force_login(analyst)

    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"}, follow=True)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "概览" in _nav(html) and "退出登录" in html
    # Each language keeps its own name in the switch, whatever the page's language.
    assert re.search(r'lang="en"[^>]*>English</button>', html) and re.search(r'lang="zh-hans"[^>]*>简体中文</button>', html)


def test_language_follows_the_browser_when_the_user_has_not_chosen(client, db):
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()

    assert "登录 RiskOps" in html


def test_the_chosen_language_wins_over_the_browser(client, db):
    client.post(reverse("set_language"), {"language": "en", "next": "/login/"})

    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()

    assert "Log in to RiskOps" in html


def test_unknown_address_answers_404_in_the_frame_without_details(client, analyst):
    client.force_login(analyst)

    response = client.get("/no/such/page/")

    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and 'class="topbar"' in html
    assert "Traceback" not in html and "urlpatterns" not in html


def test_server_error_page_renders_without_a_request_and_in_plain_words(db):
    # Django's server_error view renders 500.html with no context at all.
    html = render_to_string("500.html")

    assert "Something went wrong on our side" in html and "Traceback" not in html


def test_csp_header_allows_scripts_only_from_our_origin(client, db):
    response = client.get(reverse("login"))

    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";") if part.strip()
    )
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert policy["img-src"] == "'self' data:"


def test_no_template_has_an_inline_script_or_event_handler():
    """A strict CSP blocks them in the browser; catch them here first, with the file named."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:
                offenders.append(f"{path.relative_to(TEMPLATES)}: {tag}")
        for handler in re.findall(r"<[^>]*\son[a-z]+\s*=", text):
            offenders.append(f"{path.relative_to(TEMPLATES)}: {handler[:60]}")
    assert offenders == []


def _fail_login(client, username: str, times: int):
    return [
        client.post(reverse("login"), {"username": username, "password": "wrong"}, REMOTE_ADDR="10.0.0.7")
        for _ in range(times)
    ]


def test_five_failures_lock_the_username_on_that_address_and_the_lockout_is_audited(client, analyst):
    responses = _fail_login(client, analyst.username, 5)

    assert [r.status_code for r in responses[:4]] == [200] * 4  # the form again, with its error
    assert responses[4].status_code == 429
    assert "Too many failed attempts" in responses[4].content.decode()
    event = AuditEvent.objects.get(action="login.locked_out")
    assert event.actor_id is None and event.target_id == analyst.username
    assert event.after["ip_address"] == "10.0.0.7"


def test_a_locked_out_user_is_refused_even_with_the_right_password_and_the_lockout_is_audited_once(client, analyst):
    _fail_login(client, analyst.username, 5)

    response = client.post(
        reverse("login"), {"username": analyst.username, "password": "pw-ana-123"}, REMOTE_ADDR="10.0.0.7"
    )

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # Once per account and cool-off, not per refusal (tests/core/test_login_lockout.py).
    assert AuditEvent.objects.filter(action="login.locked_out").count() == 1


def test_the_same_username_from_another_address_can_still_log_in(client, analyst):
    _fail_login(client, analyst.username, 5)

    response = client.post(
        reverse("login"), {"username": analyst.username, "password": "pw-ana-123"}, REMOTE_ADDR="10.0.0.8"
    )

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(analyst.pk)


@pytest.mark.parametrize("path", ["css/riskops.css", "js/keyboard.js", "js/charts.js", "plotly/plotly.min.js", "django_htmx/htmx-2.min.js"])
def test_static_assets_are_found_locally(path):
    from django.contrib.staticfiles import finders

    assert finders.find(path), f"{path} is not served by the app"


def test_form_includes_put_errors_next_to_the_field_and_summarise_them_on_top():
    from django import forms

    class NoteForm(forms.Form):
        note = forms.CharField(label="Note", help_text="Why: it stays on the case.")

    form = NoteForm(data={"note": ""})
    form.is_valid()

    summary = render_to_string("includes/error_summary.html", {"form": form})
    field = render_to_string("includes/field.html", {"field": form["note"]})

    assert 'role="alert"' in summary and '<a href="#id_note">Note: This field is required.</a>' in summary
    assert 'class="field has-error"' in field
    assert field.index("Why: it stays on the case.") < field.index("This field is required.") < field.index("<input")


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs GNU gettext's msgfmt (apt-get install gettext; CI has it)")
def test_chinese_catalogue_is_complete_and_its_placeholders_match():
    po = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"

    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)], capture_output=True, text=True, env={"LC_ALL": "C"}
    )

    assert result.returncode == 0, result.stderr  # --check: python-format placeholders agree
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr
    assert "translated message" in result.stderr


def test_no_template_comment_spans_lines():
    """`{# … #}` ends at the line's end: a comment over several lines is printed on the page."""
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{n}"
        for path in TEMPLATES.rglob("*.html")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "{#" in line and "#}" not in line.split("{#", 1)[1]
    ]
    assert offenders == [], "use {% comment %} for comments over several lines"

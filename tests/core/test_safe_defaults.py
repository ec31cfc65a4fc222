"""The production profile is the default; the development profile is asked for, in one spelling.

Each profile is read in a fresh interpreter (settings are read once per process), with the
variables that choose it removed first, so what the developer's shell holds cannot leak in.
"""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_SECRET = "k" * 20 + "-production-secret-with-enough-entropy-1234567890"
PRINT_PROFILE = "import django; django.setup(); from django.conf import settings as s; print(s.DEBUG, s.ALLOWED_HOSTS)"


def _settings(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DJANGO_DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="riskops.settings")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)


def test_with_nothing_set_the_profile_is_production():
    result = _settings(PRINT_PROFILE, SECRET_KEY=PRODUCTION_SECRET)

    assert result.stdout.split(" ", 1) == ["False", "['127.0.0.1', 'localhost']\n"], result.stderr


def test_with_nothing_set_at_all_it_refuses_to_start_and_says_how_to_ask_for_development():
    result = _settings(PRINT_PROFILE)

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
    assert "DEBUG=true asks for development" in result.stderr


@pytest.mark.parametrize(("value", "debug"), [("true", "True"), ("false", "False"), ("", "False")])
def test_debug_is_true_or_false(value, debug):
    result = _settings(PRINT_PROFILE, DEBUG=value, SECRET_KEY=PRODUCTION_SECRET)

    assert result.stdout.split(" ", 1)[0] == debug, result.stderr


@pytest.mark.parametrize("value", ["1", "0", "yes", "no", "on", "off", "True", "FALSE", " true", "ture"])
def test_any_other_spelling_of_debug_stops_the_start_up_with_a_message(value):
    result = _settings(PRINT_PROFILE, DEBUG=value, SECRET_KEY=PRODUCTION_SECRET)

    assert result.returncode != 0 and result.stdout == ""
    assert f"DEBUG must be true (development) or false (production, the default), not {value!r}" in result.stderr


@pytest.mark.parametrize("value", ["0", "1", "false"])
def test_django_debug_is_refused_rather_than_silently_ignored(value):
    """The deploy the review found: DJANGO_DEBUG=0 meant to turn debug off."""
    result = _settings(PRINT_PROFILE, DJANGO_DEBUG=value, SECRET_KEY=PRODUCTION_SECRET)

    assert result.returncode != 0
    assert "DJANGO_DEBUG is not read: set DEBUG=true (development) or DEBUG=false" in result.stderr


def _make(tmp_path: Path, *targets: str) -> list[str]:
    """Run make targets with a stand-in Python that prints the profile it was started in.

    Prerequisites that would install or seed are taken as done (-o), so only each target's own
    commands run, each printing `DEBUG=<value>` instead of doing its work."""
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho "DEBUG=${DEBUG-unset}"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "MAKEFLAGS", "MAKELEVEL"}}
    done = [f"-o{name}" for name in (".venv/.installed", "messages", "install", "migrate", "seed", "recompute", "bootstrap")]
    result = subprocess.run(
        ["make", "-s", *done, *targets, f"PY={fake}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line.startswith("DEBUG=")]


def test_make_demo_test_and_serve_ask_for_the_development_profile(tmp_path):
    lines = _make(tmp_path, "test", "serve", "demo")

    assert len(lines) == 4  # pytest; runserver; collectstatic and runserver
    assert set(lines) == {"DEBUG=true"}


def test_make_check_deploy_stays_in_the_production_profile(tmp_path):
    # The first line is the stand-in answering the secret key's $(...); the second is the check.
    assert _make(tmp_path, "check-deploy")[-1] == "DEBUG=false"


def test_ci_runs_its_own_pytest_line_in_the_development_profile():
    lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "pytest" in line and not line.startswith("#")]

    assert lines and all(line.startswith("DEBUG=true ") for line in lines)


def test_the_demo_says_it_is_the_demo_on_every_page(client, settings):
    settings.DEBUG = True
    page = client.get(reverse("login")).content.decode()

    assert 'class="demo-banner"' in page and "Not for real customer data." in page


def test_the_production_profile_shows_no_demo_line(client, settings):
    settings.DEBUG = False

    assert 'class="demo-banner"' not in client.get(reverse("login")).content.decode()


def test_manage_py_without_a_profile_says_what_to_set_without_a_traceback(tmp_path):
    """A user's first `manage.py migrate` on a fresh machine, nothing set: a message, no traceback,
    nothing written."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/fresh.sqlite3"
    done = subprocess.run([sys.executable, "manage.py", "migrate"], cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "SECRET_KEY must be set" in done.stderr and "DEBUG=true" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "fresh.sqlite3").exists()

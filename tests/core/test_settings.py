"""Settings come from the environment; check them in a fresh interpreter so nothing leaks."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "DJANGO_DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="riskops.settings")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)


def test_defaults_are_sqlite_and_eager_celery():
    result = _run(
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER)",
        DEBUG="true",
    )
    # django-prometheus's wrapper of Django's SQLite backend (query metrics on /metrics).
    assert result.stdout.split() == ["django_prometheus.db.backends.sqlite3", "True"], result.stderr


def test_urls_switch_to_postgres_and_a_real_broker():
    result = _run(
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL)",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/anydb",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/3",
        DEBUG="true",
    )
    assert result.stdout.split() == ["django_prometheus.db.backends.postgresql", "anydb", "False", "redis://127.0.0.1:6379/3"], result.stderr


def test_database_metrics_can_be_turned_off():
    result = _run(
        "import django; django.setup(); from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'])",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/anydb", RISKOPS_DB_METRICS="false", DEBUG="true",
    )
    assert result.stdout.split() == ["django.db.backends.postgresql"], result.stderr


def test_production_profile_refuses_to_start_without_a_secret_key():
    result = _run("import django; django.setup()", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_profile_passes_check_deploy_with_no_warnings():
    result = _run(
        "import sys; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
        DEBUG="false",
        SECRET_KEY="k" * 20 + "-production-secret-with-enough-entropy-1234567890",
        ALLOWED_HOSTS="riskops.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_profile_serves_hashed_compressed_static_files_itself(tmp_path):
    """DEBUG off: collectstatic writes hashed, gzipped copies and WhiteNoise serves them (no CDN, no nginx)."""
    prod = dict(
        DEBUG="false",
        SECRET_KEY="k" * 20 + "-production-secret-with-enough-entropy-1234567890",
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    # Only the project's own static tree: compressing Plotly and the Swagger assets as well took
    # 114 s on a loaded machine, and what is tested here (hashed names, gzip, WhiteNoise serving
    # them) does not depend on how many files there are.
    collected = _run(
        "import django; django.setup(); from django.conf import settings; "
        "settings.STATICFILES_DIRS = [settings.BASE_DIR / 'static']; "
        "settings.STATICFILES_FINDERS = ['django.contrib.staticfiles.finders.FileSystemFinder']; "
        "from django.core.management import call_command; call_command('collectstatic', '--noinput', '-v0')",
        **prod,
    )
    assert sorted(p.name for p in (tmp_path / "static" / "css").glob("riskops.*.css")) != []
    assert not (tmp_path / "static" / "plotly").exists()
    assert collected.returncode == 0, collected.stderr
    result = _run(
        "import django; django.setup(); from django.test import Client; from django.templatetags.static import static; "
        "url = static('css/riskops.css'); r = Client().get(url, HTTP_ACCEPT_ENCODING='gzip'); "
        "print(url, r.status_code, r.headers.get('Content-Encoding'), r.headers.get('Cache-Control'))",
        **prod,
    )
    url, status, encoding, cache = result.stdout.split(" ", 3)
    assert re.fullmatch(r"/static/css/riskops\.[0-9a-f]{12}\.css", url), result.stdout + result.stderr
    assert (status, encoding) == ("200", "gzip")
    assert "immutable" in cache

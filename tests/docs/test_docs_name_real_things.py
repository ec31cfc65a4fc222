"""A reader's checks: what the documentation names exists, and what the code reads is documented.

- every `manage.py <command>` in the README or docs/ is a real management command;
- every environment variable the code reads (`os.environ`, `env_bool`, `env_list`) is in the
  configuration table of docs/operations.md, and every variable in that table is read somewhere;
- every URL path written in backticks (`/queue/`, `/api/v1/draw-checks/`, `/customers/<external_id>/`)
  resolves, with its placeholders filled in.
"""

import re
from pathlib import Path

import pytest
from django.core.management import get_commands
from django.urls import Resolver404, resolve

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
CODE_DIRS = ("riskops", "accounts", "decisions", "compliance", "api", "draws", "webhooks", "modelling", "synthetic", "scripts", "tests")
ENV_READ = re.compile(r"""(?:os\.environ(?:\.get)?\(\s*|os\.environ\[\s*|env_bool\(\s*|env_list\(\s*|getenv\(\s*)["']([A-Z][A-Z0-9_]+)["']""")
# Variables only the benchmark harness passes to its own locust subprocess, or that Django and
# the tools read themselves, are not settings of RiskOps.
NOT_SETTINGS = {"BENCH_TOKEN", "BENCH_CUSTOMERS", "BENCH_RATE", "BENCH_USERS", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def _text() -> str:
    return "\n".join(p.read_text() for p in DOCS)


def test_the_docs_are_found():
    assert len(DOCS) > 10 and "manage.py" in _text()


def test_every_command_the_docs_name_exists():
    named = set(re.findall(r"manage\.py ([a-z_]+)", _text()))
    assert {"seed_demo", "recompute", "outcomes", "verify_audit"} <= named
    assert named - set(get_commands()) == set()


def _read_in_code() -> set[str]:
    found = set()
    for folder in CODE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(ENV_READ.findall(path.read_text()))
    found |= set(ENV_READ.findall((ROOT / "gunicorn.conf.py").read_text()))
    return found - NOT_SETTINGS


def _documented() -> set[str]:
    table = (ROOT / "docs" / "operations.md").read_text()
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", table, flags=re.M))


def test_every_environment_variable_the_code_reads_is_documented():
    read = _read_in_code()
    assert {"DATABASE_URL", "SECRET_KEY"} & _documented() and "CELERY_BROKER_URL" in read
    assert read - _documented() == set()


def test_every_documented_variable_is_read_somewhere():
    # DATABASE_URL is read by dj-database-url itself (dj_database_url.config()).
    assert _documented() - _read_in_code() - {"DATABASE_URL"} == set()


PLACEHOLDERS = {
    "<external_id>": "C001-0000001", "<id>": "1", "<pk>": "1", "<int:pk>": "1", "<customer>": "C001-0000001", "<kind>": "transactions",
}
# Paths the docs name on purpose as prefixes or as examples of what is *not* served (the API's
# JSON 404, the slash redirect): each is checked for what the docs say about it instead.
PREFIXES = {"/api/", "/api/v1/"}
NOT_SERVED = {"/api/v1/nope/", "/api/v1/customers/X/decision/", "/api/v1/alerts", "/api/v1/transactions"}


def _paths() -> set[str]:
    paths = set()
    for match in re.findall(r"`((?:GET |POST |PATCH |PUT |DELETE )?/[a-z0-9_\-/<>:.]*)`", _text()):
        path = match.split(" ", 1)[-1]
        if path.startswith(("/usr/", "/etc/", "/tmp/", "/var/", "/work/", "/static/", "/dev/")) or path == "/":
            continue
        for placeholder, value in PLACEHOLDERS.items():
            path = path.replace(placeholder, value)
        paths.add(path)
    return paths


def test_every_url_the_docs_name_resolves():
    paths = _paths() - PREFIXES - NOT_SERVED
    assert {"/queue/", "/api/v1/draw-checks/"} <= paths
    unresolved = []
    for path in sorted(paths):
        if "<" in path:
            unresolved.append(path)
            continue
        try:
            match = resolve(path)
        except Resolver404:
            unresolved.append(path)
            continue
        if match.url_name == "not-found":  # the API's catch-all JSON 404
            unresolved.append(path)
    assert unresolved == []


def test_the_paths_named_as_not_served_are_not(client):
    for path in NOT_SERVED:
        response = client.get(path)
        assert response.status_code in (301, 404), path


@pytest.mark.parametrize("page", ["architecture.md", "contributing.md", "policy.md", "engine.md", "synthetic-book.md"])
def test_the_pages_a_newcomer_needs_are_there(page):
    assert (ROOT / "docs" / page).read_text().startswith("# ")


def test_every_file_the_docs_name_exists():
    named = set(re.findall(r"`((?:[a-z_][a-z0-9_.\-]*/)+[A-Za-z0-9_.\-]+\.(?:py|json|html|js|css|md|yml|po|txt))(?::[^`]*)?`", _text()))
    named |= {".importlinter"} if ".importlinter" in _text() else set()
    assert {"decisions/engine/rules.py", "synthetic/replay.py"} <= named
    # Paths from the repository's root (a top-level folder first); `services/triage.py` in a
    # sentence about one subpackage is relative to it, as its sentence says.
    top = {p.name for p in ROOT.iterdir() if p.is_dir()}
    rooted = {path for path in named if path.split("/", 1)[0] in top}
    missing = sorted(path for path in rooted if not (ROOT / path).exists() and not (ROOT / "docs" / path).exists())
    assert missing == []


def test_every_function_the_docs_point_at_is_in_its_file():
    # `path/to/file.py: name` (the architecture page's "where to find it", and elsewhere)
    pointers = set(re.findall(r"`((?:[a-z_]+/)+[a-z_]+\.py): ([A-Za-z_][A-Za-z0-9_]*)`", _text()))
    assert ("decisions/casework/services/triage.py", "case_next") in pointers
    missing = [(path, name) for path, name in sorted(pointers) if not re.search(rf"\b(def|class) {name}\b|^{name}(: [^=]+)? =", (ROOT / path).read_text(), re.M)]
    assert missing == []

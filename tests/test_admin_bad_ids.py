"""A mistyped or stale admin URL answers 404 (or Django's "doesn't exist" message), never a 500.

Walks every registered admin model's change, delete and history pages and every custom admin URL
that takes an object id (policy diff/simulate/request/approve/reject, the customer's reveal,
whatever an admin adds to `get_urls`), as a superuser, with ids that are not numbers, too long
for the column, or unknown.
"""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse

pytestmark = pytest.mark.django_db

BAD_IDS = ["abc", "1.5", "-1", "0", "999999999", "99999999999999999999999", "%20", "ä", "00000000-0000-0000-0000-000000000000"]
STANDARD_VIEWS = ["change", "delete", "history"]


@pytest.fixture
def superuser_client(make_user):
    client = Client(raise_request_exception=False)  # a 500 is an answer to check, not an exception
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def _model_admins():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def _admin_id(model_admin) -> str:
    return model_admin.model._meta.label_lower


def _custom_routes(model_admin) -> list[tuple[str, str]]:
    """(route, name) of the admin's own URLs that take an argument, beyond Django's standard ones."""
    standard = {f"{model_admin.model._meta.app_label}_{model_admin.model._meta.model_name}_{v}" for v in ("change", "delete", "history", "changelist", "add")}
    routes = []
    for pattern in model_admin.get_urls():
        if isinstance(pattern, URLResolver) or not isinstance(pattern, URLPattern):
            continue
        if pattern.name in standard or not pattern.pattern.converters:
            continue
        routes.append((str(pattern.pattern), pattern.name))
    return routes


def _bad_urls(model_admin, bad_id: str) -> list[str]:
    opts = model_admin.model._meta
    base = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    urls = [f"{base}{bad_id}/{view}/" for view in STANDARD_VIEWS]
    for route, _name in _custom_routes(model_admin):
        # The route with its id replaced by the bad one; a route whose converter refuses the id
        # (`<int:pk>` and "abc") is Django's own 404 before any view runs, which is fine too.
        path = route.split(">", 1)[1] if route.startswith("<") else route
        urls.append(f"{base}{bad_id}{path}")
    return urls


def test_the_walk_covers_the_custom_admin_urls():
    names = {name for _model, model_admin in _model_admins() for _route, name in _custom_routes(model_admin)}
    assert {"decisions_policyversion_diff", "decisions_policyversion_approve", "accounts_customer_reveal"} <= names


@pytest.mark.parametrize("model_admin", [ma for _m, ma in _model_admins()], ids=_admin_id)
def test_bad_ids_answer_404_or_a_message_never_500(superuser_client, model_admin):
    failures = []
    for bad_id in BAD_IDS:
        for url in _bad_urls(model_admin, bad_id):
            for method in ("get", "post"):
                response = getattr(superuser_client, method)(url)
                # 404, Django's "doesn't exist" message (a redirect within the admin), or a
                # refusal that does not depend on the object (403 on a view-only admin, 405)
                ok = response.status_code in (403, 404, 405) or (
                    response.status_code == 302 and response.url.startswith(reverse("admin:index"))
                )
                if not ok:
                    failures.append(f"{method.upper()} {url} -> {response.status_code}")
    assert not failures, "\n".join(failures)

"""Token authentication, scopes, staff sessions and the boundary between the API and staff pages."""

import hashlib

import pytest
from django.urls import path
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from api.authentication import ApiPrincipal, ApiTokenAuthentication
from api.models import ApiToken
from api.permissions import HasScope
from api.services import api_token_revoke
from riskops.core.models import AuditEvent

from .factories import ApiClientFactory, bearer, token_for

pytestmark = pytest.mark.django_db


class DrawLikeView(APIView):
    """The interface the draw-check engineer relies on."""

    required_scopes = ("draws:check",)
    permission_classes = [HasScope]
    authentication_classes = [ApiTokenAuthentication]

    def post(self, request):
        return Response({"client": request.user.client.name})


class ReadView(APIView):
    required_scopes = ("decisions:read",)

    def get(self, request):
        return Response({"ok": True})

    def post(self, request):
        return Response({"ok": True})


class NoScopeView(APIView):
    def get(self, request):
        return Response({"ok": True})


factory = APIRequestFactory()


def call(view, method="post", **extra):
    request = getattr(factory, method)("/x/", {}, format="json", **extra)
    return view.as_view()(request)


def test_token_stored_hashed_and_authenticates():
    client = ApiClientFactory(scopes=["draws:check"])
    token = token_for(client)
    row = ApiToken.objects.get(client=client)
    secret = token.split("_", 2)[2]
    assert token.startswith(f"rk_{row.prefix}_")
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(row.__dict__)
    response = call(DrawLikeView, **bearer(token))
    assert response.status_code == 200
    assert response.data == {"client": client.name}
    row.refresh_from_db()
    assert row.last_used_at is not None


def test_missing_scope_is_403_naming_it():
    token = token_for(ApiClientFactory(scopes=["events:write"]))
    response = call(DrawLikeView, **bearer(token))
    assert response.status_code == 403
    assert "draws:check" in str(response.data)


@pytest.mark.parametrize(
    "header", ["Bearer rk_deadbeef_nope", "Bearer garbage", "Bearer", "Bearer a b", "Bearer rk_x_y",
               # a prefix that is not lowercase hex never reaches the lookup (a NUL was a 500 on PostgreSQL)
               "Bearer rk_" + "\x00" * 8 + "_secret", "Bearer rk_DEADBEEF_secret", "Bearer rk_zzzzzzzz_secret"]
)
def test_bad_tokens_are_401(header):
    token_for(ApiClientFactory())
    response = call(DrawLikeView, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_wrong_secret_with_a_real_prefix_is_401():
    token = token_for(ApiClientFactory())
    response = call(DrawLikeView, **bearer(token[:-2] + "xx"))
    assert response.status_code == 401


def test_revoked_token_is_401_and_audited(risk_admin):
    client = ApiClientFactory()
    token = token_for(client)
    api_token_revoke(token=ApiToken.objects.get(client=client), actor=risk_admin)
    response = call(DrawLikeView, **bearer(token))
    assert response.status_code == 401
    assert "revoked" in str(response.data)
    assert AuditEvent.objects.filter(action="api_token.revoke").count() == 1
    # revoking again changes nothing and writes no second audit row
    api_token_revoke(token=ApiToken.objects.get(client=client), actor=risk_admin)
    assert AuditEvent.objects.filter(action="api_token.revoke").count() == 1


def test_inactive_client_is_401():
    client = ApiClientFactory(active=False)
    response = call(DrawLikeView, **bearer(token_for(client)))
    assert response.status_code == 401


def test_no_credentials_is_401():
    assert call(DrawLikeView).status_code == 401
    assert call(ReadView, method="get").status_code == 401


def test_staff_session_reads_but_never_writes(analyst):
    request = factory.get("/x/")
    request.user = analyst
    request._force_auth_user = analyst
    from rest_framework.test import force_authenticate

    force_authenticate(request, user=analyst)
    assert ReadView.as_view()(request).status_code == 200
    request = factory.post("/x/", {}, format="json")
    force_authenticate(request, user=analyst)
    assert ReadView.as_view()(request).status_code == 403


def test_staff_without_role_is_403(make_user):
    from rest_framework.test import force_authenticate

    nobody = make_user("nobody")
    request = factory.get("/x/")
    force_authenticate(request, user=nobody)
    assert ReadView.as_view()(request).status_code == 403


def test_view_without_scopes_is_closed():
    token = token_for(ApiClientFactory())
    assert call(NoScopeView, method="get", **bearer(token)).status_code == 403


def test_principal_has_no_staff_permissions():
    client = ApiClientFactory()
    principal = ApiPrincipal(client, None)
    assert not principal.has_perm("decisions.view_creditdecision")
    assert not principal.is_staff

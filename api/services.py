"""Writes to API clients and tokens: the admin calls these, and each one is audited."""

from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from riskops.core.audit import audit_record
from riskops.core.exceptions import ValidationFailed

from .models import ApiClient, ApiToken, Scope
from .tokens import token_generate


def _scopes(scopes: Any) -> list[str]:
    if not isinstance(scopes, (list, tuple)) or not all(isinstance(s, str) for s in scopes):
        raise ValidationFailed("must be a list of scope names", field="scopes")
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValidationFailed(f"unknown scope {unknown[0]!r}; known: {', '.join(Scope.values)}", field="scopes")
    return sorted(set(scopes))


def _rate(rate: str) -> str:
    try:
        count, duration = SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
    except (ValueError, KeyError, AttributeError, TypeError, IndexError):
        raise ValidationFailed("must look like 600/min (a count per second, minute, hour or day)", field="throttle_rate") from None
    if not count or count < 1:
        raise ValidationFailed("must allow at least one request", field="throttle_rate")
    return rate


def _snapshot(client: ApiClient) -> dict[str, Any]:
    return {"name": client.name, "scopes": client.scopes, "active": client.active, "throttle_rate": client.throttle_rate}


@transaction.atomic
def api_client_create(*, name: str, scopes: list[str], actor: Any, throttle_rate: str = "600/min", active: bool = True) -> ApiClient:
    """A new service client. Scopes must be known ones; the name is unique."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("is required", field="name")
    if ApiClient.objects.filter(name=name).exists():
        raise ValidationFailed("another client has this name", field="name")
    client = ApiClient.objects.create(
        name=name, scopes=_scopes(scopes), throttle_rate=_rate(throttle_rate), active=active, created_by=actor
    )
    audit_record(actor=actor, action="api_client.create", target=client, after=_snapshot(client))
    return client


@transaction.atomic
def api_client_update(*, client: ApiClient, actor: Any, **changes: Any) -> ApiClient:
    """Change a client's name, scopes, throttle rate or active flag. No change writes nothing."""
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    before = _snapshot(client)
    if "scopes" in changes:
        changes["scopes"] = _scopes(changes["scopes"])
    if "throttle_rate" in changes:
        changes["throttle_rate"] = _rate(changes["throttle_rate"])
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
        if not changes["name"]:
            raise ValidationFailed("is required", field="name")
        if ApiClient.objects.filter(name=changes["name"]).exclude(pk=client.pk).exists():
            raise ValidationFailed("another client has this name", field="name")
    unknown = set(changes) - {"name", "scopes", "throttle_rate", "active"}
    if unknown:
        raise ValidationFailed("cannot be changed", field=sorted(unknown)[0])
    for field, value in changes.items():
        setattr(client, field, value)
    after = _snapshot(client)
    if after == before:
        return client
    client.save(update_fields=list(changes))
    audit_record(actor=actor, action="api_client.update", target=client, before=before, after=after)
    return client


@transaction.atomic
def api_token_create(*, client: ApiClient, actor: Any) -> tuple[ApiToken, str]:
    """A new token for `client`: returns the row and the full token, which is shown once and
    never stored (only the SHA-256 of its secret is)."""
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    full, prefix, hashed = token_generate()
    token = ApiToken.objects.create(client=client, prefix=prefix, secret_hash=hashed, created_by=actor)
    audit_record(actor=actor, action="api_token.create", target=token, after={"client": client.name, "prefix": prefix})
    return token, full


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: Any) -> ApiToken:
    """Revoke a token: every later request with it is a 401. Revoking twice changes nothing."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor, action="api_token.revoke", target=token, before={"revoked_at": None},
        after={"client_id": token.client_id, "prefix": token.prefix, "revoked_at": token.revoked_at.isoformat()},
    )
    return token


DEMO_SERVICE_CLIENT = "svc-payments"


def demo_api_token() -> str:
    """The demo service client (every scope) with a fresh token: a token's secret is stored only
    as a hash, so each run makes a new one to print and revokes the earlier ones."""
    client = ApiClient.objects.filter(name=DEMO_SERVICE_CLIENT).first()
    if client is None:
        client = api_client_create(name=DEMO_SERVICE_CLIENT, scopes=list(Scope.values), actor=None)
    for old in client.tokens.filter(revoked_at__isnull=True):
        api_token_revoke(token=old, actor=None)
    _, secret = api_token_create(client=client, actor=None)
    return secret

"""Bearer-token authentication for service clients.

`Authorization: Bearer rk_<prefix>_<secret>`. The prefix finds the token (one indexed query,
joined to its client: api/selectors.py); the secret is compared by hash in constant time. A
revoked token or an inactive client is a 401. `request.user` is an `ApiPrincipal` (not a Django user: service
clients have no staff account and cannot log in), `request.auth` is the `ApiToken`.

Staff pages never look at this header: they authenticate with the session only, so a token
opens nothing outside /api/.
"""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .models import ApiClient, ApiToken
from .selectors import token_with_client
from .tokens import secret_matches, token_split

# last_used_at is written at most this often per token: a write per request would put a row
# lock on the hot path of every draw check.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiPrincipal:
    """Who is calling when a service token authenticated the request."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, client: ApiClient, token: ApiToken) -> None:
        self.client = client
        self.token = token
        self.username = f"api:{client.name}"

    def __str__(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj=None) -> bool:  # never a staff permission
        return False

    def has_perms(self, perms, obj=None) -> bool:
        return False

    @property
    def groups(self):  # role checks see no groups
        from django.contrib.auth.models import Group

        return Group.objects.none()


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiPrincipal, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # not ours: the session may still authenticate a staff reader
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("The Authorization header must be 'Bearer <token>'."))
        try:
            raw = header[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("The token is not valid.")) from None
        return self.authenticate_credentials(raw)

    def authenticate_credentials(self, raw: str) -> tuple[ApiPrincipal, ApiToken]:
        parts = token_split(raw)
        if parts is None:
            raise exceptions.AuthenticationFailed(_("The token is not valid."))
        prefix, secret = parts
        token = token_with_client(prefix)
        if token is None or not secret_matches(secret, token.secret_hash):
            raise exceptions.AuthenticationFailed(_("The token is not valid."))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("The token has been revoked."))
        if not token.client.active:
            raise exceptions.AuthenticationFailed(_("The client is disabled."))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return ApiPrincipal(token.client, token), token

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when no credentials were sent.
        return 'Bearer realm="api"'

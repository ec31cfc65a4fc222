"""Service clients, their tokens, and stored answers to idempotent writes.

A token is `rk_<prefix>_<secret>`: the prefix (public, unique) finds the row, and only the
SHA-256 of the secret is stored, so a copy of the database does not hand out working tokens. The
secret is shown once, when the token is created in the admin.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    EVENTS_WRITE = "events:write", _("Write events")
    CONSENTS_WRITE = "consents:write", _("Write consents and acknowledgements")
    DECISIONS_READ = "decisions:read", _("Read decisions")
    ALERTS_READ = "alerts:read", _("Read alerts")
    DRAWS_CHECK = "draws:check", _("Check draws")


class ApiClient(models.Model):
    """A system that calls the API (the payments platform, the loan system)."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    scopes = models.JSONField(_("scopes"), default=list, blank=True, help_text=_("A list of scope names."))
    active = models.BooleanField(_("active"), default=True)
    # DRF's rate syntax: "<count>/<second|minute|hour|day>".
    throttle_rate = models.CharField(_("throttle rate"), max_length=20, default="600/min", help_text=_("e.g. 600/min"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="api_client_name_not_blank")]

    def __str__(self) -> str:
        return self.name

    def has_scopes(self, scopes: "tuple[str, ...] | list[str]") -> bool:
        return set(scopes) <= set(self.scopes or [])


class ApiToken(models.Model):
    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, related_name="tokens", verbose_name=_("client"))
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(_("secret hash"), max_length=64, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"rk_{self.prefix}_…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """The stored answer to a write sent with an `Idempotency-Key` header, per client.

    The row is inserted in the write's own transaction, so it commits (or rolls back) with it,
    and the unique key makes a concurrent identical request wait on the first one's insert and
    then find its answer. Rows older than `API_IDEMPOTENCY_TTL` are deleted (lazily and by beat)."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+", verbose_name=_("client"))
    key = models.CharField(max_length=255, verbose_name=_("key"))
    method = models.CharField(max_length=10, verbose_name=_("method"))
    path = models.CharField(max_length=255, verbose_name=_("path"))
    request_hash = models.CharField(max_length=64, verbose_name=_("request hash"))
    status_code = models.PositiveSmallIntegerField(verbose_name=_("status code"))
    response_body = models.JSONField(default=dict, verbose_name=_("response body"))
    created_at = models.DateTimeField(db_index=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="api_idempotency_client_key_unique")]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.key}"

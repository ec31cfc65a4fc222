"""The token format: `rk_<prefix>_<secret>`. Only SHA-256(secret) is stored."""

import hashlib
import hmac
import re
import secrets

TOKEN_PREFIX = "rk_"
PREFIX_LENGTH = 8  # hex characters: the public part that finds the row
_HEX = re.compile(r"[0-9a-f]+")


def token_generate() -> tuple[str, str, str]:
    """A new (full token, prefix, secret hash). The full token is shown once and never stored."""
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    secret = secrets.token_urlsafe(32)
    return f"{TOKEN_PREFIX}{prefix}_{secret}", prefix, secret_hash(secret)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def token_split(token: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed token, else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    prefix, sep, secret = token[len(TOKEN_PREFIX):].partition("_")
    # The prefix is what token_generate makes (lowercase hex) or nothing: anything else (a NUL
    # among it, which PostgreSQL cannot even compare) never reaches the lookup.
    if not sep or len(prefix) != PREFIX_LENGTH or not _HEX.fullmatch(prefix) or not secret or len(secret) > 200:
        return None
    return prefix, secret


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(secret_hash(secret), stored_hash)

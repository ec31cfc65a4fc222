"""`Idempotency-Key` on every write.

The same key and the same body (per client) return the stored answer and write nothing again; the
same key with another body or another endpoint is a 409 naming the header. A key is kept for
`API_IDEMPOTENCY_TTL` (24 h): after that the same key is a new request. Expired records are
deleted lazily (when their key comes back) and hourly by beat (`api.tasks.idempotency_purge`).

Only successful answers are stored: the record is inserted in the write's own transaction, so an
error rolls both back and a retry with the same key runs again (nothing was written). Two
identical requests at once: the second one's insert waits on the unique (client, key) index until
the first commits, then finds the stored answer; it never runs the write a second time.
"""

import hashlib
import re
from datetime import timedelta
from typing import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from riskops.core.audit import canonical_json, normalise
from riskops.core.exceptions import Conflict, ValidationFailed

from .models import ApiClient, IdempotencyRecord

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, no spaces


def ttl() -> timedelta:
    return timedelta(seconds=getattr(settings, "API_IDEMPOTENCY_TTL", 24 * 3600))


def request_hash(request: Request) -> str:
    body = canonical_json({"method": request.method, "path": request.path, "body": request.data})
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def idempotent(request: Request, client: ApiClient | None, write: Callable[[], Response]) -> Response:
    """Run `write` (which calls one service and returns the response) under the request's
    Idempotency-Key, if it has one; a request without the header just runs."""
    key = request.headers.get(HEADER)
    if key is None or client is None:
        return write()
    if not _KEY.fullmatch(key):
        raise ValidationFailed("must be 1 to 255 visible ASCII characters", field=HEADER)
    digest = request_hash(request)  # parses the body first: malformed JSON is a 400, not a key conflict
    now = timezone.now()
    with transaction.atomic():
        IdempotencyRecord.objects.filter(client=client, key=key, created_at__lt=now - ttl()).delete()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    client=client, key=key, method=request.method, path=request.path[:255], request_hash=digest,
                    status_code=0, response_body={}, created_at=now,
                )
        except IntegrityError:
            stored = IdempotencyRecord.objects.filter(client=client, key=key).first()
            if stored is None:  # pragma: no cover - the other request rolled back between our insert and read
                raise Conflict("a request with this key is in progress; retry", field=HEADER) from None
            if stored.request_hash != digest:
                raise Conflict("this key was used with a different request body or endpoint", field=HEADER) from None
            replay = Response(stored.response_body, status=stored.status_code)
            replay["Idempotent-Replayed"] = "true"
            return replay
        response = write()
        record.status_code = response.status_code
        record.response_body = normalise(response.data)
        record.save(update_fields=["status_code", "response_body"])
    return response


def idempotency_purge(*, now=None) -> int:
    """Delete records past their TTL; returns how many."""
    now = now or timezone.now()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=now - ttl()).delete()
    return deleted

"""`/healthz` and `/readyz`: JSON for load balancers, orchestrators and monitoring.

`/healthz` says the process answers (no database, no broker: a liveness probe must not restart a
healthy process because PostgreSQL is down). `/readyz` runs the readiness checks
(riskops/core/health.py) and answers 200 or 503. Everyone gets `{"status": ...}`; the checks, their
details and the names of the failing ones go only to a monitoring token or network
(`may_see_details`), since they describe the inside of the system.

Plain Django views, outside the API's authentication and throttling, reachable without a login;
the production profile exempts both paths from the HTTPS redirect (SECURE_REDIRECT_EXEMPT) so a
probe over plain HTTP on the internal port gets its answer rather than a 301.
"""

from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from .health import may_see_details, readiness


@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_safe
def readyz(request):
    result = readiness(now=timezone.now())
    body: dict = {"status": "ok" if result.ok else "unavailable"}
    if may_see_details(authorization=request.headers.get("Authorization", ""), remote_addr=request.META.get("REMOTE_ADDR", "")):
        body["failing"] = result.failing
        body["checks"] = {check.name: {"ok": check.ok, "detail": check.detail, "ms": check.ms} for check in result.checks}
    return JsonResponse(body, status=200 if result.ok else 503)

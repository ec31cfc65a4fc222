"""`GET /metrics`: the Prometheus text format, for a monitoring token or network only.

The same protection as `/readyz`'s details (riskops/core/health.py `may_see_details`: a bearer
RISKOPS_MONITORING_TOKEN, or a client inside RISKOPS_MONITORING_NETWORKS); anyone else gets a
plain 404, so the path says nothing about the system to a stranger. The answer is two parts:

- the in-process metrics: django-prometheus's requests, latencies and database queries, and the
  domain's histograms and counters (riskops/core/metrics.py). Under gunicorn with
  PROMETHEUS_MULTIPROC_DIR set, summed over every worker process from that directory;
  otherwise this process's own.
- the gauges read from the database at this moment (riskops/monitoring/collector.py).
"""

from __future__ import annotations

import os

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from riskops.core.health import may_see_details

from .collector import DomainCollector


def _process_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


@require_safe
def metrics(request):
    if not may_see_details(authorization=request.headers.get("Authorization", ""), remote_addr=request.META.get("REMOTE_ADDR", "")):
        raise Http404
    domain = CollectorRegistry()
    domain.register(DomainCollector())
    body = generate_latest(_process_registry()) + generate_latest(domain)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)

from django.urls import path, re_path

from . import views
from .schema_views import SchemaDocsView, SchemaView

app_name = "api"

# The draw-check route (`api:draw-check`, in draws/api_views.py) is added in riskops/urls.py:
# draws builds on the API's framework (auth, idempotency, errors), so api never imports draws.
urlpatterns: list = [
    # ingestion: single events and batches of up to 1,000 (all or nothing)
    path("v1/transactions/", views.TransactionCreate.as_view(), name="transactions"),
    path("v1/transactions/batch/", views.TransactionBatchCreate.as_view(), name="transactions-batch"),
    path("v1/repayments/", views.RepaymentCreate.as_view(), name="repayments"),
    path("v1/repayments/batch/", views.RepaymentBatchCreate.as_view(), name="repayments-batch"),
    path("v1/credit-applications/", views.CreditApplicationCreate.as_view(), name="credit-applications"),
    path("v1/credit-applications/batch/", views.CreditApplicationBatchCreate.as_view(), name="credit-applications-batch"),
    path("v1/bureau-reports/", views.BureauReportCreate.as_view(), name="bureau-reports"),
    path("v1/bureau-reports/batch/", views.BureauReportBatchCreate.as_view(), name="bureau-reports-batch"),
    # consents and acknowledgements
    path("v1/consents/", views.ConsentGrant.as_view(), name="consent-grant"),
    path("v1/consents/withdraw/", views.ConsentWithdraw.as_view(), name="consent-withdraw"),
    path("v1/disclosure-acknowledgements/", views.AcknowledgementCreate.as_view(), name="acknowledgements"),
    # reads
    path("v1/customers/<str:external_id>/decision", views.CustomerDecision.as_view(), name="customer-decision"),
    path("v1/customers/<str:external_id>/decisions/", views.CustomerDecisionHistory.as_view(), name="customer-decisions"),
    path("v1/alerts/", views.OpenAlerts.as_view(), name="alerts"),
    # OpenAPI 3 schema and Swagger UI (assets from drf-spectacular-sidecar, served locally), for
    # staff and service clients unless API_SCHEMA_PUBLIC
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", SchemaDocsView.as_view(url_name="api:schema"), name="docs"),
    # Last: any other path under /api/ is a JSON 404, never the staff pages' HTML (the empty
    # pattern matches whatever follows, newlines included).
    re_path(r"", views.endpoint_not_found, name="not-found"),
]

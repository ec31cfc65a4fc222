from django.urls import path

app_name = "compliance"

urlpatterns: list = []

# Audit trail, verification and CSV exports (compliance/audit_views.py, compliance/export_views.py).
from . import audit_views, export_views  # noqa: E402

urlpatterns += [
    path("audit/", audit_views.AuditTrailView.as_view(), name="audit"),
    path("audit/verify/", audit_views.AuditVerifyView.as_view(), name="audit-verify"),
    path("audit/<int:pk>/", audit_views.AuditEventView.as_view(), name="audit-event"),
    path("exports/audit.csv", export_views.export_view("audit"), name="export-audit"),
    path("exports/consents.csv", export_views.export_view("consents"), name="export-consents"),
    path("exports/acknowledgements.csv", export_views.export_view("acknowledgements"), name="export-acknowledgements"),
    path("exports/decisions.csv", export_views.export_view("decisions"), name="export-decisions"),
    path("exports/notices.csv", export_views.export_view("notices"), name="export-notices"),
]

# Data-subject report (compliance/report_views.py).
from . import report_views  # noqa: E402

urlpatterns += [
    path("customers/<str:external_id>/report", report_views.SubjectReportView.as_view(), name="subject-report"),
    path("customers/<str:external_id>/report.json", report_views.SubjectReportJSONView.as_view(), name="subject-report-json"),
    path("reports/subject/", report_views.SubjectReportLookupView.as_view(), name="subject-report-lookup"),
]

# Landing page, consents, disclosures and customer notices (consent_views, disclosure_views, notice_views).
from . import consent_views, disclosure_views, notice_views  # noqa: E402

urlpatterns += [
    path("", consent_views.IndexView.as_view(), name="index"),
    path("consents/", consent_views.ConsentListView.as_view(), name="consents"),
    path("consents/<int:pk>/", consent_views.ConsentDetailView.as_view(), name="consent"),
    path("customers/<str:external_id>/consents/", consent_views.CustomerConsentsView.as_view(), name="customer-consents"),
    path("disclosures/", disclosure_views.DisclosureListView.as_view(), name="disclosures"),
    path("disclosures/<str:kind>/missing/", disclosure_views.MissingAcknowledgementView.as_view(), name="disclosure-missing"),
    path("notices/", notice_views.NoticeListView.as_view(), name="notices"),
]

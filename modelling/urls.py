"""The model pages, under /models/: scorecard validation reports and sign-off (report_views.py),
model health and drift (health_views.py), champion and challenger (challenger_views.py).

Each part adds its routes below in its own block."""

from django.urls import path  # noqa: F401  (used by the blocks below)

app_name = "modelling"

urlpatterns: list = []

# --- scorecard validation reports and sign-off (report_views.py) ---
from . import report_views  # noqa: E402

urlpatterns += [
    path("", report_views.ModelIndexView.as_view(), name="index"),
    path("policies/<int:version>/report/", report_views.ScorecardReportView.as_view(), name="report"),
    path("policies/<int:version>/report.json", report_views.ScorecardReportJSONView.as_view(), name="report-json"),
    path("policies/<int:version>/validate/", report_views.ScorecardValidateView.as_view(), name="validate"),
]
# --- end of scorecard reports ---

# --- model health and drift (health_views.py) ---
from . import health_views  # noqa: E402

urlpatterns += [
    path("health/", health_views.ModelHealthView.as_view(), name="health"),
    path("health/alerts/<int:pk>/acknowledge/", health_views.ModelAlertAcknowledgeView.as_view(), name="health-acknowledge"),
]
# --- end of model health ---

# --- champion and challenger (challenger_views.py) ---
from . import challenger_views  # noqa: E402

urlpatterns += [
    path("challenger/", challenger_views.ChallengerView.as_view(), name="challenger"),
    path("challenger/attach/", challenger_views.ChallengerAttachView.as_view(), name="challenger-attach"),
    path("challenger/detach/", challenger_views.ChallengerDetachView.as_view(), name="challenger-detach"),
]
# --- end of champion and challenger ---

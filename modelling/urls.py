"""The model pages, under /models/: scorecard validation reports and sign-off (report_views.py),
model health and drift (health_views.py), champion and challenger (challenger_views.py).

Each part adds its routes below in its own block."""

from django.urls import path  # noqa: F401  (used by the blocks below)

app_name = "modelling"

urlpatterns: list = []

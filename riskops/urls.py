from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language

from api.urls import urlpatterns as api_urlpatterns
from draws.api_views import DrawCheckView
from riskops.core import health_views
from riskops.core.login import RoleLoginView
from riskops.monitoring.views import metrics

# A refused page says which role it needs (riskops/core/forbidden.py), in the viewer's language.
handler403 = "riskops.core.forbidden.permission_denied"

admin.site.site_header = _("RiskOps administration")
admin.site.site_title = _("RiskOps admin")

urlpatterns = [
    # Probes (riskops/core/health_views.py): no login, no HTTPS redirect, JSON with 200/503.
    path("healthz", health_views.healthz, name="healthz"),
    path("readyz", health_views.readyz, name="readyz"),
    # Prometheus (riskops/monitoring/views.py): a monitoring token or network only, else a 404.
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("login/", RoleLoginView.as_view(), name="login"),  # lands each role on its home
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The language switch in the top bar POSTs here (CSRF); the choice is kept in a cookie.
    path("i18n/setlang/", set_language, name="set_language"),
    path("compliance/", include("compliance.urls")),
    # Scorecards: validation reports, model health, champion and challenger (modelling/urls.py).
    path("models/", include("modelling.urls")),
    # The service API under one namespace: the draw check (draws) first, then the api app's own
    # routes, whose last pattern answers any other /api/ path with a JSON 404.
    path("api/", include(([path("v1/draw-checks/", DrawCheckView.as_view(), name="draw-check"), *api_urlpatterns], "api"))),
    path("", include("decisions.urls")),
]

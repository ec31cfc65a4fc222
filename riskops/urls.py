from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import set_language

admin.site.site_header = "RiskOps administration"
admin.site.site_title = "RiskOps admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The language switch in the top bar POSTs here (CSRF); the choice is kept in a cookie.
    path("i18n/setlang/", set_language, name="set_language"),
    path("compliance/", include("compliance.urls")),
    path("api/", include("api.urls")),
    path("", include("decisions.urls")),
]

from django.urls import path

from draws.api_views import DrawCheckView

app_name = "api"

urlpatterns: list = [
    path("v1/draw-checks/", DrawCheckView.as_view(), name="draw-check"),
]

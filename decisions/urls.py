from django.urls import path

from . import views

app_name = "decisions"
urlpatterns = [
    path("", views.OverviewView.as_view(), name="overview"),
    path("customers/<str:external_id>/", views.CustomerProfileView.as_view(), name="customer"),
    path("runs/", views.RunListView.as_view(), name="runs"),
    path("runs/start/", views.RunStartView.as_view(), name="run-start"),
    path("runs/<int:pk>/progress/", views.RunProgressView.as_view(), name="run-progress"),
]

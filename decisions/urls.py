from django.urls import path

from .governance import override_views, policy_views, run_views
from .casework import queue_export, queue_views, search_views, views

app_name = "decisions"
urlpatterns = [
    path("", views.OverviewView.as_view(), name="overview"),
    path("customers/<str:external_id>/", views.CustomerProfileView.as_view(), name="customer"),
    # The header's customer search (decisions/casework/search_views.py): any customer, flagged or not.
    path("search/", search_views.CustomerSearchView.as_view(), name="customer-search"),
    path("runs/", run_views.RunListView.as_view(), name="runs"),
    path("runs/start/", run_views.RunStartView.as_view(), name="run-start"),
    path("runs/<int:pk>/progress/", run_views.RunProgressView.as_view(), name="run-progress"),
    # The flagged-account queue and triage actions (decisions/casework/queue_views.py); actions are POST.
    path("queue/", queue_views.QueueView.as_view(), name="queue"),
    path("queue/export.csv", queue_export.QueueExportView.as_view(), name="queue-export"),
    path("queue/dismiss/", queue_views.QueueDismissView.as_view(), name="queue-dismiss"),
    path("queue/next/", queue_views.QueueNextView.as_view(), name="queue-next"),
    path("queue/assign/", queue_views.QueueAssignView.as_view(), name="queue-assign"),
    path("alerts/<int:pk>/claim/", queue_views.AlertClaimView.as_view(), name="alert-claim"),
    path("alerts/<int:pk>/unassign/", queue_views.AlertUnassignView.as_view(), name="alert-unassign"),
    path("alerts/<int:pk>/assign/", queue_views.AlertAssignView.as_view(), name="alert-assign"),
    path("alerts/<int:pk>/dismiss/", queue_views.AlertDismissView.as_view(), name="alert-dismiss"),
    path("alerts/<int:pk>/confirm/", queue_views.AlertConfirmView.as_view(), name="alert-confirm"),
    path("customers/<str:external_id>/notes/", queue_views.NoteAddView.as_view(), name="note-add"),
    path("customers/<str:external_id>/recompute/", queue_views.CustomerRecomputeView.as_view(), name="customer-recompute"),
    # Policy simulations (decisions/governance/policy_views.py): the report of a draft scored on the book.
    path("policies/simulations/<int:pk>/", policy_views.SimulationView.as_view(), name="simulation"),
    path("policies/simulations/<int:pk>/progress/", policy_views.SimulationProgressView.as_view(), name="simulation-progress"),
    path("policies/simulations/<int:pk>/resume/", policy_views.SimulationResumeView.as_view(), name="simulation-resume"),
    # Manual overrides (decisions/governance/override_views.py): requested here, decided in the admin.
    path("customers/<str:external_id>/overrides/request/", override_views.OverrideRequestView.as_view(), name="override-request"),
]

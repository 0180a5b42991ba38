from django.urls import path

from investigations import views

app_name = "investigations"

urlpatterns = [
    path("hearings/", views.calendar, name="calendar"),
    path("case/<int:case_pk>/", views.overview, name="overview"),
    path("case/<int:case_pk>/suspects/", views.suspects, name="suspects"),
    path("case/<int:case_pk>/evidence/", views.evidence, name="evidence"),
    path("case/<int:case_pk>/evidence/<int:pk>/hand-over/", views.hand_over, name="hand_over"),
    path("case/<int:case_pk>/evidence/<int:pk>/download/", views.evidence_download, name="evidence_download"),
    path("case/<int:case_pk>/custody/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("case/<int:case_pk>/attachment/<int:pk>/download/", views.attachment_download, name="attachment_download"),
    path("case/<int:case_pk>/requests-abroad/", views.mla, name="mla"),
    path("case/<int:case_pk>/court/", views.court, name="court"),
    path("case/<int:case_pk>/court-dates/", views.court_dates, name="court_dates"),
    path("case/<int:case_pk>/court-file/", views.court_file, name="court_file"),
    path("case/<int:case_pk>/court-file/<int:pk>/status/", views.court_file_status, name="court_file_status"),
    path("case/<int:case_pk>/court-file/<int:pk>/download/", views.court_file_download, name="court_file_download"),
    path("case/<int:case_pk>/<slug:kind>/add/", views.add, name="add"),
    path("case/<int:case_pk>/<slug:kind>/<int:pk>/edit/", views.edit, name="edit"),
]

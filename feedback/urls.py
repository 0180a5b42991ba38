from django.urls import path

from feedback import views

app_name = "feedback"

urlpatterns = [
    path("", views.index, name="index"),
    path("record/", views.record, name="record"),
    path("tablet/new/", views.tablet_code, name="tablet_code"),
    path("tablet/", views.tablet, name="tablet"),
    path("results/", views.report, name="report"),
    path("results.csv", views.report_csv, name="report_csv"),
]

"""The statistics dashboard, the report builder and the programme indicators (issue #8)."""

from django.urls import path

from stats import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("builder/", views.builder_page, name="builder"),
    path("builder/export.<str:fmt>", views.builder_export, name="builder_export"),
    path("builder/runs/<int:pk>/", views.builder_run, name="builder_run"),
    path("builder/runs/<int:pk>/status/", views.builder_status, name="builder_status"),
    path("builder/runs/<int:pk>/download/", views.builder_download, name="builder_download"),
    path("indicators/", views.indicators, name="indicators"),
]

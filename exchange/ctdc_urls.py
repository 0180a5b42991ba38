"""The anonymised CTDC export for the regional network (issue #8)."""

from django.urls import path

from exchange import ctdc_views as views

urlpatterns = [
    path("ctdc/", views.ctdc_export, name="ctdc"),
    path("ctdc/download/", views.ctdc_download, name="ctdc_download"),
]

from django.urls import path

from exchange import views

urlpatterns = [
    path("", views.index, name="index"),
    path("htcds/import/", views.htcds_import, name="htcds_import"),
    path("htcds/import/<int:pk>/", views.htcds_import_status, name="htcds_import_status"),
    path("htcds/export/", views.htcds_export, name="htcds_export"),
    path("htcds/export/archive/<str:name>/", views.htcds_export_archive, name="htcds_export_archive"),
]

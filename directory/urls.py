from django.urls import path

from directory import views

app_name = "directory"

urlpatterns = [
    path("agencies/", views.agency_list, name="agency_list"),
    path("agencies/new/", views.agency_create, name="agency_create"),
    path("agencies/<int:pk>/edit/", views.agency_edit, name="agency_edit"),
    # The service directory and referral pathways (issue #5).
    path("services/", views.browse, name="browse"),
    path("services/print/", views.print_directory, name="print"),
    path("services/export.<str:fmt>", views.export, name="export"),
    path("services/import/", views.import_view, name="import"),
    path("services/<int:pk>/", views.provider_detail, name="provider_detail"),
    path("services/<int:pk>/edit/", views.provider_edit, name="provider_edit"),
    path("services/<int:pk>/capacity/", views.capacity, name="capacity"),
    path("services/<int:pk>/contacts/new/", views.contact_add, name="contact_add"),
    path("services/<int:pk>/contacts/<int:contact_pk>/edit/", views.contact_edit, name="contact_edit"),
    path("services/<int:pk>/contacts/<int:contact_pk>/remove/", views.contact_remove, name="contact_remove"),
    path("services/<int:pk>/terms/", views.terms_upload, name="terms_upload"),
    path("services/<int:pk>/terms/download/", views.terms_download, name="terms_download"),
    path("pathways/", views.pathway_list, name="pathway_list"),
    path("pathways/<str:need_type>/", views.pathway_edit, name="pathway_edit"),
    path(
        "pathways/<str:need_type>/steps/<int:step_pk>/<str:operation>/",
        views.pathway_step_change,
        name="pathway_step_change",
    ),
]

from django.urls import path

from directory import views

app_name = "directory"

urlpatterns = [
    path("agencies/", views.agency_list, name="agency_list"),
    path("agencies/new/", views.agency_create, name="agency_create"),
    path("agencies/<int:pk>/edit/", views.agency_edit, name="agency_edit"),
]

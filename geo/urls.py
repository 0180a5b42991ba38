from django.urls import path

from geo import views

app_name = "geo"

urlpatterns = [
    path("", views.map_page, name="map"),
    path("near/", views.near, name="near"),
    path("data/areas.json", views.areas_json, name="areas"),
    path("data/services.json", views.services_json, name="services"),
    path("data/incidents.json", views.incidents_json, name="incidents"),
    path("data/counts.json", views.counts_json, name="counts"),
]

"""Emerging patterns (issue #8): the page and the per-area flags for the map."""

from django.urls import path

from stats import patterns_views

urlpatterns = [
    path("patterns/", patterns_views.patterns_page, name="patterns"),
    path("patterns/areas.geojson", patterns_views.patterns_geojson, name="patterns_geojson"),
]

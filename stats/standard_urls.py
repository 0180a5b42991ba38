from django.urls import path

from stats import standard_views as views

urlpatterns = [
    path("standard/", views.standard, name="standard"),
    path("standard/<str:kind>.<str:fmt>", views.standard_download, name="standard_download"),
    path("population/", views.population, name="population"),
]

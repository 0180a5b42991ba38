from django.urls import path

from cases import people_views

app_name = "people"

urlpatterns = [path("search/", people_views.person_search, name="search")]

from django.urls import path

from cases import people_views

app_name = "people"

urlpatterns = [
    path("search/", people_views.person_search, name="search"),
    path("duplicates/", people_views.duplicate_list, name="duplicates"),
    path("merge/<int:a>/<int:b>/", people_views.merge_compare, name="merge"),
    path("merges/", people_views.merge_list, name="merges"),
    path("merges/<int:pk>/undo/", people_views.merge_undo, name="merge_undo"),
]

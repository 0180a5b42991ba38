from django.urls import path

from retention import access_views

app_name = "access"

urlpatterns = [
    path("", access_views.my_records, name="mine"),
    path("digests/", access_views.digest_list, name="digests"),
    path("digests/<int:pk>/", access_views.digest_detail, name="digest"),
]

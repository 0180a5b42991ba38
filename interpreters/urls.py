from django.urls import path

from interpreters import views

app_name = "interpreters"

urlpatterns = [
    path("", views.index, name="index"),
    path("add/", views.create, name="create"),
    path("regional.csv", views.regional_export, name="regional_export"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/book/", views.book, name="book"),
]

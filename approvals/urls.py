from django.urls import path

from approvals import views

app_name = "approvals"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/decide/<str:decision>/", views.decide, name="decide"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
]

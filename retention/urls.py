from django.urls import path

from retention import views

app_name = "retention"

urlpatterns = [
    path("", views.index, name="index"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("holds/place/", views.hold_place, name="hold_place"),
    path("holds/<int:pk>/lift/", views.hold_lift, name="hold_lift"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
]

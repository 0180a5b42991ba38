from django.urls import path

from alerts import rule_views

app_name = "alert_rules"

urlpatterns = [
    path("", rule_views.rule_list, name="list"),
    path("new/", rule_views.rule_create, name="create"),
    path("<int:pk>/edit/", rule_views.rule_edit, name="edit"),
]

from django.urls import path

from alerts import rule_views

app_name = "alert_rules"

urlpatterns = [path("", rule_views.rule_list, name="list")]

from django.urls import path

from care import views

app_name = "care"

urlpatterns = [
    path("case/<int:case_pk>/", views.case_care, name="case_care"),
    path("victim/<int:case_person_pk>/<slug:kind>/add/", views.add_record, name="add"),
    path("plan/<int:pk>/goal/add/", views.add_goal, name="goal_add"),
    path("goal/<int:pk>/action/add/", views.add_plan_action, name="action_add"),
    path("consent/<int:pk>/withdraw/", views.withdraw_consent, name="consent_withdraw"),
    path("<slug:kind>/<int:pk>/edit/", views.edit_record, name="edit"),
]

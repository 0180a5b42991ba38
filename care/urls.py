from django.urls import path

from care import views

app_name = "care"

urlpatterns = [path("case/<int:case_pk>/", views.case_care, name="case_care")]

from django.urls import path

from screening import views

app_name = "screening"

urlpatterns = [
    path("report/<int:report_pk>/", views.screen, name="screen"),
    path("<int:pk>/", views.screening_detail, name="screening_detail"),
    path("instruments/", views.instrument_list, name="instrument_list"),
]

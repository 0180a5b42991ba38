from django.urls import path

from prevention import views

app_name = "prevention"

urlpatterns = [
    path("", views.index, name="index"),
    path("events/new/", views.event_create, name="event_create"),
    path("courses/new/", views.course_create, name="course_create"),
    path("sessions/new/", views.session_create, name="session_create"),
    path("events/<int:pk>/edit/", views.event_edit, name="event_edit"),
    path("courses/<int:pk>/edit/", views.course_edit, name="course_edit"),
    path("sessions/<int:pk>/edit/", views.session_edit, name="session_edit"),
    path("sessions/<int:pk>/participants/<int:participant_pk>/edit/", views.participant_edit, name="participant_edit"),
    path(
        "sessions/<int:pk>/participants/<int:participant_pk>/remove/",
        views.participant_remove,
        name="participant_remove",
    ),
    path("sessions/<int:pk>/", views.session_detail, name="session_detail"),
    path("sessions/<int:pk>/participants/new/", views.participant_create, name="participant_create"),
    path("sessions/<int:pk>/participants/import/", views.participant_import, name="participant_import"),
    path("trainers/", views.certification_list, name="certification_list"),
    path("trainers/new/", views.certification_create, name="certification_create"),
    path("reports/", views.report_page, name="reports"),
    path("reports/export.csv", views.report_export, name="report_export"),
]

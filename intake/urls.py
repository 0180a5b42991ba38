from django.urls import path

from intake import views

app_name = "intake"

urlpatterns = [
    path("", views.report_list, name="report_list"),
    path("new/", views.report_create, name="report_create"),
    path("<int:pk>/", views.report_detail, name="report_detail"),
    path("<int:pk>/edit/", views.report_edit, name="report_edit"),
    path("<int:pk>/triage/", views.report_triage, name="report_triage"),
    path("<int:pk>/assign/", views.report_assign, name="report_assign"),
    path("<int:pk>/acknowledge/", views.report_acknowledge, name="report_acknowledge"),
    path("<int:pk>/close/", views.report_close, name="report_close"),
    path("<int:pk>/note/", views.report_note, name="report_note"),
    path("<int:pk>/link/", views.report_link, name="report_link"),
    path("<int:pk>/attachments/<int:attachment_pk>/", views.attachment_download, name="attachment_download"),
]

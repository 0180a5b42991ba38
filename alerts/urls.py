from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("badge/", views.badge, name="badge"),
    path("read-all/", views.mark_all_read, name="mark_all_read"),
    path("<int:pk>/open/", views.open_notification, name="open"),
    path("<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
]

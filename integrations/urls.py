from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("", views.index, name="index"),
    path("webhooks/new/", views.webhook_create, name="webhook_create"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:pk>/edit/", views.webhook_edit, name="webhook_edit"),
    path("webhooks/<int:pk>/deactivate/", views.webhook_deactivate, name="webhook_deactivate"),
    path("webhooks/<int:pk>/secret/", views.webhook_secret, name="webhook_secret"),
    path("webhooks/<int:pk>/test/", views.webhook_test, name="webhook_test"),
    path("primero/new/", views.primero_create, name="primero_create"),
    path("primero/<int:pk>/edit/", views.primero_edit, name="primero_edit"),
    path("primero/send/<int:referral_id>/", views.primero_send, name="primero_send"),
]

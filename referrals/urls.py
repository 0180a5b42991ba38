from django.urls import path

from referrals import views

app_name = "referrals"

urlpatterns = [
    path("", views.referral_list, name="referral_list"),
    path("new/<int:case_person_pk>/", views.referral_create, name="referral_create"),
    path("reports/", views.referral_reports, name="referral_reports"),
    path("<int:pk>/", views.referral_detail, name="referral_detail"),
    path("<int:pk>/send/", views.referral_send, name="referral_send"),
    path("<int:pk>/withdraw/", views.referral_withdraw, name="referral_withdraw"),
    path("<int:pk>/thread/", views.thread, name="thread"),
    path("<int:pk>/thread/post/", views.message_post, name="message_post"),
    path("<int:pk>/thread/<int:message_pk>/attachment/", views.attachment_download, name="attachment_download"),
    path("portal/", views.portal_list, name="portal_list"),
    path("portal/<int:pk>/", views.portal_detail, name="portal_detail"),
    path("portal/<int:pk>/update/", views.portal_update, name="portal_update"),
    path("portal/<int:pk>/service/", views.portal_service, name="portal_service"),
    path("portal/<int:pk>/<slug:action>/", views.portal_action, name="portal_action"),
]

from django.urls import path

from referrals import views

app_name = "referrals"

urlpatterns = [path("", views.referral_list, name="referral_list")]

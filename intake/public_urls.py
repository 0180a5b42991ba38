"""The anonymous public report form (issue #3): no login, English and Spanish. Views in intake/public.py."""

from django.urls import path

from intake import public

app_name = "public"

urlpatterns = [
    path("", public.report_form, name="report"),
    path("add/", public.add_information, name="add"),
]

from django.urls import include, path
from django.views.generic import RedirectView

from beacon import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("accounts/", include("accounts.urls")),
    path("directory/", include("directory.urls")),
    path("audit/", include("audit.urls")),
    path("notifications/", include("alerts.urls")),
    path("notifications/rules/", include("alerts.rule_urls")),
    path("reports/", include("intake.urls")),
    path("screening/", include("screening.urls")),
    path("cases/", include("cases.urls")),
    path("people/", include("cases.people_urls")),
    path("care/", include("care.urls")),
    path("referrals/", include("referrals.urls")),
    path("investigations/", include("investigations.urls")),
    path("map/", include("geo.urls")),
    path("prevention/", include("prevention.urls")),
    path("interpreters/", include("interpreters.urls")),
    path("feedback/", include("feedback.urls")),
    path("report/", include("intake.public_urls")),
    path("statistics/", include("stats.urls")),
    path("exchange/", include("exchange.urls")),
    path("api/", include("api.urls")),
    path("integrations/", include("integrations.urls")),
    path("cooperation/", include("cooperation.urls")),
    path("retention/", include("retention.urls")),
    path("access/", include("retention.access_urls")),
    path("approvals/", include("approvals.urls")),
    path("favicon.ico", RedirectView.as_view(url="/static/img/beacon.svg", permanent=True)),
]

handler400 = "beacon.errors.bad_request"
handler403 = "beacon.errors.permission_denied"
handler404 = "beacon.errors.page_not_found"
handler500 = "beacon.errors.server_error"

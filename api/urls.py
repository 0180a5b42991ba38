"""/api/: token pages, the OpenAPI schema and docs, and version 1 of the REST API (issue #9)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import SimpleRouter

from api import token_views, views
from api.authentication import BearerTokenAuthentication, VerifiedSessionAuthentication

app_name = "api"

router = SimpleRouter()
router.register("reports", views.ReportViewSet, basename="report")
router.register("cases", views.CaseViewSet, basename="case")
router.register("persons", views.PersonViewSet, basename="person")
router.register("referrals", views.UnitReferralViewSet, basename="referral")
router.register("provider/referrals", views.ProviderReferralViewSet, basename="provider-referral")
router.register("directory/agencies", views.AgencyViewSet, basename="agency")
router.register("directory/services", views.ServiceViewSet, basename="service")
router.register("investigations/charges", views.ChargeViewSet, basename="charge")
router.register("investigations/hearings", views.HearingViewSet, basename="hearing")

v1 = [
    *router.urls,
    path("statistics/", views.StatisticsView.as_view(), name="statistics"),
    path("statistics/measures/", views.StatisticsMeasuresView.as_view(), name="statistics-measures"),
]
# The API authenticates by token, not by session: Django's sign-in redirect must not answer for it (the view
# answers 401 itself), and the MFA middleware skips views that are not login-protected.
for pattern in v1:
    login_not_required(pattern.callback)


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 document, for a signed-in browser or any valid token (it holds no data)."""

    authentication_classes = [VerifiedSessionAuthentication, BearerTokenAuthentication]
    permission_classes = [IsAuthenticated]


class DocsView(SpectacularSwaggerSplitView):
    authentication_classes = [VerifiedSessionAuthentication]
    permission_classes = [IsAuthenticated]
    url_name = "api:schema"
    template_name = "api/swagger_ui.html"


urlpatterns = [
    path("tokens/", token_views.tokens, name="tokens"),
    path("tokens/service/", token_views.service_tokens, name="service_tokens"),
    path("tokens/<int:pk>/revoke/", token_views.revoke, name="revoke_token"),
    path("schema/", login_not_required(SchemaView.as_view()), name="schema"),
    path("docs/", DocsView.as_view(), name="docs"),
    path("v1/", include((v1, "v1"))),
]

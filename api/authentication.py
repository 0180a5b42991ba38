"""``Authorization: Bearer <token>`` (issue #9). The API accepts tokens only: no session cookies, so no CSRF
questions and no way for a page in a signed-in browser to call the API on the user's behalf."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from api import actions
from api.models import ApiToken


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _sep, raw = header.strip().partition(" ")
        if keyword.lower() != self.keyword.lower():
            return None
        parts = actions.split_token(raw.strip())
        # One answer for every failure: unknown, wrong secret, expired, revoked, deactivated account.
        failed = exceptions.AuthenticationFailed(_("Invalid, expired or revoked token."))
        if parts is None:
            raise failed
        prefix, secret = parts
        token = ApiToken.objects.usable().select_related("user", "user__agency").filter(prefix=prefix).first()
        if token is None or not actions.matches(token, secret):
            raise failed
        actions.touch(token)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A Beacon API token (bcn_...)."}


class VerifiedSessionAuthentication(authentication.SessionAuthentication):
    """For the schema and docs pages only: a signed-in browser session that passed two-factor verification (in
    demo mode, as the pages allow, one without a device)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        from django.conf import settings

        if user.is_verified() if hasattr(user, "is_verified") else False:
            return result
        return result if settings.DEMO_MODE and not user.totpdevice_set.filter(confirmed=True).exists() else None

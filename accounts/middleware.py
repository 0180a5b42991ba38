from __future__ import annotations

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import sessions
from accounts.models import UserSession
from audit import log as audit


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if getattr(request, "htmx", False) or request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        # A fragment polled from the very page it would send the browser to (the notifications badge on the
        # two-factor page) must not reload that page for ever (found by tests/test_journey.py).
        if urlsplit(request.headers.get("HX-Current-URL", "")).path != urlsplit(url).path:
            response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


class SessionLimitsMiddleware:
    """30-minute idle timeout and 12-hour absolute limit, enforced on the server (issue #2, ASVS 3.3)."""

    # Writing the session on every request is wasteful; a minute's precision on the idle clock is plenty.
    TOUCH_EVERY = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            auth_at = request.session.get(sessions.AUTH_AT)
            seen_at = request.session.get(sessions.SEEN_AT)
            expired = (
                auth_at is None
                or seen_at is None
                or now - seen_at > settings.SESSION_IDLE_TIMEOUT
                or now - auth_at > settings.SESSION_ABSOLUTE_TIMEOUT
            )
            if expired:
                key = request.session.session_key
                audit.record(
                    "auth.session_expired",
                    actor=user,
                    obj=user,
                    details={"reason": "absolute" if auth_at and now - auth_at > settings.SESSION_ABSOLUTE_TIMEOUT else "idle"},
                )
                UserSession.objects.filter(session_key=key).delete()
                logout(request)
                messages.info(request, _("Your session has ended. Please sign in again."))
                login_url = reverse(settings.LOGIN_URL)
                return _redirect(request, f"{login_url}?{urlencode({'next': request.get_full_path()})}")
            if now - seen_at > self.TOUCH_EVERY:
                request.session[sessions.SEEN_AT] = now
                UserSession.objects.filter(session_key=request.session.session_key).update(last_seen=timezone.now())
        return self.get_response(request)


def mfa_not_required(view_func):
    """Marks a view that a signed-in user may reach before completing MFA (the MFA pages themselves)."""
    view_func.mfa_required = False
    return view_func


class MFARequiredMiddleware:
    """Every signed-in page needs a verified second factor (issue #2): users without a device are sent to
    enrol, users with one to verify. ``make run``'s demo mode waives enrolment, never verification."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if not getattr(view_func, "login_required", True) or not getattr(view_func, "mfa_required", True):
            return None
        if not user.is_verified():
            if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
                return _redirect(request, reverse("accounts:mfa_verify"))
            if not settings.DEMO_MODE:
                return _redirect(request, reverse("accounts:mfa_setup"))
        if user.must_change_password and not getattr(view_func, "password_change_view", False):
            return _redirect(request, reverse("accounts:password_change"))
        return None


class UserLanguageMiddleware:
    """A signed-in user's chosen language wins over the browser's (they may share a desk computer)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.utils import translation

        user = getattr(request, "user", None)
        lang = getattr(user, "preferred_language", "") if user is not None and user.is_authenticated else ""
        if lang and lang in dict(settings.LANGUAGES):
            translation.activate(lang)
            request.LANGUAGE_CODE = lang
        return self.get_response(request)

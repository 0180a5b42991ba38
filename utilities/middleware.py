from __future__ import annotations

import uuid
from contextlib import ExitStack
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

from utilities import context


def client_ip(request: HttpRequest) -> str:
    """The client's address; with BEACON_TRUSTED_PROXY_COUNT=n, the n-th address from the right of XFF."""
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR", "")


class RequestContextMiddleware:
    """Gives every request an id (echoed as X-Request-ID) that ties together its audit rows and log lines, and
    the per-request memo (``utilities.context.memoized``, issue #11), emptied by any write and dropped at the
    end of the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        ctx = context.RequestContext(
            request_id=uuid.uuid4().hex,
            client_ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
        )
        request.request_id = ctx.request_id
        token = context.activate(ctx)
        try:
            with ExitStack() as stack:
                stack.enter_context(context.request_memo())
                for connection in connections.all():
                    stack.enter_context(connection.execute_wrapper(context.forget_on_write))
                response = self.get_response(request)
        finally:
            context.deactivate(token)
        response["X-Request-ID"] = ctx.request_id
        return response


class NoStoreMiddleware:
    """Pages seen by a signed-in user must not stay in shared or browser caches (ASVS 8.2.1)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        return response


def content_security_policy() -> str:
    """Beacon's policy (issue #10): scripts and styles only from Beacon's own static files, never inline.

    Images may also come from ``data:`` URIs (Bootstrap's icons in CSS) and from the map tile server when
    ``BEACON_TILE_URL`` names one. Styles that scripts set through the CSSOM (Leaflet, Bootstrap) are not
    ``style=""`` attributes and need no 'unsafe-inline'; htmx's own indicator <style> is switched off by the
    ``htmx-config`` meta tag in templates/base.html and its two rules live in static/css/beacon.css.
    """
    img = ["'self'", "data:"]
    tile_url = getattr(settings, "BEACON_TILE_URL", "")
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "a"))
        if parts.scheme in ("http", "https") and parts.netloc:
            host = parts.netloc
            if "{s}" in tile_url:  # OpenStreetMap-style subdomains a, b, c
                host = "*." + host.split(".", 1)[1] if "." in host else host
            img.append(f"{parts.scheme}://{host}")
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": " ".join(img),
        "font-src": "'self'",
        "connect-src": "'self'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
        "base-uri": "'none'",
        "object-src": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(self), payment=(), usb=()"


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response (issue #10, ASVS 3.4.3, 3.4.6).

    A view that sets a stricter policy of its own (the public report form) keeps it: the header is only
    added where it is missing. HSTS, nosniff, Referrer-Policy and COOP come from Django's SecurityMiddleware,
    X-Frame-Options from XFrameOptionsMiddleware (see docs/security.md).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        if "Permissions-Policy" not in response:
            response["Permissions-Policy"] = PERMISSIONS_POLICY
        return response

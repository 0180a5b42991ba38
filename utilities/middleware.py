from __future__ import annotations

import uuid

from django.conf import settings
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
    """Gives every request an id (echoed as X-Request-ID) that ties together its audit rows and log lines."""

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

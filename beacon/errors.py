"""Generic error pages: they never echo the URL, the exception or anything the request carried."""

from django.shortcuts import render
from django.views.decorators.csrf import requires_csrf_token


def _page(request, status: int):
    return render(request, "errors/error.html", {"status": status}, status=status)


@requires_csrf_token
def bad_request(request, exception=None):
    return _page(request, 400)


@requires_csrf_token
def permission_denied(request, exception=None):
    return _page(request, 403)


@requires_csrf_token
def page_not_found(request, exception=None):
    return _page(request, 404)


@requires_csrf_token
def server_error(request):
    return _page(request, 500)

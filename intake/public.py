"""The anonymous public report pages (issue #3): ``/report/`` to send a report, ``/report/add/`` to add to it.

No sign-in, English and Spanish, no JavaScript. What keeps the people who use them safe:

- the reporter's code is shown once, in the answer to the POST that created the report: never in a URL,
  a redirect or a cache (``Cache-Control: no-store``), and the code shows nothing back;
- "add information" answers the same whether or not the code exists;
- uploads stay in memory until they are stored encrypted (no plaintext temporary files) and are accepted
  by their content only;
- audit rows of public submissions keep no client address or browser, and the rate limit keeps only a keyed
  hash of the address, for one hour;
- a strict Content-Security-Policy: these pages load nothing but Beacon's own style sheets.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import os
from datetime import timedelta
from io import UnsupportedOperation

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.middleware import mfa_not_required
from intake import actions
from intake.models import PublicSubmissionThrottle
from intake.public_config import emergency_numbers
from intake.public_forms import HONEYPOT, MAX_FILES, PublicAdditionForm, PublicReportForm
from utilities.middleware import client_ip

# Room for the text fields and the multipart framing, on top of the files themselves.
FIELDS_ALLOWANCE = 256 * 1024
THROTTLE_WINDOW = timedelta(hours=1)
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"


def max_request_bytes() -> int:
    return MAX_FILES * settings.PUBLIC_FORM_MAX_FILE_BYTES + FIELDS_ALLOWANCE


# --- rate limit -------------------------------------------------------------------------------------


def address_hash(request: HttpRequest, scope: str) -> str:
    """Keyed hash of the client's address (its /64 for IPv6, which one subscriber usually holds whole)."""
    address = client_ip(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        bucket = address
    else:
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        bucket = str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address) if ip.version == 6 else str(ip)
    key = hashlib.sha256(b"beacon-public-throttle:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, f"{scope}:{bucket}".encode(), hashlib.sha256).hexdigest()


def _used(key: str) -> int:
    since = timezone.now() - THROTTLE_WINDOW
    return PublicSubmissionThrottle.objects.filter(address_hash=key, at__gte=since).count()


def over_limit(key: str) -> bool:
    return _used(key) >= settings.PUBLIC_FORM_MAX_PER_HOUR


@transaction.atomic
def take_submission(key: str) -> bool:
    """Counts one submission for ``key``; False (and nothing counted) when its hour is used up."""
    # Hashes older than the window serve no purpose; keep nothing about visitors longer than needed.
    PublicSubmissionThrottle.objects.filter(at__lt=timezone.now() - THROTTLE_WINDOW).delete()
    if over_limit(key):
        return False
    PublicSubmissionThrottle.objects.create(address_hash=key)
    return True


# --- request handling shared by the public pages ------------------------------------------------------


class InMemoryUploadHandler(MemoryFileUploadHandler):
    """Keeps uploads in memory whatever FILE_UPLOAD_MAX_MEMORY_SIZE says, so a survivor's photo never lands
    unencrypted in a temporary file. Memory stays bounded: larger requests are refused before parsing."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        stream = getattr(input_data, "_stream", input_data)
        try:
            content_length = stream.seek(0, os.SEEK_END)
        except (UnsupportedOperation, AttributeError):
            pass  # WSGI: the stream enforces Content-Length, which was checked
        else:
            stream.seek(0)
        self.activated = content_length is not None and content_length <= max_request_bytes()


def _context(**extra) -> dict:
    return {"emergency_numbers": emergency_numbers(), **extra}


def _problem(request: HttpRequest, problem: str, status: int) -> HttpResponse:
    return render(
        request,
        "intake/public_problem.html",
        _context(problem=problem, max_file_bytes=settings.PUBLIC_FORM_MAX_FILE_BYTES),
        status=status,
    )


def public_page(view):
    """No-store and a strict CSP on every answer; for POSTs, a size check before anything is parsed, uploads
    kept in memory and the CSRF check (still enforced: this only lets it run after the upload handlers are
    set, and answers a failure with a page a frightened visitor can understand)."""
    csrf = CsrfViewMiddleware(view)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "POST":
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > max_request_bytes():
                response = _problem(request, "too_big", status=413)
            else:
                request.upload_handlers = [InMemoryUploadHandler(request)]
                rejected = csrf.process_view(request, view, args, kwargs)
                response = (
                    _problem(request, "expired", status=403) if rejected is not None else view(request, *args, **kwargs)
                )
        else:
            response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response

    return csrf_exempt(wrapper)


def _too_many(request: HttpRequest) -> HttpResponse:
    response = render(request, "intake/public_limit.html", _context(), status=429)
    response["Retry-After"] = str(int(THROTTLE_WINDOW.total_seconds()))
    return response


# --- the pages --------------------------------------------------------------------------------------


def _done(request: HttpRequest, code: str) -> HttpResponse:
    # Rendered straight into the POST's answer: the code is never in a URL, a redirect or a session.
    return render(request, "intake/public_done.html", _context(code=code))


@login_not_required
@mfa_not_required
@public_page
@require_http_methods(["GET", "POST"])
def report_form(request: HttpRequest) -> HttpResponse:
    form = PublicReportForm()
    if request.method == "POST":
        key = address_hash(request, "report")
        if over_limit(key):
            return _too_many(request)
        if request.POST.get(HONEYPOT):
            # A bot: answer exactly as for a person, with a code that opens nothing, and store nothing.
            if not take_submission(key):
                return _too_many(request)
            return _done(request, actions.new_public_code())
        form = PublicReportForm(request.POST, request.FILES)
        if form.is_valid():
            if not take_submission(key):
                return _too_many(request)
            _report, code = actions.create_public_report(attachments=form.attachments(), **form.report_fields())
            return _done(request, code)
    return render(
        request,
        "intake/public_form.html",
        _context(form=form, max_file_bytes=settings.PUBLIC_FORM_MAX_FILE_BYTES),
    )


@login_not_required
@mfa_not_required
@public_page
@require_http_methods(["GET", "POST"])
def add_information(request: HttpRequest) -> HttpResponse:
    form = PublicAdditionForm()
    if request.method == "POST":
        key = address_hash(request, "add")
        if over_limit(key):
            return _too_many(request)
        form = PublicAdditionForm(request.POST, request.FILES)
        honeypot = bool(request.POST.get(HONEYPOT))
        if honeypot or form.is_valid():
            if not take_submission(key):
                return _too_many(request)
            if not honeypot:
                # The same answer whether or not the code matched a report (issue #3); the action audits both.
                actions.add_public_information(
                    form.cleaned_data["code"], text=form.cleaned_data["text"], attachments=form.attachments()
                )
            return render(request, "intake/public_add_done.html", _context())
    return render(
        request,
        "intake/public_add.html",
        _context(form=form, max_file_bytes=settings.PUBLIC_FORM_MAX_FILE_BYTES),
    )

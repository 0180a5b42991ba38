"""Access transparency pages (issue #10): "Who saw my records" for every user, and the weekly access digests
for holders of "retention.manage" (the Director, the system administrator)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from audit import log as audit
from retention.access import describe_reads, reads_of_my_records
from retention.models import AccessDigest

PAGE_SIZE = 50


def my_records(request: HttpRequest) -> HttpResponse:
    """Reads by other users of the cases the user owns and of the people on them."""
    page = Paginator(reads_of_my_records(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = describe_reads(page.object_list, request.user)
    audit.record("access.my_records_viewed", actor=request.user, details={"page": page.number, "shown": len(rows)})
    return render(request, "retention/my_records.html", {"page": page, "rows": rows})


def _require_manage(request: HttpRequest) -> None:
    if not request.user.has_perm("retention.manage"):
        raise PermissionDenied


def digest_list(request: HttpRequest) -> HttpResponse:
    _require_manage(request)
    page = Paginator(AccessDigest.objects.all(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "retention/digest_list.html", {"page": page})


def digest_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manage(request)
    digest = get_object_or_404(AccessDigest, pk=pk)
    audit.record("access.digest_viewed", actor=request.user, obj=digest)
    return render(request, "retention/digest_detail.html", {"digest": digest, "f": digest.findings})

"""Pages of the data exchange (issue #8): the index of exchange tools, the HTCDS import (with its background
job and progress bar) and the HTCDS export. The CTDC export's pages are exchange/ctdc*.py."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from exchange import actions, htcds
from exchange.forms import HTCDSExportForm, HTCDSImportForm
from exchange.models import ImportJob
from utilities.querysets import get_visible_or_404

EXCHANGE_PERMISSIONS = ("exchange.import_htcds", "exchange.export_htcds", "exchange.export_anonymised")


def _require(request: HttpRequest, code: str) -> None:
    if not request.user.has_perm(code):
        raise PermissionDenied


def index(request: HttpRequest) -> HttpResponse:
    allowed = {code.split(".")[1]: request.user.has_perm(code) for code in EXCHANGE_PERMISSIONS}
    if not any(allowed.values()):
        raise PermissionDenied
    try:
        ctdc_url = reverse("exchange:ctdc")
    except NoReverseMatch:  # the CTDC pages are built separately (exchange/ctdc_urls.py)
        ctdc_url = "/exchange/ctdc/"
    return render(request, "exchange/index.html", {"allowed": allowed, "ctdc_url": ctdc_url})


def htcds_import(request: HttpRequest) -> HttpResponse:
    _require(request, "exchange.import_htcds")
    form = HTCDSImportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data, fmt = form.cleaned_data["data"], form.cleaned_data["format"]
            background = len(data) > actions.SYNC_MAX_BYTES
            try:
                job = actions.queue_import(data, fmt, actor=request.user, background=background)
            except ValidationError as exc:
                form.add_error("upload", exc)
            else:
                if background:
                    messages.info(
                        request, _("The file is being imported in the background. This page shows its progress.")
                    )
                else:
                    actions.run_job(job.pk)
                return redirect("exchange:htcds_import_status", job.pk)
    jobs = ImportJob.objects.visible_to(request.user)[:10]
    context = {"form": form, "jobs": jobs, "columns": htcds.COLUMNS, "max_bytes": actions.MAX_BYTES}
    return render(request, "exchange/htcds_import.html", context, status=status)


def htcds_import_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's page; htmx polls it for the progress fragment while the job runs."""
    job = get_visible_or_404(ImportJob.objects, request.user, pk=pk)
    if request.headers.get("HX-Request"):
        return render(request, "exchange/_htcds_job.html", {"job": job})
    return render(request, "exchange/htcds_import_status.html", {"job": job})


def htcds_export(request: HttpRequest) -> HttpResponse:
    _require(request, "exchange.export_htcds")
    form = HTCDSExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fmt = form.cleaned_data["format"]
        rows, _count = actions.export_htcds(actor=request.user, fmt=fmt)
        stamp = timezone.localdate().isoformat()
        if fmt == "xlsx":
            response = HttpResponse(htcds.to_xlsx(rows), content_type=htcds.XLSX_MIME)
        else:
            response = StreamingHttpResponse(htcds.to_csv(rows), content_type=htcds.CSV_MIME)
        response["Content-Disposition"] = f'attachment; filename="beacon-htcds-{stamp}.{fmt}"'
        response["Cache-Control"] = "no-store"
        return response
    count = actions.export_links(request.user).count()
    return render(
        request,
        "exchange/htcds_export.html",
        {"form": form, "count": count},
        status=400 if request.method == "POST" else 200,
    )

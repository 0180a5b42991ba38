"""Pages of the data exchange (issue #8): the index of exchange tools, the HTCDS import (with its background
job and progress bar) and the HTCDS export. The CTDC export's pages are exchange/ctdc*.py."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from approvals import actions as approvals
from approvals.choices import Kind as ApprovalKind
from approvals.forms import RequestForm
from exchange import actions, htcds
from exchange.forms import HTCDSExportForm, HTCDSImportForm
from exchange.models import ImportJob
from utilities.querysets import get_visible_or_404

ARCHIVES_KEY = "exchange.htcds_archives"  # session: prepared archives awaiting their one download
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
    """Identifiable records leave the system only with a second person's approval (issue #10): the page asks
    for it with a reason; once approved, the requester prepares the export once: an AES-256 ZIP whose password
    this answer shows, apart from the file, which the requester downloads once (``htcds_export_archive``).
    ``manage.py export_htcds`` is not gated: it needs server access, a stronger control (docs/security.md)."""
    _require(request, "exchange.export_htcds")
    kind = ApprovalKind.BULK_EXPORT_HTCDS
    target = {"target_type": "exchange.htcds", "target_id": ""}
    form = HTCDSExportForm(request.POST or None)
    request_form = RequestForm(request.POST if request.POST.get("intent") == "request" else None)
    status = 200
    if request.method == "POST" and request.POST.get("intent") == "request":
        status = 400
        if request_form.is_valid():
            item = approvals.request_approval(
                kind, actor=request.user, reason=request_form.cleaned_data["reason"], **target
            )
            messages.success(
                request,
                _("Approval requested (%(ref)s). You will be notified of the decision.") % {"ref": item.reference},
            )
            return redirect("exchange:htcds_export")
    elif request.method == "POST" and form.is_valid():
        fmt = form.cleaned_data["format"]
        try:
            with transaction.atomic():
                approvals.consume(kind, actor=request.user, **target)
                archive = actions.export_htcds_archive(actor=request.user, fmt=fmt)
                name = actions.keep_archive(archive)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("exchange:htcds_export")
        kept = request.session.get(ARCHIVES_KEY, {})
        kept[name] = {"user": request.user.pk, "filename": archive.filename, "sha256": archive.sha256}
        request.session[ARCHIVES_KEY] = kept
        # The password is shown here, once, and kept nowhere: not in the session, the file name, the download
        # URL or the audit log (issue #10). Refreshing this page does not show it again (the approval is spent).
        context = {"archive": archive, "name": name, "password": archive.password}
        response = render(request, "exchange/htcds_export_ready.html", context)
        response["Cache-Control"] = "no-store"
        return response
    elif request.method == "POST":
        status = 400
    count = actions.export_links(request.user).count()
    context = {
        "form": form, "count": count, "request_form": request_form,
        "approved": approvals.usable(kind, actor=request.user, **target),
        "pending": approvals.pending(kind, actor=request.user, **target),
    }  # fmt: skip
    return render(request, "exchange/htcds_export.html", context, status=status)


@require_POST
def htcds_export_archive(request: HttpRequest, name: str) -> HttpResponse:
    """The prepared archive, once, to the requester's own session only (404 for anyone else, and the second
    time). A POST, so a link prefetch or another site's GET cannot spend it."""
    _require(request, "exchange.export_htcds")
    kept = request.session.get(ARCHIVES_KEY, {})
    entry = kept.get(name)
    if entry is None or entry.get("user") != request.user.pk:
        raise Http404
    del kept[name]
    request.session[ARCHIVES_KEY] = kept
    content = actions.take_archive(name, actor=request.user, sha256=entry["sha256"])
    if content is None:
        raise Http404
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{entry["filename"]}"'
    response["Cache-Control"] = "no-store"
    return response

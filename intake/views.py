from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audit import log as audit
from intake import actions, workflow
from intake.choices import Exploitation, Status
from intake.duplicates import find_duplicates
from intake.forms import AssignForm, CloseForm, LinkForm, NoteForm, ReportFilterForm, ReportForm, TriageForm
from intake.models import Report
from utilities.forms import VersionedForm as VersionForm
from utilities.querysets import get_visible_or_404
from utilities.storage import read_encrypted

INTAKE_PERMS = ("intake.create_report", "intake.view_all_reports", "screening.screen", "screening.screen_any")


def _require_intake_role(user) -> None:
    if not any(user.has_perm(p) for p in INTAKE_PERMS):
        raise PermissionDenied


def report_list(request: HttpRequest) -> HttpResponse:
    _require_intake_role(request.user)
    reports = Report.objects.visible_to(request.user).select_related("assignee")
    form = ReportFilterForm(request.GET or None)
    used = []
    status = ""
    if form.is_valid():
        data = form.cleaned_data
        status = data["status"]
        if data["channel"]:
            reports = reports.filter(channel=data["channel"])
        if data["urgency"]:
            reports = reports.filter(urgency=data["urgency"])
        if data["assigned"] == "me":
            reports = reports.filter(assignee=request.user)
        elif data["assigned"] == "none":
            reports = reports.filter(assignee__isnull=True)
        if data["overdue"]:
            now = timezone.now()
            reports = reports.filter(
                Q(status=Status.ASSIGNED, acknowledged_at__isnull=True, ack_due_at__lt=now)
                | Q(status__in=[Status.ASSIGNED, Status.UNDER_SCREENING], screening_due_at__lt=now)
            )
        if data["ref"]:
            reports = reports.filter(reference__iexact=data["ref"].strip())
        used = sorted(k for k, v in data.items() if v)
    if status == "all":
        pass
    elif status:
        reports = reports.filter(status=status)
    else:
        reports = reports.filter(status__in=workflow.OPEN)
    page = Paginator(reports.order_by("priority", "-received_at", "-id"), 50).get_page(request.GET.get("page"))
    # Lists of reports are searches over sensitive records: audited with the filter names (issue #2).
    audit.record("intake.report_list", actor=request.user, details={"filters": used, "page": page.number, "shown": len(page.object_list)})
    return render(request, "intake/report_list.html", {"page": page, "form": form, "now": timezone.now(), "can_create": request.user.has_perm("intake.create_report")})


def report_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("intake.create_report"):
        raise PermissionDenied
    form = ReportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            report = actions.create_report(actor=request.user, **form.report_fields())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Report %(ref)s recorded. The Director and the Head of Investigations have been alerted.") % {"ref": report.reference})
            return redirect(report)
    return render(request, "intake/report_form.html", {"form": form, "report": None})


def report_edit(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_visible_or_404(Report.objects.all(), request.user, "change", pk=pk)
    form = ReportForm(request.POST or None, instance=Report.objects.get(pk=report.pk), initial={"version": report.version})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_report(report, actor=request.user, version=form.cleaned_data["version"] or 0, **form.report_fields())
        except ValidationError as exc:
            form.add_error(None, exc)
            status = 409 if getattr(exc, "code", "") == "stale" else 200
        else:
            messages.success(request, _("Changes saved."))
            return redirect(report)
    return render(request, "intake/report_form.html", {"form": form, "report": report}, status=status)


def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_visible_or_404(Report.objects.select_related("assignee", "triaged_by", "referring_agency"), request.user, pk=pk)
    user = request.user
    audit.record("intake.report_viewed", actor=user, obj=report)
    can = {
        action: Report.objects.visible_to(user, action).filter(pk=report.pk).exists() and workflow.allowed(report, action)
        for action in ("triage", "assign", "acknowledge", "screen", "close")
    }
    can["close"] = can["close"] and user.has_perm("intake.triage")
    can["edit"] = Report.objects.visible_to(user, "change").filter(pk=report.pk).exists() and report.status in workflow.OPEN
    can["link"] = Report.objects.visible_to(user, "triage").filter(pk=report.pk).exists()
    duplicates = find_duplicates(report, Report.objects.visible_to(user)) if can["link"] else []
    links = Report.objects.visible_to(user).filter(Q(links_from__other=report) | Q(links_to__report=report)).distinct()
    screenings = report.screenings.select_related("screened_by").prefetch_related("decision")
    context = {
        "report": report,
        "can": can,
        "duplicates": duplicates,
        "links": links,
        "screenings": screenings,
        "cases": report.cases.all(),
        "additions": report.additions.select_related("created_by"),
        "attachments": report.attachments.all(),
        "triage_form": TriageForm(initial={"priority": report.priority or 3, "urgency": report.urgency, "version": report.version}),
        "assign_form": AssignForm(initial={"investigator": report.assignee_id, "version": report.version}),
        "close_form": CloseForm(initial={"version": report.version}),
        "note_form": NoteForm(),
        "now": timezone.now(),
        "exploitation_labels": [str(dict(Exploitation.choices).get(code, code)) for code in report.exploitation],
        **_route(report),
    }
    return render(request, "intake/report_detail.html", context)


ROUTE = [Status.RECEIVED, Status.TRIAGED, Status.ASSIGNED, Status.UNDER_SCREENING, Status.DECIDED, Status.CASE_OPENED]


def _route(report: Report) -> dict:
    codes = [s.value for s in ROUTE]
    steps = [(s.value, s.label) for s in ROUTE]
    if report.status == Status.CLOSED:
        steps.append((Status.CLOSED.value, Status.CLOSED.label))
        done = set(codes)
    else:
        index = codes.index(report.status) if report.status in codes else 0
        done = set(codes[:index])
    return {"route": steps, "done": done}


def _post_action(request: HttpRequest, pk: int, form_class, run) -> HttpResponse:
    report = get_visible_or_404(Report.objects.all(), request.user, pk=pk)
    form = form_class(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(report)
    try:
        message = run(report, form.cleaned_data)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return redirect(report)
    messages.success(request, message)
    return redirect(report)


@require_POST
def report_triage(request: HttpRequest, pk: int) -> HttpResponse:
    def run(report, data):
        actions.triage_report(report, actor=request.user, version=data["version"], priority=data["priority"], urgency=data["urgency"], screening_due_at=data["screening_due_at"])
        return _("Report triaged.")

    return _post_action(request, pk, TriageForm, run)


@require_POST
def report_assign(request: HttpRequest, pk: int) -> HttpResponse:
    def run(report, data):
        actions.assign_report(report, actor=request.user, version=data["version"], investigator=data["investigator"])
        return _("Report assigned to %(user)s, who has been alerted.") % {"user": data["investigator"].display_name}

    return _post_action(request, pk, AssignForm, run)


@require_POST
def report_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    def run(report, data):
        actions.acknowledge_report(report, actor=request.user, version=data["version"])
        return _("Acknowledged. The report is now under screening.")

    return _post_action(request, pk, VersionForm, run)


@require_POST
def report_close(request: HttpRequest, pk: int) -> HttpResponse:
    def run(report, data):
        actions.close_report(report, actor=request.user, version=data["version"], reason=data["reason"])
        return _("Report closed.")

    return _post_action(request, pk, CloseForm, run)


@require_POST
def report_note(request: HttpRequest, pk: int) -> HttpResponse:
    def run(report, data):
        actions.add_note(report, actor=request.user, text=data["text"])
        return _("Note added.")

    return _post_action(request, pk, NoteForm, run)


@require_POST
def report_link(request: HttpRequest, pk: int) -> HttpResponse:
    def run(report, data):
        other = get_visible_or_404(Report.objects.all(), request.user, "triage", pk=data["other"])
        actions.link_reports(report, other, actor=request.user)
        return _("Reports linked.")

    return _post_action(request, pk, LinkForm, run)


def attachment_download(request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    report = get_visible_or_404(Report.objects.all(), request.user, pk=pk)
    attachment = report.attachments.filter(pk=attachment_pk).first()
    if attachment is None:
        raise Http404
    data = read_encrypted("attachments", attachment.stored_name)
    audit.record("intake.attachment_downloaded", actor=request.user, obj=report, details={"attachment_id": attachment.pk})
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{report.reference}-{attachment.pk}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response

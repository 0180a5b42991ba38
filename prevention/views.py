"""Prevention pages (issue #13). Recording needs prevention.record, the reports prevention.view_reports;
others get 403. Participants' names appear only to users with prevention.record."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audit import log as audit
from prevention import actions, exchange, reports
from prevention.forms import (
    CertificationForm,
    CourseForm,
    ImportForm,
    OutreachEventForm,
    ParticipantForm,
    SessionForm,
    with_version,
)
from prevention.models import Course, OutreachEvent, Participant, TrainerCertification, TrainingSession
from utilities.locking import is_stale

RECORD, REPORTS = "prevention.record", "prevention.view_reports"


def _require(request: HttpRequest, *codes: str) -> None:
    if not any(request.user.has_perm(code) for code in codes):
        raise PermissionDenied


def _form_page(request, form, *, title, back, multipart=False, errors=None, status=200):
    return render(
        request, "prevention/form_page.html",
        {"form": form, "title": title, "back": back, "multipart": multipart, "row_errors": errors},
        status=status,
    )  # fmt: skip


def _save(request, form, action, *, title, back, success, m2m=()):
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            obj = action(actor=request.user, **data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, success)
            return obj
    return _form_page(request, form, title=title, back=back)


def index(request: HttpRequest) -> HttpResponse:
    _require(request, RECORD, REPORTS)
    can_record = request.user.has_perm(RECORD)
    return render(request, "prevention/index.html", {
        "events": OutreachEvent.objects.prefetch_related("partners")[:50],
        "sessions": TrainingSession.objects.select_related("course")[:50],
        "courses": Course.objects.all(),
        "can_record": can_record,
        "can_report": request.user.has_perm(REPORTS),
    })  # fmt: skip


def _created(request, form, action, *, title, success, next_url):
    back = reverse("prevention:index")
    result = _save(request, form, action, title=title, back=back, success=success)
    if isinstance(result, HttpResponse):
        return result
    return redirect(next_url(result) if callable(next_url) else next_url)


def event_create(request: HttpRequest) -> HttpResponse:
    _require(request, RECORD)
    return _created(
        request, OutreachEventForm(request.POST or None), actions.record_outreach_event,
        title=_("New outreach event"), success=_("Outreach event recorded."), next_url=reverse("prevention:index"),
    )  # fmt: skip


def course_create(request: HttpRequest) -> HttpResponse:
    _require(request, RECORD)
    return _created(
        request, CourseForm(request.POST or None), actions.create_course,
        title=_("New course"), success=_("Course created."), next_url=reverse("prevention:index"),
    )  # fmt: skip


def session_create(request: HttpRequest) -> HttpResponse:
    _require(request, RECORD)
    return _created(
        request, SessionForm(request.POST or None), actions.record_session,
        title=_("New training session"), success=_("Training session recorded."),
        next_url=lambda s: reverse("prevention:session_detail", args=[s.pk]),
    )  # fmt: skip


def _session(pk: int) -> TrainingSession:
    session = TrainingSession.objects.select_related("course").filter(pk=pk).first()
    if session is None:
        raise Http404
    return session


def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # Names of trainees are personal data: only recorders open a session's participant list.
    _require(request, RECORD)
    session = _session(pk)
    return render(request, "prevention/session_detail.html", {
        "session": session,
        "participants": session.participants.select_related("agency"),
        "facilitators": session.facilitators.all(),
    })  # fmt: skip


def participant_create(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, RECORD)
    session = _session(pk)
    back = reverse("prevention:session_detail", args=[session.pk])
    form = ParticipantForm(request.POST or None)
    result = _save(
        request, form, lambda **kw: actions.add_participant(session=session, **kw),
        title=_("Add a participant"), back=back, success=_("Participant added."),
    )  # fmt: skip
    return result if isinstance(result, HttpResponse) else redirect(back)


def participant_import(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, RECORD)
    session = _session(pk)
    back = reverse("prevention:session_detail", args=[session.pk])
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["upload"]
        try:
            summary = exchange.import_participants(session, upload, upload.name, actor=request.user)
        except exchange.ImportRefused as refused:
            return _form_page(
                request, form, title=_("Import participants"), back=back, multipart=True, errors=refused.errors,
                status=400,
            )  # fmt: skip
        messages.success(request, _("%(rows)d participants imported.") % summary)
        return redirect(back)
    return _form_page(request, form, title=_("Import participants"), back=back, multipart=True)


def _get(model, pk: int, **filters):
    obj = model.objects.filter(pk=pk, **filters).first()
    if obj is None:
        raise Http404
    return obj


def _edited(request, obj, form_class, action, *, title, success, back):
    """Edit ``obj`` through ``form_class`` carrying the version it was loaded at; a stale save answers 409."""
    form = with_version(form_class)(request.POST or None, instance=obj, initial={"version": obj.version})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version") or 0
        try:
            action(_get(type(obj), obj.pk), actor=request.user, version=version, **data)
        except ValidationError as exc:
            form.add_error(None, exc)
            return _form_page(request, form, title=title, back=back, status=409 if is_stale(exc) else 200)
        messages.success(request, success)
        return redirect(back)
    return _form_page(request, form, title=title, back=back)


def event_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, RECORD)
    return _edited(
        request, _get(OutreachEvent, pk), OutreachEventForm, actions.update_event,
        title=_("Edit outreach event"), success=_("Outreach event saved."), back=reverse("prevention:index"),
    )  # fmt: skip


def course_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, RECORD)
    return _edited(
        request, _get(Course, pk), CourseForm, actions.update_course,
        title=_("Edit course"), success=_("Course saved."), back=reverse("prevention:index"),
    )  # fmt: skip


def session_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, RECORD)
    return _edited(
        request, _get(TrainingSession, pk), SessionForm, actions.update_session,
        title=_("Edit training session"), success=_("Training session saved."),
        back=reverse("prevention:session_detail", args=[pk]),
    )  # fmt: skip


def participant_edit(request: HttpRequest, pk: int, participant_pk: int) -> HttpResponse:
    _require(request, RECORD)
    return _edited(
        request, _get(Participant, participant_pk, session_id=pk), ParticipantForm, actions.update_participant,
        title=_("Edit participant"), success=_("Participant saved."),
        back=reverse("prevention:session_detail", args=[pk]),
    )  # fmt: skip


@require_POST
def participant_remove(request: HttpRequest, pk: int, participant_pk: int) -> HttpResponse:
    _require(request, RECORD)
    participant = _get(Participant, participant_pk, session_id=pk)
    back = reverse("prevention:session_detail", args=[pk])
    try:
        actions.remove_participant(participant, actor=request.user, version=int(request.POST.get("version") or 0))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        if is_stale(exc):
            response = session_detail(request, pk)
            response.status_code = 409
            return response
        return redirect(back)
    messages.success(request, _("Participant removed."))
    return redirect(back)


def certification_list(request: HttpRequest) -> HttpResponse:
    _require(request, RECORD)
    today = timezone.localdate()
    rows = [
        {"certification": c, "expired": c.is_expired(today)}
        for c in TrainerCertification.objects.select_related("user", "participant")
    ]
    return render(request, "prevention/certification_list.html", {"rows": rows, "today": today})


def certification_create(request: HttpRequest) -> HttpResponse:
    _require(request, RECORD)
    back = reverse("prevention:certification_list")
    result = _save(
        request, CertificationForm(request.POST or None), actions.certify_trainer,
        title=_("Certify a trainer"), back=back, success=_("Certification recorded."),
    )  # fmt: skip
    return result if isinstance(result, HttpResponse) else redirect(back)


def report_page(request: HttpRequest) -> HttpResponse:
    _require(request, REPORTS)
    audit.record("prevention.reports_viewed", actor=request.user)
    reach = reports.people_reached()
    agency_types = reports.participants_by_agency_type()
    courses = reports.course_results()
    return render(request, "prevention/reports.html", {
        "reach": reach,
        "agency_types": agency_types,
        "courses": courses,
        "month_bars": [{"label": m["month"], "value": m["reached"], "bar": m["bar"]} for m in reach["months"]],
        "agency_bars": [
            {"label": r["label"], "value": r["total"], "bar": r["bar"]} for r in agency_types
        ],
        "course_bars": [
            {"label": r["course"], "value": r["improvement"], "bar": r["bar"]}
            for r in courses if r["improvement"] is not None
        ],
    })  # fmt: skip


def report_export(request: HttpRequest) -> StreamingHttpResponse:
    _require(request, REPORTS)
    tables = reports.report_tables()
    with transaction.atomic():
        audit.record(
            "prevention.reports_exported", actor=request.user, object_type="prevention.report",
            details={"format": "csv", "tables": len(tables), "rows": sum(len(t) - 1 for t in tables.values())},
        )  # fmt: skip
    response = StreamingHttpResponse(exchange.export_csv(tables), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="prevention-{timezone.localdate():%Y-%m-%d}.csv"'
    return response

"""Investigation pages (issue #6). Who sees them: leadership and the case team with full access (owner,
investigator, suspect handler). Anyone else, including the case's care officers, gets 404 as if there were
no investigation; care officers have the "Court dates" page of their survivor's case and the hearings
calendar. Every read is audited; every write goes through ``investigations.actions``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from audit import log as audit
from cases.choices import PersonRole
from cases.models import Case, CasePerson
from investigations import actions, forms
from investigations.models import (
    Charge,
    CourtCase,
    CourtFile,
    CourtOrder,
    CustodyTransfer,
    Evidence,
    Hearing,
    LogAttachment,
    LogEntry,
    MLARequest,
    SuspectStatus,
    Task,
    VictimParticipation,
    court_date_cases,
    investigation_cases,
)
from utilities.locking import StaleVersion
from utilities.querysets import get_visible_or_404
from utilities.storage import read_encrypted


def _case(request: HttpRequest, pk: int, action: str = "view") -> Case:
    """The case, 404 unless the user may see its investigation; 403 unless they may also record in it."""
    case = get_visible_or_404(Case.objects.select_related("owner"), request.user, pk=pk)
    if not investigation_cases(request.user).filter(pk=case.pk).exists():
        raise Http404
    if action == "change" and not actions.can_record(case, request.user):
        raise PermissionDenied
    return case


def _bound(request: HttpRequest) -> tuple:
    """Form data of a POST (even an empty one: an unticked box is still an answer), else an unbound form."""
    return (request.POST, request.FILES) if request.method == "POST" else (None, None)


def _audit_read(request: HttpRequest, case: Case, page: str, **details) -> None:
    audit.record("investigations.viewed", actor=request.user, obj=case, details={"page": page, **details})


def _page(request, case, template, page, **context) -> HttpResponse:
    _audit_read(request, case, page)
    context.update(case=case, tab=page, can_record=actions.can_record(case, request.user))
    return render(request, f"investigations/{template}", context)


def overview(request: HttpRequest, case_pk: int) -> HttpResponse:
    case = _case(request, case_pk)
    log = LogEntry.objects.filter(case=case).prefetch_related("officers", "attachments").select_related("interviewee")
    tasks = Task.objects.filter(case=case).select_related("owner")
    return _page(request, case, "overview.html", "overview", log=log, tasks=tasks)


def suspects(request: HttpRequest, case_pk: int) -> HttpResponse:
    case = _case(request, case_pk)
    links = (
        CasePerson.objects.visible_to(request.user)
        .filter(case=case, role=PersonRole.SUSPECT)
        .select_related("person", "custody")
        .prefetch_related("arrests", "bail", "charges")
    )
    return _page(request, case, "suspects.html", "suspects", suspects=links)


def evidence(request: HttpRequest, case_pk: int) -> HttpResponse:
    case = _case(request, case_pk)
    items = (
        Evidence.objects.filter(case=case)
        .select_related("seized_by", "holder")
        .prefetch_related("transfers__from_user", "transfers__to_user")
    )
    return _page(request, case, "evidence.html", "evidence", items=items)


def mla(request: HttpRequest, case_pk: int) -> HttpResponse:
    case = _case(request, case_pk)
    return _page(request, case, "mla.html", "mla", requests=MLARequest.objects.filter(case=case))


def court(request: HttpRequest, case_pk: int) -> HttpResponse:
    case = _case(request, case_pk)
    return _page(
        request, case, "court.html", "court",
        charges=Charge.objects.filter(case=case).select_related("suspect", "court_case"),
        court_cases=CourtCase.objects.filter(case=case).prefetch_related("hearings"),
        orders=CourtOrder.objects.filter(case=case),
        participation=VictimParticipation.objects.filter(victim__case=case).select_related("victim"),
        victims=CasePerson.objects.visible_to(request.user).filter(case=case, role=PersonRole.VICTIM),
        today=timezone.localdate(),
    )  # fmt: skip


def court_dates(request: HttpRequest, case_pk: int) -> HttpResponse:
    """Court dates only: what a survivor's care officer needs to arrange support and transport."""
    case = get_visible_or_404(Case.objects.all(), request.user, pk=case_pk)
    if not court_date_cases(request.user).filter(pk=case.pk).exists():
        raise Http404
    hearings = Hearing.objects.filter(
        court_case__case=case, starts_at__gte=timezone.now() - timedelta(days=1)
    ).select_related("court_case")
    _audit_read(request, case, "court_dates")
    return render(request, "investigations/court_dates.html", {"case": case, "hearings": hearings})


def calendar(request: HttpRequest) -> HttpResponse:
    """Upcoming hearings of every case whose court dates the user may see."""
    hearings = (
        Hearing.objects.filter(
            court_case__case__in=court_date_cases(request.user).values("pk"),
            starts_at__gte=timezone.now() - timedelta(hours=12),
        )
        .select_related("court_case__case")
        .order_by("starts_at", "pk")[:200]
    )
    hearings = list(hearings)
    audit.record(
        "investigations.calendar_viewed", actor=request.user, details={"hearing_ids": [h.pk for h in hearings]}
    )
    return render(request, "investigations/calendar.html", {"hearings": hearings})


# --- adding and changing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    form: type
    title: Promise
    tab: str
    add: Callable
    model: type | None = None
    update: Callable | None = None


def _log(case, actor, data, upload):
    officers = data.pop("officers", [])
    with transaction.atomic():
        entry = actions.log_action(case, actor=actor, officers=officers, **data)
        if upload:
            actions.add_log_attachment(entry, actor=actor, upload=upload)
    return entry


def _on(key):
    def call(action):
        return lambda case, actor, data, upload: action(data.pop(key), actor=actor, **data)

    return call


def _case_level(action):
    return lambda case, actor, data, upload: action(case, actor=actor, **data)


def _update(obj, *, actor, version, **data):
    m2m = {"officers": data.pop("officers")} if "officers" in data else None
    return actions.update_record(obj, actor=actor, version=version, m2m=m2m, **data)


def _update_participation(obj, *, actor, version, **data):
    data.pop("victim", None)
    return actions.update_record(obj, actor=actor, version=version, **data)


def _update_hearing(obj, *, actor, version, **data):
    data["court"] = data.get("court") or obj.court_case.court
    return actions.update_record(obj, actor=actor, version=version, **data)


KINDS: dict[str, Kind] = {
    "log": Kind(forms.LogForm, gettext_lazy("Log an investigation action"), "overview", _log, LogEntry, _update),
    "task": Kind(forms.TaskForm, gettext_lazy("Add a task"), "overview", _case_level(actions.add_task), Task, _update),
    "arrest": Kind(forms.ArrestForm, gettext_lazy("Record an arrest"), "suspects", _on("suspect")(actions.record_arrest)),
    "bail": Kind(forms.BailForm, gettext_lazy("Record bail"), "suspects", _on("suspect")(actions.record_bail)),
    "custody": Kind(forms.CustodyForm, gettext_lazy("Change the custody status"), "suspects", None, SuspectStatus, _update),
    "evidence": Kind(forms.EvidenceForm, gettext_lazy("Register an exhibit"), "evidence", lambda case, actor, data, upload: actions.register_evidence(case, actor=actor, upload=upload, **data)),
    "mla": Kind(forms.MLAForm, gettext_lazy("Add a request to a foreign counterpart"), "mla", _case_level(actions.add_mla_request), MLARequest, _update),
    "court_case": Kind(forms.CourtCaseForm, gettext_lazy("Add a court case"), "court", _case_level(actions.open_court_case), CourtCase, _update),
    "charge": Kind(forms.ChargeForm, gettext_lazy("Lay a charge"), "court", _on("suspect")(actions.lay_charge)),
    "outcome": Kind(forms.OutcomeForm, gettext_lazy("Record the outcome of a charge"), "court", None, Charge, actions.record_outcome),
    "hearing": Kind(forms.HearingForm, gettext_lazy("Schedule a hearing"), "court", _on("court_case")(actions.schedule_hearing), Hearing, _update_hearing),
    "order": Kind(forms.OrderForm, gettext_lazy("Record a court order"), "court", _case_level(actions.record_court_order), CourtOrder, _update),
    "participation": Kind(forms.ParticipationForm, gettext_lazy("Record a victim's participation"), "court", _on("victim")(actions.record_participation), VictimParticipation, _update_participation),
}  # fmt: skip

CASE_OF = {
    LogEntry: "case", Task: "case", MLARequest: "case", CourtCase: "case", Charge: "case", CourtOrder: "case",
    Hearing: "court_case__case", SuspectStatus: "suspect__case", VictimParticipation: "victim__case",
}  # fmt: skip


def _kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise Http404 from None


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _form_page(request, case, kind, form, status=200, record=None) -> HttpResponse:
    context = {
        "case": case,
        "form": form,
        "title": kind.title if record is None else _("Change: %(what)s") % {"what": kind.title},
        "back": reverse(f"investigations:{kind.tab}", args=[case.pk]),
    }
    return render(request, "investigations/form.html", context, status=status)


def add(request: HttpRequest, case_pk: int, kind: str) -> HttpResponse:
    spec = _kind(kind)
    if spec.add is None:
        raise Http404
    case = _case(request, case_pk, "change")
    form = spec.form(*_bound(request), case=case)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k not in {"version", "upload"}}
            try:
                spec.add(case, request.user, data, form.cleaned_data.get("upload"))
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("investigations:" + spec.tab, case.pk)
    return _form_page(request, case, spec, form, status)


def edit(request: HttpRequest, case_pk: int, kind: str, pk: int) -> HttpResponse:
    spec = _kind(kind)
    if spec.update is None:
        raise Http404
    case = _case(request, case_pk, "change")
    record = spec.model.objects.filter(**{CASE_OF[spec.model]: case}).filter(pk=pk).first()
    if record is None:
        raise Http404
    # The form changes its own copy; the action compares against the stored record.
    form = spec.form(*_bound(request), case=case, instance=spec.model.objects.get(pk=pk))
    if "victim" in form.fields:
        form.fields["victim"].disabled = True
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k not in {"version", "upload"}}
            try:
                spec.update(record, actor=request.user, version=form.cleaned_data["version"], **data)
            except StaleVersion as exc:
                _add_errors(form, exc)
                status = 409
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("investigations:" + spec.tab, case.pk)
    return _form_page(request, case, spec, form, status, record)


# --- evidence: custody and files --------------------------------------------------------------------


def _evidence(request, case_pk: int, pk: int, action: str = "view") -> Evidence:
    case = _case(request, case_pk, action)
    item = Evidence.objects.filter(case=case, pk=pk).select_related("case").first()
    if item is None:
        raise Http404
    return item


def hand_over(request: HttpRequest, case_pk: int, pk: int) -> HttpResponse:
    item = _evidence(request, case_pk, pk, "change")
    form = forms.HandOverForm(*_bound(request)[:1])
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                actions.hand_over_evidence(item, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, _("Handed over. The receiving officer must now acknowledge the receipt."))
                return redirect("investigations:evidence", item.case_id)
    context = {
        "case": item.case,
        "form": form,
        "title": _("Hand over exhibit %(ref)s") % {"ref": item.reference},
        "back": reverse("investigations:evidence", args=[item.case_id]),
    }
    return render(request, "investigations/form.html", context, status=status)


@require_POST
def acknowledge(request: HttpRequest, case_pk: int, pk: int) -> HttpResponse:
    case = _case(request, case_pk)
    transfer = CustodyTransfer.objects.filter(pk=pk, evidence__case=case).first()
    if transfer is None:
        raise Http404
    try:
        actions.acknowledge_receipt(transfer, actor=request.user)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, _("Receipt acknowledged: the exhibit is now in your custody."))
    return redirect("investigations:evidence", case.pk)


def _download(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


def evidence_download(request: HttpRequest, case_pk: int, pk: int) -> HttpResponse:
    item = _evidence(request, case_pk, pk)
    if not item.stored_name:
        raise Http404
    try:
        data = actions.verified_file(item, actor=request.user, used_for="download")
    except actions.EvidenceChainBroken:
        context = {"case": item.case, "item": item}
        return render(request, "investigations/evidence_broken.html", context, status=409)
    audit.record(
        "investigations.evidence_downloaded",
        actor=request.user,
        obj=item.case,
        details={"evidence_id": item.pk, "sha256": item.sha256},
    )
    return _download(data, f"{item.case.reference}-{item.reference}")


def attachment_download(request: HttpRequest, case_pk: int, pk: int) -> HttpResponse:
    case = _case(request, case_pk)
    attachment = LogAttachment.objects.filter(entry__case=case, pk=pk).first()
    if attachment is None:
        raise Http404
    data = read_encrypted(actions.LOG_STORE, attachment.stored_name)
    audit.record(
        "investigations.attachment_downloaded", actor=request.user, obj=case, details={"attachment_id": attachment.pk}
    )
    return _download(data, f"{case.reference}-log-{attachment.pk}")


# --- the court case file ----------------------------------------------------------------------------


def court_file(request: HttpRequest, case_pk: int) -> HttpResponse:
    case = _case(request, case_pk)
    form = forms.CourtFileForm(*_bound(request)[:1])
    status = 200
    if request.method == "POST":
        if not actions.can_record(case, request.user):
            raise PermissionDenied
        status = 400
        if form.is_valid():
            try:
                actions.request_court_file(
                    case,
                    actor=request.user,
                    reveal_identity=form.cleaned_data["reveal_identity"],
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                if getattr(exc, "code", None) != "approval_required":
                    _add_errors(form, exc)
                else:  # issue #10: no approval yet, so ask for it with the officer's reason; nothing is compiled
                    item = actions.request_reveal_approval(case, actor=request.user, reason=form.cleaned_data["reason"])
                    messages.warning(
                        request,
                        _("Revealing victims' identities needs a second person's approval. Request %(ref)s is with "
                          "the approvers; once approved, request the file again.") % {"ref": item.reference},
                    )  # fmt: skip
                    return redirect("investigations:court_file", case.pk)
            else:
                messages.success(
                    request, _("The court case file is being compiled. You will be notified when it is ready.")
                )
                return redirect("investigations:court_file", case.pk)
    files = CourtFile.objects.filter(case=case).select_related("requested_by")[:20]
    _audit_read(request, case, "court_file")
    context = {
        "case": case,
        "tab": "court_file",
        "form": form,
        "files": files,
        "can_record": actions.can_record(case, request.user),
    }
    return render(request, "investigations/court_file.html", context, status=status)


def court_file_status(request: HttpRequest, case_pk: int, pk: int) -> HttpResponse:
    """The htmx fragment polled every 2 s while a court file compiles."""
    case = _case(request, case_pk)
    item = CourtFile.objects.filter(case=case, pk=pk).first()
    if item is None:
        raise Http404
    return render(request, "investigations/_court_file_status.html", {"case": case, "f": item})


def court_file_download(request: HttpRequest, case_pk: int, pk: int) -> HttpResponse:
    case = _case(request, case_pk)
    item = CourtFile.objects.filter(case=case, pk=pk, status="ready").first()
    if item is None:
        raise Http404
    data = read_encrypted(actions.COURT_FILE_STORE, item.stored_name)
    audit.record(
        "investigations.court_file_downloaded",
        actor=request.user,
        obj=case,
        details={"court_file_id": item.pk, "reveal_identity": item.reveal_identity},
    )
    response = _download(data, f"{case.reference}-court-file-{item.pk}.pdf")
    response["Content-Type"] = "application/pdf"
    return response

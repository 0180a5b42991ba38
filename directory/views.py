from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audit import log as audit
from care.choices import NeedType
from directory import actions, exchange
from directory.actions import AGENCY_FIELDS
from directory.forms import (
    SEX_CHOICES,
    AgencyForm,
    BrowseForm,
    CapacityForm,
    ContactForm,
    ImportForm,
    PathwayAddForm,
    ProviderForm,
    TermsForm,
)
from directory.isocodes import language_code, language_name
from directory.models import Agency, Contact, Pathway, PathwayStep
from directory.visibility import can_see_location, can_update_capacity
from utilities.querysets import get_visible_or_404
from utilities.storage import read_encrypted


def agency_list(request: HttpRequest) -> HttpResponse:
    agencies = Agency.objects.visible_to(request.user).annotate(user_count=Count("users"))
    return render(
        request,
        "directory/agency_list.html",
        {"agencies": agencies, "can_manage": request.user.has_perm("directory.manage_agencies")},
    )


@permission_required("directory.manage_agencies", raise_exception=True)
def agency_create(request: HttpRequest) -> HttpResponse:
    form = AgencyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            agency = actions.create_agency(actor=request.user, **{f: form.cleaned_data[f] for f in AGENCY_FIELDS})
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Agency %(name)s was created.") % {"name": agency.name})
            return redirect("directory:agency_list")
    return render(request, "directory/agency_form.html", {"form": form, "agency": None})


def agency_edit(request: HttpRequest, pk: int) -> HttpResponse:
    agency = get_visible_or_404(Agency.objects.all(), request.user, "change", pk=pk)
    form = AgencyForm(
        request.POST or None, instance=Agency.objects.get(pk=agency.pk), initial={"version": agency.version}
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_agency(
                agency,
                actor=request.user,
                version=form.cleaned_data["version"] or 0,
                **{f: form.cleaned_data[f] for f in AGENCY_FIELDS},
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("directory:agency_list")
    return render(request, "directory/agency_form.html", {"form": form, "agency": agency})


# --- the service directory (issue #5) ---------------------------------------------------------------------
# Every signed-in user reads the directory (it holds no survivor data); changes need
# directory.manage_services (403 otherwise); shelter addresses and locations go through can_see_location.

CHART_WIDTH, CHART_LABEL, CHART_ROW = 640, 200, 30


def _require(request: HttpRequest, code: str = "directory.manage_services") -> None:
    if not request.user.has_perm(code):
        raise PermissionDenied


def _agency(request: HttpRequest, pk: int) -> Agency:
    return get_visible_or_404(Agency.objects.prefetch_related("services", "contacts"), request.user, "view", pk=pk)


def _stale(exc: ValidationError) -> bool:
    return getattr(exc, "code", "") == "stale" or any(
        getattr(e, "code", "") == "stale" for e in getattr(exc, "error_list", [])
    )


def _form_page(request, form, *, title, agency=None, back, multipart=False, submit=None, status=200):
    return render(
        request, "directory/form_page.html",
        {"form": form, "title": title, "agency": agency, "back": back, "multipart": multipart, "submit": submit or _("Save")},
        status=status,
    )  # fmt: skip


def _entry(agency: Agency, user) -> dict:
    shelter = agency.service(NeedType.SHELTER)
    return {
        "agency": agency,
        "services": [s.get_service_type_display() for s in agency.services.all()],
        "languages": [language_name(c) for c in agency.languages or []],
        "shelter": shelter if shelter is not None and shelter.has_capacity else None,
        "show_location": can_see_location(user, agency),
    }


def _bars(entries: list[dict]) -> dict | None:
    """Numbers for the free-beds chart: one bar per provider with reported shelter capacity."""
    rows = [e for e in entries if e["shelter"] is not None and e["shelter"].capacity_free is not None]
    if not rows:
        return None
    top = max(max(e["shelter"].capacity_free, e["shelter"].capacity_total or 0) for e in rows) or 1
    span = CHART_WIDTH - CHART_LABEL - 60
    bars = []
    for i, e in enumerate(rows):
        free = e["shelter"].capacity_free
        bars.append({
            "label": str(e["agency"]), "free": free, "total": e["shelter"].capacity_total,
            "y": i * CHART_ROW + 4, "text_y": i * CHART_ROW + 20, "width": round(free / top * span, 1),
            "value_x": CHART_LABEL + round(free / top * span, 1) + 6,
        })  # fmt: skip
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "height": len(rows) * CHART_ROW + 8,
        "label_x": CHART_LABEL - 8,
        "bar_x": CHART_LABEL,
    }


def browse(request: HttpRequest) -> HttpResponse:
    form = BrowseForm(request.GET or None)
    agencies = (
        Agency.objects.visible_to(request.user).filter(is_active=True, services__isnull=False)
        .prefetch_related("services").distinct()
    )  # fmt: skip
    language = ""
    if form.is_valid():
        data = form.cleaned_data
        if data["service"]:
            agencies = agencies.filter(services__service_type=data["service"])
        if data["who"] == "children":
            agencies = agencies.filter(serves_children=True)
        elif data["who"] == "adults":
            agencies = agencies.filter(serves_adults=True)
        if data["open_24_7"]:
            agencies = agencies.filter(open_24_7=True)
        if data["free_capacity"]:
            lookup = {"services__capacity_free__gt": 0}
            if data["service"]:
                lookup["services__service_type"] = data["service"]
            agencies = agencies.filter(**lookup)
        language = data["language"]
    rows = [a for a in agencies if not language or language in {language_code(c) for c in a.languages or []}]
    entries = [_entry(a, request.user) for a in rows]
    return render(request, "directory/browse.html", {
        "form": form, "entries": entries, "chart": _bars(entries),
        "can_manage": request.user.has_perm("directory.manage_services"),
    })  # fmt: skip


def provider_detail(request: HttpRequest, pk: int) -> HttpResponse:
    agency = _agency(request, pk)
    steps = agency.pathway_steps.select_related("pathway").order_by("pathway__need_type")
    return render(request, "directory/provider_detail.html", {
        **_entry(agency, request.user),
        "capacities": [s for s in agency.services.all() if s.has_capacity or s.capacity_bound],
        "contacts": agency.contacts.all(),
        "steps": steps,
        "eligibility_sexes": [label for value, label in SEX_CHOICES if value in (agency.sexes or [])],
        "can_manage": request.user.has_perm("directory.manage_services"),
        "can_update_capacity": can_update_capacity(request.user, agency),
    })  # fmt: skip


def provider_edit(request: HttpRequest, pk: int) -> HttpResponse:
    agency = _agency(request, pk)
    _require(request)
    form = ProviderForm(
        request.POST or None, instance=Agency.objects.get(pk=agency.pk), initial={"version": agency.version}
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                agency = actions.update_provider(
                    agency, actor=request.user, version=data["version"], services=data["services"],
                    **{f: data[f] for f in actions.PROFILE_FIELDS},
                )  # fmt: skip
                actions.set_referral_authorisation(
                    agency, actor=request.user, version=agency.version, authorised=data["authorised_for_referrals"]
                )
        except ValidationError as exc:
            form.add_error(None, exc)
            status = 409 if _stale(exc) else 200
        else:
            messages.success(request, _("Changes saved."))
            return redirect("directory:provider_detail", agency.pk)
    back = reverse("directory:provider_detail", args=[agency.pk])
    return _form_page(request, form, title=_("Edit the directory entry"), agency=agency, back=back, status=status)


def capacity(request: HttpRequest, pk: int) -> HttpResponse:
    agency = _agency(request, pk)
    if not can_update_capacity(request.user, agency):
        raise PermissionDenied
    services = list(agency.services.all())
    status, bound = 200, None
    if request.method == "POST":
        posted = request.POST.get("service", "")
        bound = CapacityForm(request.POST, auto_id=f"id_{posted if posted.isdigit() else 'x'}_%s")
        if bound.is_valid():
            service = next((s for s in services if s.pk == bound.cleaned_data["service"]), None)
            if service is None:
                raise Http404
            try:
                actions.update_capacity(
                    service, actor=request.user, version=bound.cleaned_data["version"],
                    total=bound.cleaned_data["total"], free=bound.cleaned_data["free"],
                )  # fmt: skip
            except ValidationError as exc:
                bound.add_error(None, exc)
                status = 409 if _stale(exc) else 200
            else:
                messages.success(request, _("Capacity updated."))
                return redirect("directory:provider_detail", agency.pk)
    forms_ = []
    for service in services:
        if bound is not None and str(service.pk) == request.POST.get("service"):
            form = bound
        else:
            form = CapacityForm(
                initial={"service": service.pk, "version": service.version, "total": service.capacity_total, "free": service.capacity_free},
                auto_id=f"id_{service.pk}_%s",
            )  # fmt: skip
        forms_.append((service, form))
    return render(request, "directory/capacity.html", {"agency": agency, "forms": forms_}, status=status)


def contact_add(request: HttpRequest, pk: int) -> HttpResponse:
    agency = _agency(request, pk)
    _require(request)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.add_contact(agency, actor=request.user, **{f: form.cleaned_data[f] for f in actions.CONTACT_FIELDS})
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Contact point added."))
            return redirect("directory:provider_detail", agency.pk)
    back = reverse("directory:provider_detail", args=[agency.pk])
    return _form_page(request, form, title=_("Add a contact point"), agency=agency, back=back)


def _contact(request: HttpRequest, pk: int, contact_pk: int) -> tuple[Agency, Contact]:
    agency = _agency(request, pk)
    contact = agency.contacts.filter(pk=contact_pk).first()
    if contact is None:
        raise Http404
    _require(request)
    return agency, contact


def contact_edit(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    agency, contact = _contact(request, pk, contact_pk)
    form = ContactForm(
        request.POST or None, instance=Contact.objects.get(pk=contact.pk), initial={"version": contact.version}
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_contact(
                contact, actor=request.user, version=form.cleaned_data["version"] or 0,
                **{f: form.cleaned_data[f] for f in actions.CONTACT_FIELDS},
            )  # fmt: skip
        except ValidationError as exc:
            form.add_error(None, exc)
            status = 409 if _stale(exc) else 200
        else:
            messages.success(request, _("Changes saved."))
            return redirect("directory:provider_detail", agency.pk)
    back = reverse("directory:provider_detail", args=[agency.pk])
    return _form_page(request, form, title=_("Edit a contact point"), agency=agency, back=back, status=status)


@require_POST
def contact_remove(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    agency, contact = _contact(request, pk, contact_pk)
    try:
        actions.remove_contact(contact, actor=request.user, version=int(request.POST.get("version") or 0))
    except (ValidationError, ValueError):
        messages.error(request, _("The contact point changed since the page was loaded. Nothing was removed."))
        return redirect("directory:provider_detail", agency.pk)
    messages.success(request, _("Contact point removed."))
    return redirect("directory:provider_detail", agency.pk)


def terms_upload(request: HttpRequest, pk: int) -> HttpResponse:
    agency = _agency(request, pk)
    _require(request)
    form = TermsForm(request.POST or None, request.FILES or None, initial={"version": agency.version})
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["upload"]
        try:
            if upload.size > actions.TERMS_MAX_BYTES:
                raise ValidationError(_("The file is too large."))
            actions.upload_terms_of_reference(
                agency, actor=request.user, version=form.cleaned_data["version"], data=upload.read()
            )
        except ValidationError as exc:
            form.add_error("upload" if not _stale(exc) else None, exc)
            status = 409 if _stale(exc) else 200
        else:
            messages.success(request, _("Terms of reference uploaded. They are stored encrypted."))
            return redirect("directory:provider_detail", agency.pk)
    back = reverse("directory:provider_detail", args=[agency.pk])
    return _form_page(
        request, form, title=_("Upload the terms of reference"), agency=agency, back=back, multipart=True,
        submit=_("Upload"), status=status,
    )  # fmt: skip


def terms_download(request: HttpRequest, pk: int) -> HttpResponse:
    agency = _agency(request, pk)
    if not agency.terms_stored_name:
        raise Http404
    # A shelter's terms of reference may say where it is: the same rule as its address.
    if not can_see_location(request.user, agency):
        raise PermissionDenied
    data = read_encrypted("directory", agency.terms_stored_name)
    with transaction.atomic():
        audit.record("directory.terms_downloaded", actor=request.user, obj=agency)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="terms-of-reference-{agency.pk}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


# --- pathways ----------------------------------------------------------------------------------------------


def _need(need_type: str) -> str:
    if need_type not in NeedType.values:
        raise Http404
    return need_type


def pathway_list(request: HttpRequest) -> HttpResponse:
    steps = PathwayStep.objects.select_related("pathway", "agency").order_by(
        "pathway__need_type", "step", "agency__name"
    )
    by_need: dict[str, list] = {}
    for entry in steps:
        by_need.setdefault(entry.pathway.need_type, []).append(entry)
    rows = [(value, label, by_need.get(value, [])) for value, label in NeedType.choices]
    return render(
        request,
        "directory/pathway_list.html",
        {"rows": rows, "can_manage": request.user.has_perm("directory.manage_services")},
    )


def pathway_edit(request: HttpRequest, need_type: str) -> HttpResponse:
    need_type = _need(need_type)
    _require(request)
    pathway = Pathway.objects.filter(need_type=need_type).first()
    version = pathway.version if pathway else 1
    form = PathwayAddForm(request.POST or None, need_type=need_type, initial={"version": version})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            actions.add_pathway_step(
                need_type, actor=request.user, version=form.cleaned_data["version"],
                agency=form.cleaned_data["agency"], step=form.cleaned_data["step"],
            )  # fmt: skip
        except ValidationError as exc:
            form.add_error(None, exc)
            status = 409 if _stale(exc) else 200
        else:
            messages.success(request, _("Provider added to the pathway."))
            return redirect("directory:pathway_edit", need_type)
    entries = list(pathway.steps.select_related("agency").order_by("step", "agency__name")) if pathway else []
    groups: dict[int, list] = {}
    for entry in entries:
        groups.setdefault(entry.step, []).append(entry)
    return render(request, "directory/pathway_edit.html", {
        "need_type": need_type, "need_label": NeedType(need_type).label, "form": form,
        "groups": sorted(groups.items()), "version": version, "last_step": max(groups, default=0),
    }, status=status)  # fmt: skip


@require_POST
def pathway_step_change(request: HttpRequest, need_type: str, step_pk: int, operation: str) -> HttpResponse:
    need_type = _need(need_type)
    _require(request)
    entry = (
        PathwayStep.objects.select_related("pathway", "agency").filter(pk=step_pk, pathway__need_type=need_type).first()
    )
    if entry is None or operation not in {"up", "down", "remove"}:
        raise Http404
    try:
        version = int(request.POST.get("version") or 0)
        if operation == "remove":
            actions.remove_pathway_step(entry, actor=request.user, version=version)
        else:
            actions.move_pathway_step(entry, actor=request.user, version=version, direction=operation)
    except (ValidationError, ValueError):
        messages.error(
            request, _("The pathway changed since the page was loaded. Nothing was changed: check it and try again.")
        )
        response = redirect("directory:pathway_edit", need_type)
        return response
    messages.success(request, _("Pathway updated."))
    return redirect("directory:pathway_edit", need_type)


# --- export, import, print ---------------------------------------------------------------------------------


def export(request: HttpRequest, fmt: str) -> HttpResponse:
    _require(request)
    queryset = Agency.objects.visible_to(request.user)
    count = queryset.count()
    exchange.record_export(actor=request.user, fmt=fmt, count=count)
    stamp = timezone.localdate().isoformat()
    if fmt == "csv":
        response = StreamingHttpResponse(
            exchange.export_csv(exchange.export_rows(queryset)), content_type="text/csv; charset=utf-8"
        )
    elif fmt == "xlsx":
        response = HttpResponse(exchange.export_xlsx(exchange.export_rows(queryset)), content_type=exchange.XLSX_MIME)
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="beacon-directory-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


def import_view(request: HttpRequest) -> HttpResponse:
    _require(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    errors = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["upload"]
        try:
            summary = exchange.import_directory(upload, upload.name, actor=request.user)
        except exchange.ImportRefused as refused:
            errors = refused.errors
        else:
            messages.success(
                request,
                _("Directory imported: %(rows)d rows, %(created)d new agencies, %(updated)d updated.") % summary,
            )
            return redirect("directory:browse")
    return render(request, "directory/import.html", {"form": form, "errors": errors, "columns": exchange.COLUMNS})


def print_directory(request: HttpRequest) -> HttpResponse:
    agencies = list(
        Agency.objects.visible_to(request.user).filter(is_active=True, services__isnull=False)
        .prefetch_related("services", "contacts").distinct()
    )  # fmt: skip
    entries = {a.pk: _entry(a, request.user) for a in agencies}
    groups = []
    for value, label in NeedType.choices:
        members = [entries[a.pk] for a in agencies if value in a.service_types()]
        if members:
            members.sort(key=lambda e: (not e["agency"].authorised_for_referrals, e["agency"].name.lower()))
            groups.append((value, label, members))
    return render(request, "directory/print.html", {"groups": groups, "printed_at": timezone.now()})

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from directory import actions
from directory.actions import AGENCY_FIELDS
from directory.forms import AgencyForm
from directory.models import Agency
from utilities.querysets import get_visible_or_404


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
    form = AgencyForm(request.POST or None, instance=Agency.objects.get(pk=agency.pk), initial={"version": agency.version})
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_agency(
                agency, actor=request.user, version=form.cleaned_data["version"] or 0,
                **{f: form.cleaned_data[f] for f in AGENCY_FIELDS},
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("directory:agency_list")
    return render(request, "directory/agency_form.html", {"form": form, "agency": agency})

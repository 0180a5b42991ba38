from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from audit import log as audit
from cases.models import Case
from utilities.querysets import get_visible_or_404


def case_list(request: HttpRequest) -> HttpResponse:
    cases = Case.objects.visible_to(request.user).select_related("owner", "report")
    if not request.user.has_perm("cases.view_all") and not cases.exists() and not request.user.has_perm("intake.create_report"):
        raise PermissionDenied
    status = request.GET.get("status", "")
    if status:
        cases = cases.filter(status=status)
    page = Paginator(cases, 50).get_page(request.GET.get("page"))
    audit.record("cases.case_list", actor=request.user, details={"filters": ["status"] if status else [], "page": page.number})
    return render(request, "cases/case_list.html", {"page": page})


def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_visible_or_404(Case.objects.select_related("owner", "report", "decision", "decision__screening", "decision__decided_by"), request.user, pk=pk)
    audit.record("cases.case_viewed", actor=request.user, obj=case)
    return render(request, "cases/case_detail.html", {"case": case, "persons": case.persons.all(), "team": case.team.select_related("user")})

"""Survivor feedback (issue #13): staff key in paper surveys or open a one-time tablet survey
(feedback.record); results for feedback.view_reports. The tablet page itself is anonymous, bilingual and
script-free, and borrows the public report form's protections (intake/public.py): no-store, strict CSP,
CSRF, and a rate limit on wrong codes kept as a keyed hash of the address."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.middleware import mfa_not_required
from audit import log as audit
from directory.exchange import export_csv
from feedback import actions, reports
from feedback.forms import CodeForm, RecordForm, ServiceForm, TabletForm
from intake.public import THROTTLE_WINDOW, address_hash, over_limit, public_page, take_submission

CHART_ROW = 28


def _require(request: HttpRequest, code: str) -> None:
    if not request.user.has_perm(code):
        raise PermissionDenied


def index(request: HttpRequest) -> HttpResponse:
    if not (request.user.has_perm("feedback.record") or request.user.has_perm("feedback.view_reports")):
        raise PermissionDenied
    return render(
        request,
        "feedback/index.html",
        {"can_record": request.user.has_perm("feedback.record"),
         "can_view": request.user.has_perm("feedback.view_reports")},
    )  # fmt: skip


def record(request: HttpRequest) -> HttpResponse:
    _require(request, "feedback.record")
    form = RecordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.record_response(actor=request.user, **form.cleaned_data)
        messages.success(request, _("Survey answers recorded. Thank you."))
        return redirect("feedback:record")
    return render(request, "feedback/record.html", {"form": form})


def tablet_code(request: HttpRequest) -> HttpResponse:
    """Generates a one-time code; shown once, in the POST's answer, never in a URL."""
    _require(request, "feedback.record")
    form = ServiceForm(request.POST or None)
    code = None
    if request.method == "POST" and form.is_valid():
        code = actions.issue_tablet_token(actor=request.user, **form.cleaned_data)
    response = render(
        request, "feedback/tablet_code.html",
        {"form": form, "code": code, "hours": int(actions.TOKEN_LIFETIME.total_seconds() // 3600)},
    )  # fmt: skip
    response["Cache-Control"] = "no-store"
    return response


def _tablet_page(request, template, status=200, **context) -> HttpResponse:
    return render(request, f"feedback/{template}", context, status=status)


@login_not_required
@mfa_not_required
@public_page
@require_http_methods(["GET", "POST"])
def tablet(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _tablet_page(request, "tablet_code_entry.html", form=CodeForm())
    key = address_hash(request, "feedback-tablet")
    if over_limit(key):
        response = _tablet_page(request, "tablet_problem.html", status=429, problem="limit")
        response["Retry-After"] = str(int(THROTTLE_WINDOW.total_seconds()))
        return response
    if "token" not in request.POST:
        form = CodeForm(request.POST)
        tablet_token = actions.open_token(form.data.get("code", "")) if form.is_valid() else None
        if tablet_token is None:
            take_submission(key)  # wrong codes count towards the limit, so codes cannot be guessed
            form.add_error(None, _("This code is not valid, has expired or was already used."))
            return _tablet_page(request, "tablet_code_entry.html", status=400, form=form)
        survey = TabletForm(initial={"token": form.cleaned_data["code"]})
        return _tablet_page(request, "tablet_survey.html", form=survey, tablet=tablet_token)
    form = TabletForm(request.POST)
    tablet_token = actions.open_token(request.POST.get("token", ""))
    if tablet_token is None:
        take_submission(key)
        return _tablet_page(request, "tablet_problem.html", status=410, problem="used")
    if not form.is_valid():
        return _tablet_page(request, "tablet_survey.html", status=400, form=form, tablet=tablet_token)
    answers = dict(form.cleaned_data)
    if actions.submit_tablet_response(answers.pop("token"), **answers) is None:
        return _tablet_page(request, "tablet_problem.html", status=410, problem="used")
    return _tablet_page(request, "tablet_done.html")


def _report_context(stats: dict) -> dict:
    for section in stats["sections"]:
        section["height"] = max(len(section["rows"]), 1) * CHART_ROW
        for i, row in enumerate(section["rows"]):
            row["y"] = i * CHART_ROW
    return stats


def report(request: HttpRequest) -> HttpResponse:
    _require(request, "feedback.view_reports")
    stats = _report_context(reports.feedback_statistics())
    audit.record("feedback.report_viewed", actor=request.user, object_type="feedback.surveyresponse")
    return render(request, "feedback/report.html", {**stats, "small_cell": reports.SMALL_CELL})


def report_csv(request: HttpRequest) -> HttpResponse:
    _require(request, "feedback.view_reports")
    rows = reports.csv_rows(reports.feedback_statistics())
    audit.record(
        "feedback.report_exported", actor=request.user, object_type="feedback.surveyresponse",
        details={"rows": len(rows) - 1},
    )  # fmt: skip
    response = HttpResponse("".join(export_csv(rows)), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="feedback-{timezone.localdate().isoformat()}.csv"'
    return response

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from audit import log as audit
from intake import workflow
from intake.models import Report
from screening import actions
from screening.forms import ELEMENT_LABELS, DecisionForm, ScreeningForm
from screening.instruments import ELEMENTS
from screening.models import Screening, ScreeningInstrument
from utilities.locking import is_stale
from utilities.querysets import get_visible_or_404

STALE_SCREENING = _lazy(
    "Another officer recorded a screening for this report while you were filling in yours. Theirs is kept (listed "
    "below) and yours was not saved: your answers are still in the form. Check them against the screening already "
    "recorded, then record yours if it concerns another person."
)


def screen(request: HttpRequest, report_pk: int) -> HttpResponse:
    report = get_visible_or_404(Report.objects.all(), request.user, "screen", pk=report_pk)
    instrument = actions.current_instrument()
    form = ScreeningForm(request.POST or None, instrument=instrument, initial={"version": report.version})
    status = 200
    if not workflow.allowed(report, "screen"):
        closed = _("This report is %(status)s: it cannot be screened now.") % {
            "status": report.get_status_display().lower()
        }
        if request.method != "POST":
            messages.error(request, closed)
            return redirect(report)
        # Moved on while this officer was screening (issue #10, nothing lost): their answers stay on the page.
        form.is_valid()
        form.add_error(None, closed)
        status = 409
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            screening = actions.record_screening(
                report,
                actor=request.user,
                version=data["version"],
                person_label=data["person_label"],
                person_age=data["person_age"],
                age_basis=data["age_basis"],
                answers=form.answers(),
                evidence=form.evidence(),
            )
        except ValidationError as exc:
            if is_stale(exc):
                # Optimistic locking (utilities.locking, issue #10), answered as the case editors do: 409, the
                # form re-shown with this officer's answers, and the version moved on so they can record theirs
                # once they have checked the other officer's screening.
                report.refresh_from_db()
                form.data = form.data.copy()
                form.data["version"] = report.version
                form.add_error(None, STALE_SCREENING)
                status = 409
            else:
                form.add_error(None, exc)
        else:
            messages.success(request, _("Screening recorded. An authorised officer will record the decision."))
            return redirect("screening:screening_detail", pk=screening.pk)
    recorded = (
        Screening.objects.filter(report=report).select_related("screened_by").order_by("screened_at", "pk")
        if status == 409
        else []
    )
    return render(
        request,
        "screening/screen.html",
        {"report": report, "form": form, "instrument": instrument, "recorded": recorded},
        status=status,
    )


def screening_detail(request: HttpRequest, pk: int) -> HttpResponse:
    screening = get_visible_or_404(
        Screening.objects.select_related("report", "instrument", "screened_by"), request.user, pk=pk
    )
    audit.record("screening.viewed", actor=request.user, obj=screening)
    report = screening.report
    evidence = json.loads(screening.evidence or "{}")
    groups = []
    for element in ELEMENTS:
        ticked = [
            (label, evidence.get(code, ""))
            for code, label in screening.instrument.indicators(element)
            if screening.answers.get(code)
        ]
        groups.append(
            {
                "title": ELEMENT_LABELS[element][0],
                "met": getattr(screening, f"{element}_met"),
                "ticked": ticked,
                "element": element,
            }
        )
    decision = getattr(screening, "decision", None)
    can_decide = (
        decision is None
        and Report.objects.visible_to(request.user, "decide").filter(pk=report.pk).exists()
        and workflow.allowed(report, "decide")
    )
    form = DecisionForm(request.POST or None, initial={"version": report.version}) if can_decide else None
    status = 200
    late_rationale = ""
    may_decide = Report.objects.visible_to(request.user, "decide").filter(pk=report.pk).exists()
    if request.method == "POST" and form is None and may_decide:
        # Another officer decided while this one was writing (issue #10, nothing lost): 409, theirs shown,
        # this officer's rationale kept on the page.
        late_rationale = request.POST.get("rationale", "")
        status = 409
    elif request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.record_decision(
                    screening,
                    actor=request.user,
                    version=data["version"],
                    outcome=data["outcome"],
                    rationale=data["rationale"],
                    deciding_org=data["deciding_org"],
                    referred_to=data["referred_to"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
                status = 409 if is_stale(exc) else 200
            else:
                messages.success(request, _("Decision recorded."))
                report.refresh_from_db()
                case = report.cases.first()
                return redirect(case) if case else redirect(report)
    missing_labels = [str(ELEMENT_LABELS[m][0]) for m in screening.missing]
    return render(request, "screening/screening_detail.html", {
        "screening": screening, "report": report, "groups": groups, "decision": decision, "form": form, "missing_labels": missing_labels,
        "late_rationale": late_rationale,
    }, status=status)  # fmt: skip


def instrument_list(request: HttpRequest) -> HttpResponse:
    if not (request.user.has_perm("screening.decide") or request.user.has_perm("screening.screen_any")):
        raise PermissionDenied
    return render(
        request,
        "screening/instrument_list.html",
        {"instruments": ScreeningInstrument.objects.all(), "elements": ELEMENTS},
    )

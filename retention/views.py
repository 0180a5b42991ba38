"""The retention page (issue #10): rules (holders of "retention.manage"), legal holds (holders of
"retention.hold") and past runs. Anyone else gets 403."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.models import Case
from retention import actions
from retention.choices import RecordType, RetentionAction
from retention.forms import HoldForm, RuleForm
from retention.models import LegalHold, RetentionRule, RetentionRun


def _require(request: HttpRequest, *codes: str) -> None:
    if not any(request.user.has_perm(code) for code in codes):
        raise PermissionDenied


def _run_rows(run: RetentionRun) -> list[dict]:
    types, verbs = dict(RecordType.choices), dict(RetentionAction.choices)
    rows = []
    for rule_id, entry in sorted(run.counts.items(), key=lambda item: int(item[0])):
        rows.append(
            {
                **entry,
                "rule_id": rule_id,
                "label": types.get(entry.get("record_type"), entry.get("record_type")),
                "verb": verbs.get(entry.get("action"), ""),
            }
        )
    return rows


def _totals(run: RetentionRun) -> dict:
    keys = ("eligible", "anonymised", "deleted", "held", "skipped")
    return {key: sum(int(entry.get(key, 0)) for entry in run.counts.values()) for key in keys}


def index(request: HttpRequest, hold_form: HoldForm | None = None, status: int = 200) -> HttpResponse:
    _require(request, "retention.manage", "retention.hold")
    can_manage = request.user.has_perm("retention.manage")
    can_hold = request.user.has_perm("retention.hold")
    runs = list(RetentionRun.objects.all()[:20]) if can_manage else []
    for run in runs:
        run.totals = _totals(run)
    holds = LegalHold.objects.active().select_related("case", "placed_by")
    context = {
        "can_manage": can_manage,
        "can_hold": can_hold,
        "rules": RetentionRule.objects.all() if can_manage else [],
        "holds": holds,
        "hold_form": hold_form or HoldForm(),
        "runs": runs,
    }
    return render(request, "retention/index.html", context, status=status)


def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "retention.manage")
    rule = get_object_or_404(RetentionRule, pk=pk)
    initial = {
        "period_months": rule.period_months,
        "action": rule.action,
        "is_active": rule.is_active,
        "version": rule.version,
    }
    form = RuleForm(request.POST or None, initial=initial, rule=rule)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.update_rule(
                rule, actor=request.user, version=data["version"], period_months=data["period_months"],
                action=data["action"], is_active=data["is_active"],
            )  # fmt: skip
        except ValidationError as exc:
            stale = not hasattr(exc, "error_dict") and any(error.code == "stale" for error in exc.error_list)
            form.add_error(None, exc)
            status = 409 if stale else 200
        else:
            messages.success(request, _("Changes saved."))
            return redirect("retention:index")
    return render(request, "retention/rule_form.html", {"form": form, "rule": rule}, status=status)


@require_POST
def hold_place(request: HttpRequest) -> HttpResponse:
    _require(request, "retention.hold")
    form = HoldForm(request.POST)
    if form.is_valid():
        case = (
            Case.objects.visible_to(request.user, "view")
            .filter(reference=form.cleaned_data["case_reference"].strip())
            .first()
        )
        if case is None:
            form.add_error("case_reference", _("There is no case with this reference that you can see."))
        else:
            try:
                actions.place_hold(case, actor=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("The legal hold was placed: retention will not touch this case."))
                return redirect("retention:index")
    return index(request, hold_form=form, status=400)


@require_POST
def hold_lift(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "retention.hold")
    hold = get_object_or_404(LegalHold.objects.active(), pk=pk)
    actions.lift_hold(hold, actor=request.user)
    messages.success(request, _("The legal hold was lifted."))
    return redirect("retention:index")


def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "retention.manage")
    run = get_object_or_404(RetentionRun, pk=pk)
    return render(request, "retention/run_detail.html", {"run": run, "rows": _run_rows(run), "totals": _totals(run)})

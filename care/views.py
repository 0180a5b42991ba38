"""Victim care pages (issue #4). Who sees what follows the victim's link to the case: a user who cannot see
any victim of the case gets 404, as if the case did not exist; a user who sees the victim but may not record
care (no ``care.record``, or a read-only share) gets 403 on every form. Every page read is audited."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit import log as audit
from care import actions, forms
from care.models import (
    AgeAssessment,
    AuthorityNotification,
    CarePlan,
    Consent,
    Guardian,
    ImmigrationDocument,
    ImmigrationStatus,
    Need,
    PlanAction,
    PlanGoal,
    RiskAssessment,
    ServiceDelivery,
    victims_visible_to,
)
from care.overview import victim_overview
from cases.choices import PersonRole
from cases.models import Case, CasePerson
from utilities.querysets import get_visible_or_404


@dataclass(frozen=True)
class Kind:
    """One kind of care record: its form, the actions that add and change it, and how the pages name it."""

    model: type
    form: type
    add_title: Promise
    section: str
    add: Callable | None = None
    update: Callable | None = None
    edit_title: Promise | None = None
    parent: str = "victim"  # or "plan" (goals) or "goal" (plan actions)


KINDS: dict[str, Kind] = {
    "need": Kind(Need, forms.NeedForm, gettext_lazy("Record a need"), "needs", actions.add_need, actions.update_need, gettext_lazy("Update a need")),
    "risk": Kind(RiskAssessment, forms.RiskForm, gettext_lazy("Record a risk assessment"), "risk", actions.record_risk_assessment),
    "plan": Kind(CarePlan, forms.PlanForm, gettext_lazy("Add a care or transition plan"), "plans", actions.add_plan, actions.update_plan, gettext_lazy("Update a plan")),
    "goal": Kind(PlanGoal, forms.GoalForm, gettext_lazy("Add a goal"), "plans", actions.add_goal, actions.update_goal, gettext_lazy("Update a goal"), parent="plan"),
    "action": Kind(PlanAction, forms.PlanActionForm, gettext_lazy("Add an action"), "plans", actions.add_plan_action, actions.update_plan_action, gettext_lazy("Update an action"), parent="goal"),
    "service": Kind(ServiceDelivery, forms.ServiceForm, gettext_lazy("Record a service delivered"), "services", actions.record_service, actions.update_service, gettext_lazy("Update a service")),
    "status": Kind(ImmigrationStatus, forms.ImmigrationStatusForm, gettext_lazy("Record the immigration status"), "immigration", actions.record_immigration_status),
    "document": Kind(ImmigrationDocument, forms.DocumentForm, gettext_lazy("Add a permit or document"), "immigration", actions.add_document, actions.update_document, gettext_lazy("Update a permit or document")),
    "guardian": Kind(Guardian, forms.GuardianForm, gettext_lazy("Add a parent or guardian"), "child", actions.add_guardian, actions.update_guardian, gettext_lazy("Update a parent or guardian")),
    "authority": Kind(AuthorityNotification, forms.AuthorityNotificationForm, gettext_lazy("Record the Children's Authority notification"), "child", actions.record_authority_notification),
    "age": Kind(AgeAssessment, forms.AgeAssessmentForm, gettext_lazy("Record an age assessment"), "child", actions.record_age_assessment),
    "consent": Kind(Consent, forms.ConsentForm, gettext_lazy("Record consent"), "consent", actions.record_consent),
}  # fmt: skip

PARENTS = {"plan": CarePlan, "goal": PlanGoal}


def _kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise Http404 from None


def _victim(request: HttpRequest, pk: int) -> CasePerson:
    """The victim's link, 404 unless the user may see it; 403 unless they may also record care."""
    link = get_visible_or_404(
        CasePerson.objects.filter(role=PersonRole.VICTIM).select_related("case", "person"), request.user, pk=pk
    )
    if not actions.can_record(link, request.user):
        raise PermissionDenied
    return link


def _back(link: CasePerson, section: str) -> str:
    return reverse("care:case_care", args=[link.case_id]) + f"#{section}-{link.pk}"


def _audit_read(request: HttpRequest, link: CasePerson, page: str, record=None) -> None:
    details = {"case_person_id": link.pk, "page": page}
    if record is not None:
        details["record"] = f"{record._meta.model_name}:{record.pk}"
    audit.record("care.viewed", actor=request.user, obj=link.case, details=details)


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def case_care(request: HttpRequest, case_pk: int) -> HttpResponse:
    case = get_visible_or_404(Case.objects.select_related("owner"), request.user, pk=case_pk)
    victims = list(
        victims_visible_to(request.user).filter(case=case).select_related("person").order_by("pseudonym", "pk")
    )
    if not victims:
        # Seeing the case is not enough (a suspects-only investigator): care belongs to the victims' side.
        raise Http404
    today = timezone.localdate()
    audit.record(
        "care.viewed",
        actor=request.user,
        obj=case,
        details={"case_person_ids": [v.pk for v in victims], "page": "overview"},
    )
    overviews = [{**victim_overview(v, today), "can_record": actions.can_record(v, request.user)} for v in victims]
    return render(request, "care/case_care.html", {"case": case, "today": today, "overviews": overviews})


def _render_form(request, *, form, link, title, section, record=None, status=200) -> HttpResponse:
    context = {
        "form": form,
        "link": link,
        "case": link.case,
        "title": title,
        "record": record,
        "back": _back(link, section),
    }
    return render(request, "care/record_form.html", context, status=status)


def _add(request: HttpRequest, kind_name: str, link: CasePerson, parent) -> HttpResponse:
    kind = _kind(kind_name)
    # The person responsible (or who notified) is most often the officer recording it.
    initial = {name: request.user.pk for name in ("owner", "notified_by")}
    form = kind.form(request.POST or None, case_person=link, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            kind.add(parent, actor=request.user, **form.action_fields())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(_back(link, kind.section))
    elif request.method != "POST":
        _audit_read(request, link, f"{kind_name}_add")
    return _render_form(request, form=form, link=link, title=kind.add_title, section=kind.section)


def add_record(request: HttpRequest, case_person_pk: int, kind: str) -> HttpResponse:
    if _kind(kind).parent != "victim":
        raise Http404
    link = _victim(request, case_person_pk)
    return _add(request, kind, link, link)


def add_goal(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_visible_or_404(
        CarePlan.objects.select_related("case_person__case", "case_person__person"), request.user, "change", pk=pk
    )
    return _add(request, "goal", plan.case_person, plan)


def add_plan_action(request: HttpRequest, pk: int) -> HttpResponse:
    goal = get_visible_or_404(
        PlanGoal.objects.select_related("plan__case_person__case", "plan__case_person__person"),
        request.user,
        "change",
        pk=pk,
    )
    return _add(request, "action", goal.case_person, goal)


def edit_record(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    spec = _kind(kind)
    if spec.update is None:
        raise Http404
    record = get_visible_or_404(spec.model.objects.all(), request.user, "change", pk=pk)
    link = record.case_person
    # The form works on its own copy, so the action compares against what is stored, not what was typed.
    form = spec.form(
        request.POST or None,
        instance=spec.model.objects.get(pk=record.pk),
        initial={"version": record.version},
        case_person=link,
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            spec.update(
                record, actor=request.user, version=form.cleaned_data.get("version") or 0, **form.action_fields()
            )
        except ValidationError as exc:
            _add_errors(form, exc)
            status = 409 if getattr(exc, "code", "") == "stale" else 200
        else:
            messages.success(request, _("Changes saved."))
            return redirect(_back(link, spec.section))
    elif request.method != "POST":
        _audit_read(request, link, f"{kind}_edit", record)
    return _render_form(
        request, form=form, link=link, title=spec.edit_title, section=spec.section, record=record, status=status
    )


def withdraw_consent(request: HttpRequest, pk: int) -> HttpResponse:
    consent = get_visible_or_404(Consent.objects.select_related("agency"), request.user, "change", pk=pk)
    link = consent.case_person
    if consent.withdrawn_on is not None:
        messages.info(request, _("This consent was already withdrawn."))
        return redirect(_back(link, "consent"))
    form = forms.WithdrawConsentForm(
        request.POST or None,
        instance=Consent.objects.get(pk=consent.pk),
        initial={"version": consent.version, "withdrawn_on": timezone.localdate()},
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            actions.withdraw_consent(
                consent, actor=request.user, version=form.cleaned_data["version"], **form.action_fields()
            )
        except ValidationError as exc:
            _add_errors(form, exc)
            status = 409 if getattr(exc, "code", "") == "stale" else 200
        else:
            messages.success(
                request, _("The withdrawal of consent is recorded. The consent stays on record, no longer in force.")
            )
            return redirect(_back(link, "consent"))
    elif request.method != "POST":
        _audit_read(request, link, "consent_withdraw", consent)
    return _render_form(
        request,
        form=form,
        link=link,
        title=_("Record the withdrawal of consent"),
        section="consent",
        record=consent,
        status=status,
    )

"""Every change to victim care records goes through these actions (issue #4): atomic, audited in the same
transaction (field names only, never values), optimistic locking on edits. Only users who may see the victim
and hold ``care.record`` may change anything; nothing is deleted (consent is withdrawn, plans are ended,
documents are marked no longer held, risk assessments and statuses are superseded by newer rows)."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from alerts.rules import dispatch
from audit import log as audit
from care.choices import NEED_CLOSED, ActionStatus, ConsentPurpose
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
from cases.choices import CaseStatus
from utilities.locking import check_version

# The permit alert goes out this many days before a document expires (issue #4).
PERMIT_ALERT_DAYS = 30

NEED_FIELDS = ("need_type", "priority", "status", "identified_on", "due_on", "resolved_on", "notes")
RISK_FIELDS = ("level", "factors", "assessed_on", "next_review_on")
PLAN_FIELDS = ("kind", "plan_type", "objectives", "action_plan", "start_on", "planned_end_date", "actual_end_date")
GOAL_FIELDS = ("description", "due_on", "status")
PLAN_ACTION_FIELDS = ("description", "owner", "due_on", "status", "completed_on")
SERVICE_FIELDS = ("service_type", "delivered_on", "ended_on", "provider", "provider_other", "details", "outcome")
STATUS_FIELDS = ("status", "as_of", "notes")
DOCUMENT_FIELDS = ("kind", "number", "issued_by", "issued_on", "expires_on", "is_current", "notes")
GUARDIAN_FIELDS = ("name", "relationship", "contact", "safe_to_contact", "notes")
AUTHORITY_FIELDS = ("notified_on", "reference", "notified_by", "notes")
AGE_FIELDS = ("method", "assessed_on", "result", "estimated_age", "assessor", "notes")
CONSENT_FIELDS = (
    "purpose",
    "agency",
    "scope",
    "given_on",
    "valid_until",
    "method",
    "interpreter_used",
    "interpreter_language",
)
WITHDRAWAL_FIELDS = ("withdrawn_on", "withdrawal_method", "withdrawal_notes")


def can_record(case_person, user) -> bool:
    """May ``user`` change the care records of this victim? Visible for change (team, owner, leadership,
    break-glass; not a read-only share) and holding ``care.record``."""
    return victims_visible_to(user, "change").filter(pk=case_person.pk).exists()


def _require(case_person, actor) -> None:
    if not can_record(case_person, actor):
        raise PermissionDenied


def _check_fields(fields: dict, allowed: tuple[str, ...]) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"not care fields: {sorted(unknown)}")


def _filled(fields: dict) -> list[str]:
    return [name for name, value in fields.items() if value not in (None, "", [], False)]


def _where(case_person) -> dict:
    return {"case_id": case_person.case_id, "case_person_id": case_person.pk}


def _create(model, case_person, *, actor, event: str, fields: dict, allowed: tuple[str, ...], **extra):
    _require(case_person, actor)
    _check_fields(fields, allowed)
    record = model(case_person=case_person, recorded_by=actor, **extra, **fields)
    record.full_clean()
    record.save()
    audit.record(event, actor=actor, obj=record, changed_fields=_filled(fields), details=_where(case_person))
    return record


def _update(record, *, actor, version: int, event: str, fields: dict, allowed: tuple[str, ...], before_save=None):
    case_person = record.case_person
    _require(case_person, actor)
    _check_fields(fields, allowed)
    check_version(type(record), record.pk, version)
    # Work on the stored row, not on whatever the caller holds in memory.
    record = type(record)._base_manager.get(pk=record.pk)
    before = audit.snapshot(record, fields.keys())
    for name, value in fields.items():
        setattr(record, name, value)
    if before_save is not None:
        before_save(record, before)
    record.full_clean()
    record.version += 1
    record.save()
    audit.record(
        event,
        actor=actor,
        obj=record,
        changed_fields=audit.changed(record, before, fields.keys()),
        details=_where(case_person),
    )
    return record


def _visible_to_owner(case_person, user) -> None:
    """A plan action or notification may only name someone who can see this victim: never a suspect-only
    handler or a partner, who would be handed a survivor's care without being entitled to it."""
    if not victims_visible_to(user).filter(pk=case_person.pk).exists():
        raise ValidationError(
            {"owner": _("This person cannot see this victim's care record; choose someone on the care team.")}
        )


# --- needs ----------------------------------------------------------------------------------------------


def _need_dates(need: Need, before: dict) -> None:
    # Closing a need dates it; reopening it clears the date (issue #4: "dates" of each need).
    if need.status in NEED_CLOSED and not need.resolved_on:
        need.resolved_on = timezone.localdate()
    elif need.status not in NEED_CLOSED:
        need.resolved_on = None


@transaction.atomic
def add_need(case_person, *, actor, **fields) -> Need:
    _require(case_person, actor)
    _check_fields(fields, NEED_FIELDS)
    need = Need(case_person=case_person, recorded_by=actor, **fields)
    _need_dates(need, {})
    need.full_clean()
    need.save()
    audit.record("care.need_added", actor=actor, obj=need, changed_fields=_filled(fields), details=_where(case_person))
    return need


@transaction.atomic
def update_need(need: Need, *, actor, version: int, **fields) -> Need:
    return _update(
        need,
        actor=actor,
        version=version,
        event="care.need_updated",
        fields=fields,
        allowed=NEED_FIELDS,
        before_save=_need_dates,
    )


# --- risk -----------------------------------------------------------------------------------------------


@transaction.atomic
def record_risk_assessment(
    case_person, *, actor, level: str, factors: str, assessed_on=None, next_review_on=None
) -> RiskAssessment:
    """A new assessment (the earlier ones stay as history). Without a review date, the schedule for the level
    sets it (``RISK_REVIEW_DAYS``); an earlier date may be chosen, never a later one."""
    assessed_on = assessed_on or timezone.localdate()
    if next_review_on is None and level:
        try:
            next_review_on = RiskAssessment.latest_review_date(level, assessed_on)
        except ValueError:
            raise ValidationError({"level": _("Choose a risk level.")}) from None
    fields = {
        "level": level,
        "factors": (factors or "").strip(),
        "assessed_on": assessed_on,
        "next_review_on": next_review_on,
    }
    return _create(
        RiskAssessment, case_person, actor=actor, event="care.risk_assessed", fields=fields, allowed=RISK_FIELDS
    )


# --- plans ----------------------------------------------------------------------------------------------


@transaction.atomic
def add_plan(case_person, *, actor, **fields) -> CarePlan:
    return _create(CarePlan, case_person, actor=actor, event="care.plan_added", fields=fields, allowed=PLAN_FIELDS)


@transaction.atomic
def update_plan(plan: CarePlan, *, actor, version: int, **fields) -> CarePlan:
    return _update(plan, actor=actor, version=version, event="care.plan_updated", fields=fields, allowed=PLAN_FIELDS)


@transaction.atomic
def add_goal(plan: CarePlan, *, actor, **fields) -> PlanGoal:
    _require(plan.case_person, actor)
    _check_fields(fields, GOAL_FIELDS)
    goal = PlanGoal(plan=plan, recorded_by=actor, **fields)
    goal.full_clean()
    goal.save()
    audit.record(
        "care.goal_added",
        actor=actor,
        obj=goal,
        changed_fields=_filled(fields),
        details={**_where(plan.case_person), "plan_id": plan.pk},
    )
    return goal


@transaction.atomic
def update_goal(goal: PlanGoal, *, actor, version: int, **fields) -> PlanGoal:
    return _update(goal, actor=actor, version=version, event="care.goal_updated", fields=fields, allowed=GOAL_FIELDS)


def _action_dates(item: PlanAction, before: dict) -> None:
    if item.owner_id:
        _visible_to_owner(item.case_person, item.owner)
    if item.status == ActionStatus.DONE and not item.completed_on:
        item.completed_on = timezone.localdate()
    elif item.status != ActionStatus.DONE:
        item.completed_on = None


@transaction.atomic
def add_plan_action(goal: PlanGoal, *, actor, **fields) -> PlanAction:
    _require(goal.case_person, actor)
    _check_fields(fields, PLAN_ACTION_FIELDS)
    item = PlanAction(goal=goal, recorded_by=actor, **fields)
    _action_dates(item, {})
    item.full_clean()
    item.save()
    audit.record(
        "care.plan_action_added",
        actor=actor,
        obj=item,
        changed_fields=_filled(fields),
        details={**_where(goal.case_person), "goal_id": goal.pk},
    )
    return item


@transaction.atomic
def update_plan_action(item: PlanAction, *, actor, version: int, **fields) -> PlanAction:
    return _update(
        item,
        actor=actor,
        version=version,
        event="care.plan_action_updated",
        fields=fields,
        allowed=PLAN_ACTION_FIELDS,
        before_save=_action_dates,
    )


# --- services -------------------------------------------------------------------------------------------


@transaction.atomic
def record_service(case_person, *, actor, **fields) -> ServiceDelivery:
    return _create(
        ServiceDelivery, case_person, actor=actor, event="care.service_recorded", fields=fields, allowed=SERVICE_FIELDS
    )


@transaction.atomic
def update_service(service: ServiceDelivery, *, actor, version: int, **fields) -> ServiceDelivery:
    return _update(
        service, actor=actor, version=version, event="care.service_updated", fields=fields, allowed=SERVICE_FIELDS
    )


# --- immigration ----------------------------------------------------------------------------------------


@transaction.atomic
def record_immigration_status(case_person, *, actor, **fields) -> ImmigrationStatus:
    return _create(
        ImmigrationStatus,
        case_person,
        actor=actor,
        event="care.immigration_status_recorded",
        fields=fields,
        allowed=STATUS_FIELDS,
    )


@transaction.atomic
def add_document(case_person, *, actor, **fields) -> ImmigrationDocument:
    return _create(
        ImmigrationDocument,
        case_person,
        actor=actor,
        event="care.document_added",
        fields=fields,
        allowed=DOCUMENT_FIELDS,
    )


def _rearm_expiry_alert(document: ImmigrationDocument, before: dict) -> None:
    # A renewed permit (new expiry date) gets its own alert 30 days before the new date.
    if "expires_on" in before and before["expires_on"] != document.expires_on:
        document.expiry_alerted_at = None


@transaction.atomic
def update_document(document: ImmigrationDocument, *, actor, version: int, **fields) -> ImmigrationDocument:
    return _update(
        document,
        actor=actor,
        version=version,
        event="care.document_updated",
        fields=fields,
        allowed=DOCUMENT_FIELDS,
        before_save=_rearm_expiry_alert,
    )


def flag_expiring_permits(now=None) -> int:
    """Alert the case owner (and whoever the ``care.permit_expiring`` rule names) once per document held,
    ``PERMIT_ALERT_DAYS`` days before it expires. Run by ``alerts.tasks.run_periodic_checks``; idempotent:
    each document is claimed before its alert, so a second run, or a second worker, sends nothing. The
    message carries the case reference and the date only, never a name or a document number."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    due = ImmigrationDocument.objects.filter(
        is_current=True, expiry_alerted_at__isnull=True, expires_on__isnull=False,
        expires_on__gte=today, expires_on__lte=today + timedelta(days=PERMIT_ALERT_DAYS),
    ).exclude(case_person__case__status__in=[CaseStatus.CLOSED, CaseStatus.CLOSED_REFERRED])  # fmt: skip
    count = 0
    for document in due.select_related("case_person__case__owner"):
        with transaction.atomic():
            if not ImmigrationDocument.objects.filter(pk=document.pk, expiry_alerted_at__isnull=True).update(
                expiry_alerted_at=now
            ):
                continue
            case = document.case_person.case
            audit.record(
                "care.permit_expiry_alerted",
                actor=None,
                obj=document,
                details={"case_id": case.pk, "case_person_id": document.case_person_id},
            )
            days = (document.expires_on - today).days
            message = ngettext(
                "An immigration document of a victim in case %(ref)s expires on %(date)s (in %(days)s day).",
                "An immigration document of a victim in case %(ref)s expires on %(date)s (in %(days)s days).",
                days,
            ) % {"ref": case.reference, "date": document.expires_on.isoformat(), "days": days}
            dispatch("care.permit_expiring", message=message, link=document.get_absolute_url(), assignee=case.owner)
            count += 1
    return count


# --- children -------------------------------------------------------------------------------------------


@transaction.atomic
def add_guardian(case_person, *, actor, **fields) -> Guardian:
    return _create(
        Guardian, case_person, actor=actor, event="care.guardian_added", fields=fields, allowed=GUARDIAN_FIELDS
    )


@transaction.atomic
def update_guardian(guardian: Guardian, *, actor, version: int, **fields) -> Guardian:
    return _update(
        guardian, actor=actor, version=version, event="care.guardian_updated", fields=fields, allowed=GUARDIAN_FIELDS
    )


@transaction.atomic
def record_authority_notification(case_person, *, actor, **fields) -> AuthorityNotification:
    fields.setdefault("notified_by", actor)
    _require(case_person, actor)
    try:
        _visible_to_owner(case_person, fields["notified_by"])
    except ValidationError:
        raise ValidationError({"notified_by": _("Choose a member of the unit who can see this victim.")}) from None
    return _create(
        AuthorityNotification,
        case_person,
        actor=actor,
        event="care.authority_notified",
        fields=fields,
        allowed=AUTHORITY_FIELDS,
    )


@transaction.atomic
def record_age_assessment(case_person, *, actor, **fields) -> AgeAssessment:
    return _create(
        AgeAssessment, case_person, actor=actor, event="care.age_assessed", fields=fields, allowed=AGE_FIELDS
    )


# --- consent --------------------------------------------------------------------------------------------


@transaction.atomic
def record_consent(case_person, *, actor, **fields) -> Consent:
    if fields.get("purpose") != ConsentPurpose.SHARING and "agency" not in fields:
        fields["agency"] = None
    return _create(
        Consent, case_person, actor=actor, event="care.consent_recorded", fields=fields, allowed=CONSENT_FIELDS
    )


@transaction.atomic
def withdraw_consent(
    consent: Consent, *, actor, version: int, withdrawn_on=None, withdrawal_method: str, withdrawal_notes: str = ""
) -> Consent:
    """Record that consent was withdrawn: the consent stays on record, no longer in force from that day."""
    _require(consent.case_person, actor)
    stored = Consent.objects.filter(pk=consent.pk).values_list("withdrawn_on", flat=True).first()
    if stored is not None:
        raise ValidationError(_("This consent was already withdrawn."))

    def stamp(record: Consent, before: dict) -> None:
        record.withdrawal_recorded_by = actor
        record.withdrawal_recorded_at = timezone.now()

    fields = {
        "withdrawn_on": withdrawn_on or timezone.localdate(),
        "withdrawal_method": withdrawal_method,
        "withdrawal_notes": withdrawal_notes,
    }
    return _update(
        consent,
        actor=actor,
        version=version,
        event="care.consent_withdrawn",
        fields=fields,
        allowed=WITHDRAWAL_FIELDS,
        before_save=stamp,
    )

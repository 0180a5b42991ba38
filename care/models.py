"""Victim care (issue #4): needs, safety risk, care and transition plans, services, immigration documents,
child safeguarding and consent, each recorded per victim (a ``CasePerson`` with the victim role).

Who may see any of it is who may see the victim's link to the case (``CasePerson.objects.visible_to``): the
case's care team and owner, leadership, shares of the victims' side, break-glass. Suspect-only handlers and
partner agencies never do. Changing it also needs the ``care.record`` permission. Narratives, numbers,
names and contacts are encrypted; nothing here is ever deleted by the application (withdrawn consent stays
on record as withdrawn).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from care.choices import (
    NEED_CLOSED,
    RISK_REVIEW_DAYS,
    ActionStatus,
    AgeMethod,
    AgeResult,
    ConsentMethod,
    ConsentPurpose,
    DocumentKind,
    GoalStatus,
    GuardianRelationship,
    ImmigrationStatusKind,
    NeedPriority,
    NeedStatus,
    NeedType,
    PlanKind,
    PlanType,
    RiskLevel,
    ServiceType,
    WithdrawalMethod,
)
from cases.choices import PersonRole
from utilities.crypto import EncryptedTextField
from utilities.querysets import RestrictedQuerySet


def victims_visible_to(user, action: str = "view"):
    """The victims' links whose care records ``user`` may see ("view") or record ("change")."""
    from cases.models import CasePerson

    victims = CasePerson.objects.visible_to(user, action).filter(role=PersonRole.VICTIM)
    if action == "change" and not user.has_perm("care.record"):
        return victims.none()
    return victims


class CareQuerySet(RestrictedQuerySet):
    """Care records follow the victim they belong to (``victim_path`` leads from the record to the link)."""

    victim_path = "case_person"

    def _restrict(self, user, action):
        if action not in {"view", "change"}:
            return self.none()
        return self.filter(**{f"{self.victim_path}__in": victims_visible_to(user, action).values("pk")})


class GoalQuerySet(CareQuerySet):
    victim_path = "plan__case_person"


class PlanActionQuerySet(CareQuerySet):
    victim_path = "goal__plan__case_person"


def _not_in_future(errors: dict, field: str, value, label) -> None:
    if value and value > timezone.localdate():
        errors[field] = _("%(label)s cannot be in the future.") % {"label": label}


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


class CareRecord(models.Model):
    """What every care record carries: who recorded it and when. Each subclass declares ``case_person`` (the
    victim's link to the case) with its own related name; PROTECT, because care records are never lost with it."""

    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    objects = CareQuerySet.as_manager()

    class Meta:
        abstract = True

    def get_absolute_url(self) -> str:
        return reverse("care:case_care", args=[self.case_person.case_id]) + f"#victim-{self.case_person_id}"


# --- needs and risk -------------------------------------------------------------------------------------


class Need(CareRecord):
    case_person = models.ForeignKey(
        "cases.CasePerson", verbose_name=_("victim"), on_delete=models.PROTECT, related_name="care_needs"
    )
    need_type = models.CharField(_("need"), max_length=20, choices=NeedType.choices)
    priority = models.CharField(_("priority"), max_length=10, choices=NeedPriority.choices, default=NeedPriority.MEDIUM)
    status = models.CharField(_("status"), max_length=20, choices=NeedStatus.choices, default=NeedStatus.IDENTIFIED)
    identified_on = models.DateField(_("identified on"), default=timezone.localdate)
    due_on = models.DateField(_("to be met by"), null=True, blank=True)
    resolved_on = models.DateField(_("met or closed on"), null=True, blank=True)
    notes = EncryptedTextField(_("notes"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        ordering = ["status", "identified_on", "id"]

    @property
    def is_open(self) -> bool:
        return self.status not in NEED_CLOSED

    def clean(self):
        errors: dict = {}
        _not_in_future(errors, "identified_on", self.identified_on, _("The date identified"))
        if self.due_on and self.identified_on and self.due_on < self.identified_on:
            errors["due_on"] = _("The target date is before the date identified.")
        if self.resolved_on and self.identified_on and self.resolved_on < self.identified_on:
            errors["resolved_on"] = _("The need cannot be closed before it was identified.")
        _not_in_future(errors, "resolved_on", self.resolved_on, _("The date met or closed"))
        _raise(errors)


class RiskAssessment(CareRecord):
    """One safety risk assessment. Never edited: a new assessment is a new row, so the history stays."""

    case_person = models.ForeignKey(
        "cases.CasePerson", verbose_name=_("victim"), on_delete=models.PROTECT, related_name="risk_assessments"
    )
    level = models.CharField(_("safety risk level"), max_length=10, choices=RiskLevel.choices)
    factors = EncryptedTextField(_("risk factors"))
    assessed_on = models.DateField(_("assessed on"), default=timezone.localdate)
    next_review_on = models.DateField(_("next review by"))

    class Meta:
        verbose_name = _("risk assessment")
        verbose_name_plural = _("risk assessments")
        ordering = ["-assessed_on", "-id"]

    @staticmethod
    def latest_review_date(level: str, assessed_on):
        return assessed_on + timedelta(days=RISK_REVIEW_DAYS[RiskLevel(level)])

    @property
    def is_overdue(self) -> bool:
        return self.next_review_on < timezone.localdate()

    def clean(self):
        errors: dict = {}
        _not_in_future(errors, "assessed_on", self.assessed_on, _("The assessment date"))
        if self.level in RiskLevel.values and self.assessed_on and self.next_review_on:
            latest = self.latest_review_date(self.level, self.assessed_on)
            if self.next_review_on < self.assessed_on:
                errors["next_review_on"] = _("The review date is before the assessment.")
            elif self.next_review_on > latest:
                errors["next_review_on"] = _("A %(level)s risk must be reviewed within %(days)s days, by %(date)s at the latest.") % {
                    "level": RiskLevel(self.level).label.lower(), "days": RISK_REVIEW_DAYS[RiskLevel(self.level)], "date": latest.isoformat(),
                }  # fmt: skip
        _raise(errors)


# --- care and transition plans (HTCDS spl_) -------------------------------------------------------------


class CarePlan(CareRecord):
    case_person = models.ForeignKey(
        "cases.CasePerson", verbose_name=_("victim"), on_delete=models.PROTECT, related_name="care_plans"
    )
    kind = models.CharField(_("plan"), max_length=12, choices=PlanKind.choices, default=PlanKind.CARE)
    plan_type = models.CharField(_("type (HTCDS)"), max_length=40, choices=PlanType.choices)
    objectives = EncryptedTextField(_("objectives"))
    action_plan = EncryptedTextField(_("action plan"), blank=True)
    start_on = models.DateField(_("starts on"), default=timezone.localdate)
    planned_end_date = models.DateField(_("planned end date"), null=True, blank=True)
    actual_end_date = models.DateField(_("actual end date"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("care or transition plan")
        verbose_name_plural = _("care and transition plans")
        ordering = ["actual_end_date", "-start_on", "-id"]

    @property
    def is_active(self) -> bool:
        return self.actual_end_date is None

    def clean(self):
        errors: dict = {}
        if self.planned_end_date and self.start_on and self.planned_end_date < self.start_on:
            errors["planned_end_date"] = _("The planned end is before the start.")
        if self.actual_end_date and self.start_on and self.actual_end_date < self.start_on:
            errors["actual_end_date"] = _("The plan cannot end before it starts.")
        _not_in_future(errors, "actual_end_date", self.actual_end_date, _("The actual end date"))
        _raise(errors)


class PlanGoal(models.Model):
    plan = models.ForeignKey(CarePlan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="goals")
    description = EncryptedTextField(_("goal"))
    due_on = models.DateField(_("target date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=GoalStatus.choices, default=GoalStatus.OPEN)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = GoalQuerySet.as_manager()

    class Meta:
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        ordering = ["id"]

    def get_absolute_url(self) -> str:
        return self.plan.get_absolute_url()

    @property
    def case_person(self):
        return self.plan.case_person


class PlanAction(models.Model):
    goal = models.ForeignKey(PlanGoal, verbose_name=_("goal"), on_delete=models.PROTECT, related_name="actions")
    description = EncryptedTextField(_("action"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible"),
        on_delete=models.PROTECT,
        related_name="care_plan_actions",
    )
    due_on = models.DateField(_("due on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=ActionStatus.choices, default=ActionStatus.TODO)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = PlanActionQuerySet.as_manager()

    class Meta:
        verbose_name = _("plan action")
        verbose_name_plural = _("plan actions")
        ordering = ["due_on", "id"]

    def get_absolute_url(self) -> str:
        return self.goal.plan.get_absolute_url()

    @property
    def case_person(self):
        return self.goal.plan.case_person

    @property
    def is_overdue(self) -> bool:
        return (
            bool(self.due_on)
            and self.status in {ActionStatus.TODO, ActionStatus.IN_PROGRESS}
            and self.due_on < timezone.localdate()
        )


# --- services delivered ---------------------------------------------------------------------------------


class ServiceDelivery(CareRecord):
    """A service the victim received: a shelter stay (from, to), a counselling session, legal aid..."""

    case_person = models.ForeignKey(
        "cases.CasePerson", verbose_name=_("victim"), on_delete=models.PROTECT, related_name="services_received"
    )
    service_type = models.CharField(_("service"), max_length=20, choices=ServiceType.choices)
    delivered_on = models.DateField(_("date (from)"), default=timezone.localdate)
    ended_on = models.DateField(
        _("until"), null=True, blank=True, help_text=_("For stays and courses; leave empty while it continues.")
    )
    provider = models.ForeignKey(
        "directory.Agency",
        verbose_name=_("provider (agency)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    provider_other = EncryptedTextField(
        _("provider (other)"), blank=True, help_text=_("When the provider is not in the agency directory.")
    )
    details = EncryptedTextField(_("what was provided"), blank=True)
    outcome = EncryptedTextField(_("outcome"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("service delivered")
        verbose_name_plural = _("services delivered")
        ordering = ["-delivered_on", "-id"]

    @property
    def is_ongoing(self) -> bool:
        return self.service_type == ServiceType.ACCOMMODATION and self.ended_on is None

    def clean(self):
        errors: dict = {}
        _not_in_future(errors, "delivered_on", self.delivered_on, _("The date"))
        if self.ended_on and self.delivered_on and self.ended_on < self.delivered_on:
            errors["ended_on"] = _("The end is before the start.")
        if self.service_type == ServiceType.ACCOMMODATION and not self.provider_id:
            errors["provider"] = _("Choose the shelter or accommodation provider from the directory.")
        elif not self.provider_id and not (self.provider_other or "").strip():
            errors["provider"] = _("Choose the provider from the directory, or name it below.")
        _raise(errors)


# --- immigration ----------------------------------------------------------------------------------------


class ImmigrationStatus(CareRecord):
    """The victim's immigration status as known on a date; each change is a new row."""

    case_person = models.ForeignKey(
        "cases.CasePerson", verbose_name=_("victim"), on_delete=models.PROTECT, related_name="immigration_statuses"
    )
    status = models.CharField(_("immigration status"), max_length=20, choices=ImmigrationStatusKind.choices)
    as_of = models.DateField(_("as of"), default=timezone.localdate)
    notes = EncryptedTextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("immigration status")
        verbose_name_plural = _("immigration statuses")
        ordering = ["-as_of", "-id"]

    def clean(self):
        errors: dict = {}
        _not_in_future(errors, "as_of", self.as_of, _("The date"))
        _raise(errors)


class ImmigrationDocument(CareRecord):
    """A permit, visa or certificate the victim holds. The periodic check alerts the case owner once, 30 days
    before expiry (``care.actions.flag_expiring_permits``); changing the expiry date re-arms the alert."""

    case_person = models.ForeignKey(
        "cases.CasePerson", verbose_name=_("victim"), on_delete=models.PROTECT, related_name="immigration_documents"
    )
    kind = models.CharField(_("document"), max_length=24, choices=DocumentKind.choices)
    number = EncryptedTextField(_("document number"), blank=True)
    issued_by = models.CharField(_("issued by"), max_length=120, blank=True)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    is_current = models.BooleanField(
        _("currently held"), default=True, help_text=_("Untick when replaced, surrendered or no longer valid.")
    )
    notes = EncryptedTextField(_("notes"), blank=True)
    expiry_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("immigration document")
        verbose_name_plural = _("immigration documents")
        ordering = ["-is_current", "expires_on", "id"]

    def days_left(self, today=None) -> int | None:
        if self.expires_on is None:
            return None
        return (self.expires_on - (today or timezone.localdate())).days

    def clean(self):
        errors: dict = {}
        _not_in_future(errors, "issued_on", self.issued_on, _("The issue date"))
        if self.issued_on and self.expires_on and self.expires_on < self.issued_on:
            errors["expires_on"] = _("The document expires before it was issued.")
        _raise(errors)


# --- children -------------------------------------------------------------------------------------------


class Guardian(CareRecord):
    case_person = models.ForeignKey(
        "cases.CasePerson", verbose_name=_("victim"), on_delete=models.PROTECT, related_name="guardians"
    )
    name = EncryptedTextField(_("name"))
    relationship = models.CharField(_("relationship"), max_length=20, choices=GuardianRelationship.choices)
    contact = EncryptedTextField(_("contact details"), blank=True)
    safe_to_contact = models.BooleanField(
        _("safe to contact"), default=False, help_text=_("Tick only once it is established that this person is not implicated in the exploitation."),
    )  # fmt: skip
    notes = EncryptedTextField(_("notes"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("parent or guardian")
        verbose_name_plural = _("parents and guardians")
        ordering = ["id"]


class AuthorityNotification(CareRecord):
    """The Children's Authority was told about a child victim (date, their reference, by whom)."""

    case_person = models.ForeignKey(
        "cases.CasePerson", verbose_name=_("victim"), on_delete=models.PROTECT, related_name="authority_notifications"
    )
    notified_on = models.DateField(_("notified on"), default=timezone.localdate)
    reference = EncryptedTextField(_("Children's Authority reference"), blank=True)
    notified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("notified by"), on_delete=models.PROTECT, related_name="+"
    )
    notes = EncryptedTextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("Children's Authority notification")
        verbose_name_plural = _("Children's Authority notifications")
        ordering = ["-notified_on", "-id"]

    def clean(self):
        errors: dict = {}
        _not_in_future(errors, "notified_on", self.notified_on, _("The notification date"))
        _raise(errors)


class AgeAssessment(CareRecord):
    case_person = models.ForeignKey(
        "cases.CasePerson", verbose_name=_("victim"), on_delete=models.PROTECT, related_name="age_assessments"
    )
    method = models.CharField(_("method"), max_length=20, choices=AgeMethod.choices)
    assessed_on = models.DateField(_("assessed on"), default=timezone.localdate)
    result = models.CharField(_("result"), max_length=14, choices=AgeResult.choices)
    estimated_age = models.PositiveSmallIntegerField(_("estimated age"), null=True, blank=True)
    assessor = EncryptedTextField(_("assessed by"), blank=True)
    notes = EncryptedTextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("age assessment")
        verbose_name_plural = _("age assessments")
        ordering = ["-assessed_on", "-id"]

    def clean(self):
        errors: dict = {}
        _not_in_future(errors, "assessed_on", self.assessed_on, _("The assessment date"))
        if self.estimated_age is not None:
            if self.estimated_age > 120:
                errors["estimated_age"] = _("Give an age in years.")
            elif self.result == AgeResult.UNDER_18 and self.estimated_age >= 18:
                errors["estimated_age"] = _("The estimated age contradicts the result.")
            elif self.result == AgeResult.ADULT and self.estimated_age < 18:
                errors["estimated_age"] = _("The estimated age contradicts the result.")
        _raise(errors)


# --- consent --------------------------------------------------------------------------------------------


class Consent(CareRecord):
    """Consent for one purpose (HTCDS ``con_Consent``, recorded per purpose). Withdrawal is recorded on the
    row, which is never deleted. ``care.consent`` answers whether a consent is in force."""

    case_person = models.ForeignKey(
        "cases.CasePerson", verbose_name=_("victim"), on_delete=models.PROTECT, related_name="consents"
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    agency = models.ForeignKey(
        "directory.Agency", verbose_name=_("agency"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text=_("Required for sharing: consent to share is given for one named agency."),
    )  # fmt: skip
    scope = EncryptedTextField(_("what was agreed"), blank=True)
    given_on = models.DateField(_("given on"), default=timezone.localdate)
    valid_until = models.DateField(_("valid until"), null=True, blank=True, help_text=_("Leave empty if open-ended."))
    method = models.CharField(_("how given"), max_length=12, choices=ConsentMethod.choices)
    interpreter_used = models.BooleanField(_("an interpreter was used"), default=False)
    interpreter_language = models.CharField(_("interpreted language"), max_length=60, blank=True)
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)
    withdrawal_method = models.CharField(
        _("how withdrawn"), max_length=16, choices=WithdrawalMethod.choices, blank=True
    )
    withdrawal_notes = EncryptedTextField(_("notes on the withdrawal"), blank=True)
    withdrawal_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawal_recorded_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["purpose", "-given_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(purpose="sharing") | models.Q(agency__isnull=False),
                name="care_consent_sharing_names_agency",
            ),
        ]

    def in_force_on(self, day) -> bool:
        return (
            self.given_on <= day
            and (self.withdrawn_on is None or self.withdrawn_on > day)
            and (self.valid_until is None or self.valid_until >= day)
        )

    @property
    def in_force(self) -> bool:
        return self.in_force_on(timezone.localdate())

    def clean(self):
        errors: dict = {}
        _not_in_future(errors, "given_on", self.given_on, _("The date consent was given"))
        if self.purpose == ConsentPurpose.SHARING and not self.agency_id:
            errors["agency"] = _("Consent to share must name the agency it may be shared with.")
        if self.interpreter_used and not self.interpreter_language.strip():
            errors["interpreter_language"] = _("Say which language was interpreted.")
        if self.valid_until and self.given_on and self.valid_until < self.given_on:
            errors["valid_until"] = _("The consent ends before it was given.")
        if self.withdrawn_on:
            if self.given_on and self.withdrawn_on < self.given_on:
                errors["withdrawn_on"] = _("Consent cannot be withdrawn before it was given.")
            _not_in_future(errors, "withdrawn_on", self.withdrawn_on, _("The withdrawal date"))
            if not self.withdrawal_method:
                errors["withdrawal_method"] = _("Say how the consent was withdrawn.")
        _raise(errors)

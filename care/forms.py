"""Forms of the victim care pages. They validate input (including the models' own checks) and hand the
cleaned data to the named actions in ``care.actions``; they never save."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from care.choices import RISK_REVIEW_DAYS, ServiceType
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
from directory.models import Agency
from utilities.forms import BootstrapMixin


def date_input() -> forms.DateInput:
    # ISO format whatever the interface language: the browser's date picker reads and writes only that.
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def text_area(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "maxlength": 10000})


def colleagues_who_see(case_person):
    """Active members of the unit who may see this victim: the only people a care task may be given to."""
    candidates = User.objects.filter(is_active=True, agency__is_home_unit=True).order_by(
        "first_name", "last_name", "username"
    )
    return User.objects.filter(
        pk__in=[u.pk for u in candidates if victims_visible_to(u).filter(pk=case_person.pk).exists()]
    ).order_by("first_name", "last_name", "username")


class CareForm(BootstrapMixin, forms.ModelForm):
    """A care record's form; ``version`` is present when editing (optimistic locking)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, case_person=None, **kwargs):
        self.case_person = case_person
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            del self.fields["version"]
        for name, field in self.fields.items():
            if isinstance(field, forms.DateField):
                field.widget = date_input()
                field.widget.attrs["class"] = "form-control"
            if isinstance(field.widget, forms.Textarea):
                field.widget.attrs.setdefault("rows", 3)
                field.widget.attrs.setdefault("maxlength", 10000)
            if isinstance(field, forms.ModelChoiceField) and field.queryset.model is Agency:
                field.queryset = Agency.objects.filter(is_active=True).order_by("name")
            if name in {
                "number",
                "reference",
                "interpreter_language",
                "issued_by",
                "provider_other",
                "name",
                "assessor",
            }:
                field.widget = forms.TextInput(attrs={"class": "form-control", "maxlength": 200})

    def action_fields(self) -> dict:
        """The cleaned data the action takes (everything but the version)."""
        return {
            name: value for name, value in self.cleaned_data.items() if name != "version" and name in self._meta.fields
        }

    def clean(self):
        cleaned = super().clean()
        for name in ("number", "reference", "interpreter_language", "issued_by", "provider_other", "name", "assessor"):
            if name in self.fields and len(cleaned.get(name) or "") > 200:
                self.add_error(name, _("This is too long."))
        return cleaned


class NeedForm(CareForm):
    class Meta:
        model = Need
        fields = ["need_type", "priority", "status", "identified_on", "due_on", "resolved_on", "notes"]
        help_texts = {"resolved_on": _("Filled in for you when the need is met or no longer needed.")}


class RiskForm(CareForm):
    next_review_on = forms.DateField(label=_("Next review by"), required=False)

    class Meta:
        model = RiskAssessment
        fields = ["level", "factors", "assessed_on", "next_review_on"]
        widgets = {"factors": text_area(5)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        schedule = {level.value: days for level, days in RISK_REVIEW_DAYS.items()}
        self.fields["next_review_on"].help_text = (
            _(
                "Leave empty to follow the schedule: critical %(critical)s days, high %(high)s, medium %(medium)s, low %(low)s. An earlier date is allowed, a later one is not."
            )
            % schedule
        )

    def _post_clean(self):
        # The schedule fills in an empty review date before the model checks it against the level.
        if (
            self.cleaned_data.get("next_review_on") is None
            and self.cleaned_data.get("level")
            and self.cleaned_data.get("assessed_on")
        ):
            self.cleaned_data["next_review_on"] = RiskAssessment.latest_review_date(
                self.cleaned_data["level"], self.cleaned_data["assessed_on"]
            )
        super()._post_clean()


class PlanForm(CareForm):
    class Meta:
        model = CarePlan
        fields = ["kind", "plan_type", "objectives", "action_plan", "start_on", "planned_end_date", "actual_end_date"]
        widgets = {"objectives": text_area(4), "action_plan": text_area(5)}


class GoalForm(CareForm):
    class Meta:
        model = PlanGoal
        fields = ["description", "due_on", "status"]
        widgets = {"description": text_area(2)}


class PlanActionForm(CareForm):
    class Meta:
        model = PlanAction
        fields = ["description", "owner", "due_on", "status", "completed_on"]
        widgets = {"description": text_area(2)}
        help_texts = {"completed_on": _("Filled in for you when the action is done.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.case_person is not None:
            self.fields["owner"].queryset = colleagues_who_see(self.case_person)
        self.fields["owner"].label_from_instance = lambda user: user.display_name


class ServiceForm(CareForm):
    class Meta:
        model = ServiceDelivery
        fields = ["service_type", "delivered_on", "ended_on", "provider", "provider_other", "details", "outcome"]

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("service_type") != ServiceType.ACCOMMODATION
            and cleaned.get("provider")
            and (cleaned.get("provider_other") or "").strip()
        ):
            self.add_error("provider_other", _("Choose an agency or name another provider, not both."))
        return cleaned


class ImmigrationStatusForm(CareForm):
    class Meta:
        model = ImmigrationStatus
        fields = ["status", "as_of", "notes"]


class DocumentForm(CareForm):
    class Meta:
        model = ImmigrationDocument
        fields = ["kind", "number", "issued_by", "issued_on", "expires_on", "is_current", "notes"]


class GuardianForm(CareForm):
    class Meta:
        model = Guardian
        fields = ["name", "relationship", "contact", "safe_to_contact", "notes"]
        widgets = {"contact": text_area(2)}


class AuthorityNotificationForm(CareForm):
    class Meta:
        model = AuthorityNotification
        fields = ["notified_on", "reference", "notified_by", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.case_person is not None:
            self.fields["notified_by"].queryset = colleagues_who_see(self.case_person)
        self.fields["notified_by"].label_from_instance = lambda user: user.display_name


class AgeAssessmentForm(CareForm):
    class Meta:
        model = AgeAssessment
        fields = ["method", "assessed_on", "result", "estimated_age", "assessor", "notes"]


class ConsentForm(CareForm):
    class Meta:
        model = Consent
        fields = [
            "purpose",
            "agency",
            "scope",
            "given_on",
            "valid_until",
            "method",
            "interpreter_used",
            "interpreter_language",
        ]


class WithdrawConsentForm(BootstrapMixin, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Consent
        fields = ["withdrawn_on", "withdrawal_method", "withdrawal_notes"]

    def __init__(self, *args, case_person=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["withdrawn_on"].required = True
        self.fields["withdrawn_on"].widget = date_input()
        self.fields["withdrawn_on"].widget.attrs["class"] = "form-control"
        self.fields["withdrawal_method"].required = True

    def action_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields}

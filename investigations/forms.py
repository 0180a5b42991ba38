"""Forms of the investigation pages (issue #6): they validate input; actions make the changes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from cases.choices import PersonRole
from cases.models import CasePerson
from intake.filetypes import check_upload
from investigations.choices import SpecialMeasure
from investigations.models import (
    Arrest,
    Bail,
    Charge,
    CourtCase,
    CourtOrder,
    Evidence,
    Hearing,
    LogEntry,
    MLARequest,
    SuspectStatus,
    Task,
    VictimParticipation,
)
from utilities.forms import BootstrapMixin

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
TEXT = forms.Textarea(attrs={"rows": 4})


def unit_officers():
    return User.objects.filter(is_active=True, agency__is_home_unit=True).order_by("username")


class CaseForm(BootstrapMixin, forms.ModelForm):
    """A form bound to one case: person and court-case choices come from that case only."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    person_role: str | None = None
    person_field: str | None = None

    def __init__(self, *args, case, **kwargs):
        self.case = case
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
            self.fields["version"].required = True
        if self.person_field and self.person_field in self.fields:
            self.fields[self.person_field].queryset = CasePerson.objects.filter(
                case=case, role=self.person_role
            ).order_by("pseudonym", "pk")
            self.fields[self.person_field].label_from_instance = lambda link: link.pseudonym
        if "court_case" in self.fields:
            self.fields["court_case"].queryset = CourtCase.objects.filter(case=case)
        for name in ("officers", "owner", "seized_by"):
            if name in self.fields:
                self.fields[name].queryset = unit_officers()
        if "interviewee" in self.fields:
            self.fields["interviewee"].queryset = CasePerson.objects.filter(case=case).order_by("role", "pseudonym")
            self.fields["interviewee"].label_from_instance = lambda link: (
                f"{link.pseudonym} ({link.get_role_display()})"
            )


class LogForm(CaseForm):
    upload = forms.FileField(label=_("Attachment (PDF or image)"), required=False)

    class Meta:
        model = LogEntry
        fields = [
            "kind",
            "occurred_on",
            "title",
            "officers",
            "interviewee",
            "interpreter_used",
            "interpreter_language",
            "outcome",
        ]
        widgets = {"occurred_on": DATE, "outcome": TEXT, "officers": forms.SelectMultiple(attrs={"size": 5})}

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if upload:
            check_upload(upload, where="investigations.log_attachment", obj=self.case)
        return upload


class TaskForm(CaseForm):
    class Meta:
        model = Task
        fields = ["title", "owner", "due_on", "status"]
        widgets = {"due_on": DATE}


class ArrestForm(CaseForm):
    person_role, person_field = PersonRole.SUSPECT, "suspect"

    class Meta:
        model = Arrest
        fields = ["suspect", "arrested_on", "place", "arrested_by"]
        widgets = {"arrested_on": DATE, "place": forms.TextInput}


class BailForm(CaseForm):
    person_role, person_field = PersonRole.SUSPECT, "suspect"

    class Meta:
        model = Bail
        fields = ["suspect", "granted_on", "terms"]
        widgets = {"granted_on": DATE, "terms": TEXT}


class CustodyForm(CaseForm):
    class Meta:
        model = SuspectStatus
        fields = ["custody_status"]


class EvidenceForm(CaseForm):
    upload = forms.FileField(
        label=_("Digital evidence file"),
        required=False,
        help_text=_("Its SHA-256 is taken on upload and checked on every use."),
    )

    class Meta:
        model = Evidence
        fields = ["item", "description", "found_at", "seized_by", "seized_at", "storage_location"]
        widgets = {"seized_at": DATETIME, "description": TEXT, "found_at": forms.TextInput}

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if upload:
            check_upload(upload, where="investigations.evidence", obj=self.case)
        return upload


class HandOverForm(BootstrapMixin, forms.Form):
    to_user = forms.ModelChoiceField(label=_("Hand over to"), queryset=User.objects.none())
    reason = forms.CharField(label=_("Why"), widget=TEXT, max_length=2000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = unit_officers()


class MLAForm(CaseForm):
    class Meta:
        model = MLARequest
        fields = [
            "country",
            "authority",
            "request",
            "legal_basis",
            "sent_on",
            "acknowledged_on",
            "answered_on",
            "status",
        ]
        widgets = {"sent_on": DATE, "acknowledged_on": DATE, "answered_on": DATE, "request": TEXT}


class CourtCaseForm(CaseForm):
    class Meta:
        model = CourtCase
        fields = ["court", "number", "prosecutor"]


class ChargeForm(CaseForm):
    person_role, person_field = PersonRole.SUSPECT, "suspect"

    class Meta:
        model = Charge
        fields = ["suspect", "offence", "statute", "laid_on", "prosecutor", "court_case"]
        widgets = {"laid_on": DATE}


class OutcomeForm(CaseForm):
    class Meta:
        model = Charge
        fields = ["outcome", "outcome_on", "sentence", "compensation", "appeal"]
        widgets = {"outcome_on": DATE, "sentence": TEXT}


class HearingForm(CaseForm):
    class Meta:
        model = Hearing
        fields = ["court_case", "starts_at", "court", "purpose", "outcome"]
        widgets = {"starts_at": DATETIME, "outcome": TEXT}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["court"].required = False
        self.fields["court"].help_text = _("Leave empty for the court of the court case.")


class OrderForm(CaseForm):
    class Meta:
        model = CourtOrder
        fields = ["kind", "court_case", "terms", "made_on", "expires_on"]
        widgets = {"made_on": DATE, "expires_on": DATE, "terms": TEXT}


class ParticipationForm(CaseForm):
    person_role, person_field = PersonRole.VICTIM, "victim"
    special_measures = forms.MultipleChoiceField(
        label=_("Special measures"), choices=SpecialMeasure.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = VictimParticipation
        fields = ["victim", "agreed", "agreed_on", "support", "special_measures"]
        widgets = {"agreed_on": DATE, "support": TEXT}


class CourtFileForm(BootstrapMixin, forms.Form):
    reveal_identity = forms.BooleanField(
        label=_("Reveal the victims' identity"),
        required=False,
        help_text=_("By default victims appear by pseudonym only."),
    )
    reason = forms.CharField(
        label=_("Reason for revealing identity"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
    )

    def clean(self):
        data = super().clean()
        if data.get("reveal_identity") and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Give the reason for revealing the victims' identity."))
        return data

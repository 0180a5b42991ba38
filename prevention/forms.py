from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from directory.forms import LanguagesField
from intake.filetypes import check_upload
from prevention.choices import Subject
from prevention.models import REACH_FIELDS, Course, OutreachEvent, Participant, TrainerCertification, TrainingSession
from utilities.forms import BootstrapMixin

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OutreachEventForm(BootstrapMixin, forms.ModelForm):
    languages = LanguagesField(label=_("Languages"), help_text=_("ISO 639 codes separated by commas."))

    class Meta:
        model = OutreachEvent
        fields = [
            "kind", "title", "date", "place", "latitude", "longitude", "area_code", "partners", "languages", "audience",
            *[name for name, _sex, _age in REACH_FIELDS], "materials_count", "materials_kind", "hotline_calls",
        ]  # fmt: skip
        widgets = {"date": DATE, "partners": forms.CheckboxSelectMultiple}


class CourseForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Course
        fields = ["title", "subject", "pass_mark"]


class SessionForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = TrainingSession
        fields = ["course", "date", "place", "facilitators", "other_facilitators"]
        widgets = {"date": DATE, "facilitators": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facilitators"].queryset = User.objects.filter(is_active=True).order_by("username")


class ParticipantForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Participant
        fields = [
            "name", "agency", "organisation", "org_type", "sex", "attended", "certificate_issued", "pre_score", "post_score",
        ]  # fmt: skip


def with_version(form_class):
    """The same form with the hidden version it was loaded at, for editing an existing record."""
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    return type(f"Versioned{form_class.__name__}", (form_class,), {"version": version})


class ImportForm(BootstrapMixin, forms.Form):
    upload = forms.FileField(label=_("Participants file (CSV or XLSX)"))

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        check_upload(upload, where="prevention.participant_import")
        return upload


class CertificationForm(BootstrapMixin, forms.ModelForm):
    subjects = forms.MultipleChoiceField(
        label=_("Subjects"), choices=Subject.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = TrainerCertification
        fields = ["user", "participant", "subjects", "valid_until"]
        widgets = {"valid_until": DATE}

    def clean(self):
        data = super().clean()
        if bool(data.get("user")) == bool(data.get("participant")):
            raise forms.ValidationError(_("Choose either a user or a participant."))
        return data

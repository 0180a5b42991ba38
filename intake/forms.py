from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import User
from intake.choices import Exploitation, Priority, Urgency
from intake.models import Report
from utilities.forms import BootstrapMixin


class ReportForm(BootstrapMixin, forms.ModelForm):
    exploitation = forms.MultipleChoiceField(
        label=_("Suspected exploitation"), choices=Exploitation.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    received_at = forms.DateTimeField(
        label=_("Received"), initial=timezone.now, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Report
        fields = [
            "channel", "received_at", "referring_agency", "referring_other", "reporter_anonymous", "reporter_name",
            "reporter_phone", "reporter_email", "reporter_relationship", "victim_count", "victim_sex", "victim_age_group",
            "victim_approx_age", "victim_nationality", "victim_language", "exploitation", "named_persons", "location_text",
            "latitude", "longitude", "incident_from", "incident_to", "urgency", "child_involved", "immediate_danger",
            "medical_need", "narrative",
        ]  # fmt: skip
        widgets = {
            "narrative": forms.Textarea(attrs={"rows": 6, "maxlength": 20000}),
            "named_persons": forms.Textarea(attrs={"rows": 2, "maxlength": 2000}),
            "location_text": forms.Textarea(attrs={"rows": 2, "maxlength": 2000}),
            "reporter_name": forms.TextInput(attrs={"maxlength": 200}),
            "reporter_phone": forms.TextInput(attrs={"maxlength": 40, "inputmode": "tel"}),
            "reporter_email": forms.EmailInput(attrs={"maxlength": 200}),
            "incident_from": forms.DateInput(attrs={"type": "date"}),
            "incident_to": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [c for c in self.fields["channel"].choices if c[0] not in ("public_form", "import")]
        self.fields["narrative"].required = True
        self.fields["referring_agency"].queryset = self.fields["referring_agency"].queryset.filter(is_active=True, is_home_unit=False)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("incident_from"), cleaned.get("incident_to")
        if start and end and end < start:
            self.add_error("incident_to", _("The end date is before the start date."))
        lat, lon = cleaned.get("latitude"), cleaned.get("longitude")
        if (lat is None) != (lon is None):
            self.add_error("longitude", _("Give both latitude and longitude, or neither."))
        if lat is not None and not -90 <= lat <= 90:
            self.add_error("latitude", _("Latitude must be between -90 and 90."))
        if lon is not None and not -180 <= lon <= 180:
            self.add_error("longitude", _("Longitude must be between -180 and 180."))
        if cleaned.get("channel") == "agency_referral" and not (cleaned.get("referring_agency") or cleaned.get("referring_other")):
            self.add_error("referring_agency", _("Say which agency referred the report."))
        for name in ("reporter_name", "reporter_phone", "reporter_email"):
            if len(cleaned.get(name) or "") > 200:
                self.add_error(name, _("This is too long."))
        return cleaned

    FIELDSETS = (
        (_("How it came in"), ("channel", "received_at", "referring_agency", "referring_other")),
        (_("Who reports"), ("reporter_anonymous", "reporter_relationship", "reporter_name", "reporter_phone", "reporter_email")),
        (_("Who may be a victim"), ("victim_count", "victim_sex", "victim_age_group", "victim_approx_age", "victim_nationality", "victim_language", "named_persons")),
        (_("Suspected exploitation"), ("exploitation",)),
        (_("Where and when"), ("location_text", "latitude", "longitude", "incident_from", "incident_to")),
        (_("Urgency and risks"), ("urgency", "child_involved", "immediate_danger", "medical_need")),
        (_("What was reported"), ("narrative",)),
    )

    def fieldsets(self):
        return [(legend, [self[name] for name in names]) for legend, names in self.FIELDSETS]

    def report_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class TriageForm(BootstrapMixin, forms.Form):
    priority = forms.TypedChoiceField(label=_("Priority"), choices=Priority.choices, coerce=int)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices)
    screening_due_at = forms.DateTimeField(
        label=_("Screen by"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Leave empty to use the SOP's target for this urgency."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class AssignForm(BootstrapMixin, forms.Form):
    investigator = forms.ModelChoiceField(label=_("Investigator"), queryset=User.objects.none())
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from accounts.actions import users_with_permission

        screeners = users_with_permission("screening.screen") | users_with_permission("screening.screen_any")
        self.fields["investigator"].queryset = screeners.filter(agency__is_home_unit=True).distinct().order_by("last_name", "username")
        self.fields["investigator"].label_from_instance = lambda u: f"{u.display_name} ({u.username})"


class CloseForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(label=_("Reason for closing"), max_length=300)
    version = forms.IntegerField(widget=forms.HiddenInput)


class NoteForm(BootstrapMixin, forms.Form):
    text = forms.CharField(label=_("Note"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class LinkForm(BootstrapMixin, forms.Form):
    other = forms.IntegerField(widget=forms.HiddenInput)


class ReportFilterForm(BootstrapMixin, forms.Form):
    from intake.choices import Channel, Status

    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", pgettext_lazy("reports", "Open")), ("all", _("All")), *Status.choices])
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=[("", _("All")), *Channel.choices])
    urgency = forms.ChoiceField(label=_("Urgency"), required=False, choices=[("", _("All")), *Urgency.choices])
    assigned = forms.ChoiceField(label=_("Assigned"), required=False, choices=[("", _("Anyone")), ("me", _("To me")), ("none", _("Nobody yet"))])
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    ref = forms.CharField(label=_("Reference"), required=False, max_length=20)

"""Forms of the referral pages (issue #5). They validate input; the actions decide and record."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from care.choices import NEED_CLOSED, NeedType, ServiceType
from care.models import Need
from directory.models import Agency
from intake.filetypes import check_upload
from referrals.choices import MINIMUM_FIELDS, ReferralStatus, SharedField, Urgency
from referrals.snapshot import name_options
from utilities.forms import BootstrapMixin, VersionedForm


class NeedChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.get_need_type_display()} ({obj.get_priority_display()}, {obj.identified_on:%Y-%m-%d})"


class ReferralForm(BootstrapMixin, forms.Form):
    needs = forms.MultipleChoiceField(label=_("Needs"), choices=NeedType.choices, widget=forms.CheckboxSelectMultiple)
    care_needs = NeedChoiceField(
        label=_("Needs in the care record this referral answers"), queryset=Need.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    urgency = forms.ChoiceField(
        label=_("Urgency"), choices=Urgency.choices, initial=Urgency.ROUTINE, widget=forms.RadioSelect
    )
    provider = forms.ModelChoiceField(
        label=_("Provider"), queryset=Agency.objects.none(), required=False, widget=forms.RadioSelect
    )
    shared_fields = forms.MultipleChoiceField(
        label=_("What the provider will see"), choices=SharedField.choices, required=False,
        initial=[f.value for f in MINIMUM_FIELDS], widget=forms.CheckboxSelectMultiple,
        help_text=_("Needs and urgency are always shared. Tick only what the provider needs to help."),
    )  # fmt: skip
    shared_name = forms.ChoiceField(label=_("Name shown to the provider"), required=False)
    safety_notes = forms.CharField(
        label=_("Safety notes for the provider"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the provider must know to keep the survivor safe. No details of the case."),
    )  # fmt: skip
    safe_contact = forms.CharField(label=_("Phone of a safe contact"), required=False, max_length=80)
    override_reason = forms.CharField(
        label=_("Reason for sending without recorded consent"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only when the survivor's safety requires it. The Director is alerted at once."),
    )  # fmt: skip

    def __init__(self, *args, case_person, can_override: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.case_person = case_person
        self.fields["care_needs"].queryset = (
            Need.objects.filter(case_person=case_person).exclude(status__in=NEED_CLOSED).order_by("identified_on", "pk")
        )
        self.fields["provider"].queryset = Agency.objects.filter(
            authorised_for_referrals=True, is_active=True
        ).order_by("name")
        self.fields["shared_name"].choices = [("", _("No name"))] + name_options(case_person.person)
        if not can_override:
            del self.fields["override_reason"]

    def clean(self):
        data = super().clean()
        if self.data.get("intent") in {"draft", "send"} and not data.get("provider"):
            self.add_error("provider", _("Choose the provider."))
        return data

    def action_fields(self) -> dict:
        d = self.cleaned_data
        return {
            "provider": d["provider"], "needs": d["needs"], "care_needs": list(d["care_needs"]), "urgency": d["urgency"],
            "shared_fields": d["shared_fields"], "shared_name": d["shared_name"], "safety_notes": d["safety_notes"],
            "safe_contact": d["safe_contact"],
        }  # fmt: skip


class SendForm(BootstrapMixin, VersionedForm):
    override_reason = forms.CharField(
        label=_("Reason for sending without recorded consent"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReasonForm(BootstrapMixin, VersionedForm):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class NoteForm(BootstrapMixin, VersionedForm):
    note = forms.CharField(label=_("Note (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class OutcomeForm(BootstrapMixin, VersionedForm):
    outcome = forms.CharField(label=_("Outcome"), widget=forms.Textarea(attrs={"rows": 3}))


class UpdateForm(BootstrapMixin, forms.Form):
    text = forms.CharField(label=_("Update"), widget=forms.Textarea(attrs={"rows": 2}))


class ServiceForm(BootstrapMixin, forms.Form):
    service_type = forms.ChoiceField(label=_("Service"), choices=ServiceType.choices)
    delivered_on = forms.DateField(
        label=_("Date (from)"), initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date"})
    )
    ended_on = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    details = forms.CharField(label=_("What was provided"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    outcome = forms.CharField(label=_("Outcome"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class MessageForm(BootstrapMixin, forms.Form):
    text = forms.CharField(label=_("Message"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    attachment = forms.FileField(label=_("Attachment (photo or PDF)"), required=False)

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        if upload:
            check_upload(upload, where="referrals.message")
        return upload


class ListFilterForm(BootstrapMixin, forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any"))] + list(ReferralStatus.choices)
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cooperation.choices import AskedItem, Urgency
from cooperation.models import Peer
from utilities.forms import BootstrapMixin, VersionedForm


class RequestForm(BootstrapMixin, forms.Form):
    peer = forms.ModelChoiceField(label=_("Unit asked"), queryset=Peer.objects.none())
    case = forms.ModelChoiceField(label=_("Our case (optional)"), queryset=None, required=False)
    case_reference = forms.CharField(
        label=_("Case reference"), max_length=60, required=False,
        help_text=_("The reference the other unit will quote. Left empty, the linked case's reference is used."),
    )  # fmt: skip
    asked_items = forms.MultipleChoiceField(
        label=_("What is asked"), choices=AskedItem.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    asked = forms.CharField(
        label=_("Details of the request"), max_length=20_000, widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Say precisely what you need and why. Share only what the other unit needs to answer."),
    )  # fmt: skip
    legal_basis = forms.CharField(
        label=_("Legal basis"), max_length=500,
        help_text=_("The treaty, convention article or law the request rests on, e.g. UNTOC art. 18 and 27."),
    )  # fmt: skip
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.ROUTINE)
    due_on = forms.DateField(
        label=_("Answer needed by (optional)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from cases.models import Case

        self.fields["peer"].queryset = Peer.objects.filter(active=True)
        self.fields["case"].queryset = Case.objects.visible_to(user).order_by("-opened_at")

    def clean(self):
        data = super().clean()
        if not data.get("case_reference") and not (data.get("case") and data["case"].reference):
            self.add_error("case_reference", _("Give the case reference or link a case that has one."))
        return data


class ReplyForm(BootstrapMixin, VersionedForm):
    disclosed_items = forms.MultipleChoiceField(
        label=_("What you disclose"), choices=(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick only the items your answer covers and that the law allows you to share."),
    )  # fmt: skip
    text = forms.CharField(label=_("Answer"), max_length=50_000, widget=forms.Textarea(attrs={"rows": 8}))

    def __init__(self, *args, asked_items=(), **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(AskedItem.choices)
        self.fields["disclosed_items"].choices = [(code, labels.get(code, code)) for code in asked_items]


class DeclineForm(BootstrapMixin, VersionedForm):
    reason = forms.CharField(
        label=_("Reason for declining"), max_length=5_000, widget=forms.Textarea(attrs={"rows": 3})
    )


class PeerForm(BootstrapMixin, forms.ModelForm):
    inbox_url = forms.URLField(
        label=_("Inbox URL"), max_length=300, assume_scheme="https", help_text=_("Ends in /cooperation/inbox/")
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Peer
        fields = ["instance_id", "name", "country", "inbox_url", "signing_key", "encryption_key"]

    def clean_country(self) -> str:
        return self.cleaned_data["country"].strip().upper()

"""Forms of the integrations pages (issue #9). The actions check the same rules again; their errors land on
these fields."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from directory.models import Agency
from integrations.choices import PRIMERO_MODULES, WebhookEvent
from utilities.forms import BootstrapMixin


class WebhookForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    url = forms.URLField(
        label=_("Address (URL)"),
        max_length=500,
        assume_scheme="https",
        help_text=_("Must be on the allow-list set by BEACON_WEBHOOK_ALLOWED_HOSTS. Redirects are not followed."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class PrimeroConnectionForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    agency = forms.ModelChoiceField(
        label=_("Partner running it"),
        queryset=Agency.objects.filter(is_active=True).order_by("name"),
        help_text=_("Referrals addressed to this partner can be sent to this Primero instance."),
    )
    base_url = forms.URLField(label=_("Primero address"), max_length=300, assume_scheme="https")
    username = forms.CharField(label=_("Primero user name"), max_length=100)
    password = forms.CharField(
        label=_("Primero password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    module_id = forms.ChoiceField(label=_("Module"), choices=PRIMERO_MODULES)
    recipient = forms.CharField(
        label=_("Primero user receiving referrals"),
        max_length=100,
        help_text=_("The user name in Primero that referrals are addressed to."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["password"].help_text = _("Leave blank to keep the stored password.")

    def connection_fields(self) -> dict:
        data = self.cleaned_data
        return {
            name: data[name]
            for name in ("name", "agency", "base_url", "username", "module_id", "recipient", "is_active")
        }


class SendToPrimeroForm(BootstrapMixin, forms.Form):
    connection = forms.ModelChoiceField(label=_("Primero instance"), queryset=None, empty_label=None)
    override_reason = forms.CharField(
        label=_("Reason for sending without recorded consent"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only if no consent is recorded and you are authorised to override. The Director is alerted."),
    )

    def __init__(self, *args, connections, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["connection"].queryset = connections

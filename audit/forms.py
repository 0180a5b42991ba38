from django import forms
from django.utils.translation import gettext_lazy as _

from utilities.forms import BootstrapMixin


class AuditFilterForm(BootstrapMixin, forms.Form):
    actor = forms.CharField(label=_("Username"), required=False, max_length=150)
    action = forms.CharField(label=_("Action starts with"), required=False, max_length=80)
    object_type = forms.CharField(label=_("Object type"), required=False, max_length=80)
    object_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    request_id = forms.CharField(label=_("Request id"), required=False, max_length=32)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

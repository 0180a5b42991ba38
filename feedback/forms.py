from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from care.choices import ServiceType
from directory.models import Agency
from feedback.choices import AgeBand, Sex
from utilities.forms import BootstrapMixin

YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class ServiceForm(BootstrapMixin, forms.Form):
    service_type = forms.ChoiceField(label=_("Service received"), choices=ServiceType.choices)
    provider = forms.ModelChoiceField(label=_("Provider"), queryset=Agency.objects.filter(is_active=True))


class AnswersForm(BootstrapMixin, forms.Form):
    """The survey's questions. On the tablet the choices render as large buttons."""

    satisfaction = forms.TypedChoiceField(
        label=_("How satisfied are you with the service? (1 = not at all, 5 = very)"),
        choices=[(n, str(n)) for n in range(1, 6)], coerce=int, widget=forms.RadioSelect,
    )  # fmt: skip
    respected = forms.TypedChoiceField(
        label=_("Did you feel treated with respect and dignity?"), choices=YES_NO, coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )  # fmt: skip
    felt_safe = forms.TypedChoiceField(
        label=_("Did you feel safe?"), choices=YES_NO, coerce=lambda v: v == "yes", widget=forms.RadioSelect
    )
    comments = forms.CharField(
        label=_("Anything else you want to tell us? (optional)"), required=False, max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices, initial=Sex.UNKNOWN)
    age_band = forms.ChoiceField(label=_("Age"), choices=AgeBand.choices, initial=AgeBand.UNKNOWN)
    area = forms.CharField(label=_("Area where you live (optional)"), required=False, max_length=100)


class RecordForm(ServiceForm, AnswersForm):
    pass


class CodeForm(BootstrapMixin, forms.Form):
    code = forms.CharField(label=_("Survey code"), max_length=40)


class TabletForm(AnswersForm):
    token = forms.CharField(widget=forms.HiddenInput, max_length=40)

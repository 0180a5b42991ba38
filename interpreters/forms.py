from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from directory.isocodes import language_code
from interpreters.choices import BookingKind
from interpreters.models import Interpreter
from utilities.forms import BootstrapMixin


class InterpreterForm(BootstrapMixin, forms.ModelForm):
    languages = forms.CharField(
        label=_("Languages"), help_text=_("ISO 639 codes separated by commas or spaces, for example: es, en, pt.")
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Interpreter
        fields = [
            "name", "contact", "languages", "dialects", "vetting_status", "vetting_expires", "agreement_on_file",
            "agreement_signed_on", "availability", "work_mode", "areas", "conflicts",
        ]  # fmt: skip
        widgets = {
            "vetting_expires": forms.DateInput(attrs={"type": "date"}),
            "agreement_signed_on": forms.DateInput(attrs={"type": "date"}),
            "contact": forms.Textarea(attrs={"rows": 2}),
            "availability": forms.Textarea(attrs={"rows": 2}),
            "conflicts": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["languages"] = ", ".join(self.instance.languages or [])

    def clean_languages(self) -> list[str]:
        codes, unknown = [], []
        for raw in self.cleaned_data["languages"].replace(",", " ").split():
            code = language_code(raw)
            if code is None:
                unknown.append(raw)
            elif code not in codes:
                codes.append(code)
        if unknown:
            raise forms.ValidationError(_g("Not ISO 639 language codes: %(codes)s") % {"codes": ", ".join(unknown)})
        if not codes:
            raise forms.ValidationError(_g("Give at least one language."))
        return codes

    def clean(self):
        data = super().clean()
        if data.get("agreement_on_file") and not data.get("agreement_signed_on"):
            self.add_error("agreement_signed_on", _g("Give the date the confidentiality agreement was signed."))
        return data


class BookingForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(label=_("For"), choices=BookingKind.choices)
    purpose = forms.CharField(label=_("Purpose"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    case_reference = forms.CharField(label=_("Case reference (optional)"), max_length=40, required=False)
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate)

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from directory.models import Agency
from screening.choices import AgeBasis, DecidingOrganisation, Outcome
from screening.instruments import ELEMENTS
from utilities.forms import BootstrapMixin

ELEMENT_LABELS = {
    "act": (_("The act"), _("What was done to the person: recruitment, transportation, transfer, harbouring or receipt.")),
    "means": (_("The means"), _("How: threat, force, coercion, abduction, fraud, deception, abuse of power or vulnerability, payments. Not required for a child.")),
    "purpose": (_("The purpose"), _("For what: sexual exploitation, forced labour, slavery, servitude, removal of organs...")),
}


class ScreeningForm(BootstrapMixin, forms.Form):
    """Built from the current instrument version: one checkbox and one evidence box per indicator."""

    person_label = forms.CharField(label=_("Person screened (pseudonym)"), max_length=60, initial=_("Victim A"))
    person_age = forms.IntegerField(label=_("Age"), min_value=0, max_value=120, required=False)
    age_basis = forms.ChoiceField(label=_("Age is based on"), choices=AgeBasis.choices, initial=AgeBasis.UNKNOWN)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, instrument, **kwargs):
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        self.groups = []
        for element in ELEMENTS:
            rows = []
            for code, label in instrument.indicators(element):
                self.fields[f"ind_{code}"] = forms.BooleanField(label=label, required=False, widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))
                self.fields[f"ev_{code}"] = forms.CharField(
                    label=_("Evidence for: %(indicator)s") % {"indicator": label}, required=False, max_length=4000,
                    widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
                )
                rows.append(code)
            self.groups.append((element, rows))

    def clean(self):
        cleaned = super().clean()
        for _element, codes in self.groups:
            for code in codes:
                if cleaned.get(f"ind_{code}") and not (cleaned.get(f"ev_{code}") or "").strip():
                    self.add_error(f"ev_{code}", _("Write what supports this indicator."))
        return cleaned

    def answers(self) -> dict[str, bool]:
        return {code: bool(self.cleaned_data.get(f"ind_{code}")) for _e, codes in self.groups for code in codes}

    def evidence(self) -> dict[str, str]:
        return {code: self.cleaned_data.get(f"ev_{code}") or "" for _e, codes in self.groups for code in codes}

    def element_groups(self):
        return [
            {"element": element, "title": ELEMENT_LABELS[element][0], "help": ELEMENT_LABELS[element][1],
             "rows": [(self[f"ind_{code}"], self[f"ev_{code}"]) for code in codes]}
            for element, codes in self.groups
        ]  # fmt: skip


class DecisionForm(BootstrapMixin, forms.Form):
    outcome = forms.ChoiceField(label=_("Decision"), choices=Outcome.choices, widget=forms.RadioSelect)
    rationale = forms.CharField(label=_("Rationale"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4}))
    deciding_org = forms.ChoiceField(label=_("Deciding organisation (HTCDS)"), choices=DecidingOrganisation.choices, initial=DecidingOrganisation.NON_POLICE_GOVERNMENT)
    referred_to = forms.ModelChoiceField(label=_("Referred to (if referred to another agency)"), queryset=Agency.objects.filter(is_active=True, is_home_unit=False), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("outcome") == Outcome.REFERRED and not cleaned.get("referred_to"):
            self.add_error("referred_to", _("Choose the agency the report is referred to."))
        return cleaned

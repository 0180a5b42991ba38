from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from care.choices import NeedType
from cases.choices import Sex
from directory.isocodes import COUNTRIES, language_code
from directory.models import Agency, Contact
from intake.filetypes import check_upload
from utilities.forms import BootstrapMixin, VersionedForm


class AgencyForm(BootstrapMixin, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Agency
        fields = ["name", "short_name", "org_type", "kind", "country", "phone", "email", "address", "is_active"]

    def clean_country(self):
        value = self.cleaned_data["country"].upper()
        if len(value) != 2 or not value.isalpha():
            raise forms.ValidationError(_("Use the two-letter ISO 3166-1 code, for example TT."))
        return value


# --- code lists shared by the forms and the import ----------------------------------------------------------

SEX_CHOICES = [(value, label) for value, label in Sex.choices if value != Sex.UNKNOWN]


def split_codes(text) -> list[str]:
    if isinstance(text, (list, tuple)):
        return [str(c).strip() for c in text if str(c).strip()]
    return [c for c in re.split(r"[\s,;/]+", str(text or "")) if c]


def parse_languages(text) -> tuple[list[str], list[str]]:
    """(canonical codes, codes that are not ISO 639)."""
    codes, bad = [], []
    for raw in split_codes(text):
        code = language_code(raw)
        (codes if code else bad).append(code or raw)
    return list(dict.fromkeys(codes)), bad


def parse_countries(text) -> tuple[list[str], list[str]]:
    codes = [c.upper() for c in split_codes(text)]
    return list(dict.fromkeys(c for c in codes if c in COUNTRIES)), [c for c in codes if c not in COUNTRIES]


class LanguagesField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 200)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, (list, tuple)) else value

    def to_python(self, value):
        codes, bad = parse_languages(value)
        if bad:
            raise forms.ValidationError(_("Not ISO 639 language codes: %(codes)s."), params={"codes": ", ".join(bad)})
        return codes


class CountriesField(LanguagesField):
    def to_python(self, value):
        codes, bad = parse_countries(value)
        if bad:
            raise forms.ValidationError(_("Not ISO 3166-1 country codes: %(codes)s."), params={"codes": ", ".join(bad)})
        return codes


def _checkboxes(label, choices, **kwargs):
    return forms.MultipleChoiceField(
        label=label, choices=choices, required=False, widget=forms.CheckboxSelectMultiple, **kwargs
    )


class ProviderForm(BootstrapMixin, forms.ModelForm):
    """The provider's entry in the service directory."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    services = _checkboxes(_("Services offered"), NeedType.choices)
    sexes = _checkboxes(_("Sexes accepted"), SEX_CHOICES, help_text=_("Tick none for any."))
    nationalities = CountriesField(
        label=_("Nationalities accepted"),
        help_text=_("Two-letter ISO 3166-1 codes separated by commas, for example VE, TT. Empty: any nationality."),
    )
    languages = LanguagesField(
        label=_("Languages spoken"),
        help_text=_("ISO 639 codes separated by commas, for example en, es (or eng, spa)."),
    )
    authorised_for_referrals = forms.BooleanField(label=_("Authorised to receive referrals"), required=False)

    class Meta:
        model = Agency
        fields = [
            "services", "serves_adults", "serves_children", "sexes", "nationalities", "languages", "opening_hours",
            "open_24_7", "phone", "email", "address", "latitude", "longitude",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial.setdefault("services", self.instance.service_types())
            self.initial.setdefault("authorised_for_referrals", self.instance.authorised_for_referrals)
        self.fields["latitude"].help_text = _("Decimal degrees, for example 10.6549.")
        self.fields["longitude"].help_text = _("Decimal degrees, for example -61.5019 (west is negative).")

    def clean(self):
        data = super().clean()
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            raise forms.ValidationError(_("Give both latitude and longitude, or neither."))
        if not (data.get("serves_adults") or data.get("serves_children")):
            raise forms.ValidationError(_("A provider serves adults, children or both."))
        return data


class CapacityForm(BootstrapMixin, VersionedForm):
    service = forms.IntegerField(widget=forms.HiddenInput)
    total = forms.IntegerField(label=_("Places in total"), min_value=0, required=False)
    free = forms.IntegerField(label=_("Places free now"), min_value=0, required=False)

    def clean(self):
        data = super().clean()
        total, free = data.get("total"), data.get("free")
        if total is not None and free is not None and free > total:
            self.add_error("free", _("There cannot be more free places than places in total."))
        return data


class ContactForm(BootstrapMixin, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Contact
        fields = ["name", "role", "phone", "email"]


class TermsForm(BootstrapMixin, VersionedForm):
    upload = forms.FileField(label=_("Terms of reference (PDF)"))

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        check_upload(upload, where="directory.terms")
        return upload


class PathwayAddForm(BootstrapMixin, VersionedForm):
    agency = forms.ModelChoiceField(label=_("Provider"), queryset=Agency.objects.none())
    step = forms.IntegerField(
        label=_("Step"), min_value=1, required=False, help_text=_("Leave empty for a new last step; a step may hold several providers."),
    )  # fmt: skip

    def __init__(self, *args, need_type: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = (
            Agency.objects.filter(is_active=True, authorised_for_referrals=True, services__service_type=need_type)
            .exclude(pathway_steps__pathway__need_type=need_type)
            .distinct()
        )
        self.fields["agency"].label_from_instance = lambda agency: agency.name


class ImportForm(BootstrapMixin, forms.Form):
    upload = forms.FileField(label=_("Directory file (CSV or XLSX)"))

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        check_upload(upload, where="directory.import")
        return upload


AGE_GROUPS = [("", _("Anyone")), ("children", _("Children")), ("adults", _("Adults"))]


class BrowseForm(BootstrapMixin, forms.Form):
    service = forms.ChoiceField(
        label=_("Service"), choices=[("", _("Any service"))] + list(NeedType.choices), required=False
    )
    who = forms.ChoiceField(label=_("Serves"), choices=AGE_GROUPS, required=False)
    language = forms.CharField(label=_("Language (ISO 639)"), required=False, max_length=3)
    open_24_7 = forms.BooleanField(label=_("Open 24/7"), required=False)
    free_capacity = forms.BooleanField(label=_("Has free capacity"), required=False)

    def clean_language(self):
        raw = self.cleaned_data["language"].strip()
        if not raw:
            return ""
        code = language_code(raw)
        if code is None:
            raise forms.ValidationError(_("Not an ISO 639 language code."))
        return code

"""Forms of the case record (issue #4). They validate input only: every write goes through cases.actions."""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from cases.choices import (
    AttachmentKind,
    CaseStatus,
    ControlMethod,
    DocumentType,
    ExploitationType,
    ForcedLabourIndustry,
    IdentifierKind,
    PerpetratorRole,
    PersonRole,
    RecruitmentMethod,
    SexExploitationType,
    ShareScope,
    TeamRole,
    Vulnerability,
    WebsiteOrApp,
)
from cases.models import CasePerson, Identifier, Person, Place, SuspectProfile, VictimProfile
from intake.filetypes import ACCEPTED, check_upload, sniff_file
from utilities.forms import BootstrapMixin

DATE = {"type": "date"}


class FieldsetsMixin:
    """``FIELDSETS`` as (legend, field names); templates render each as a <fieldset> with its <legend>."""

    FIELDSETS: tuple = ()

    def fieldsets(self):
        return [(legend, [self[name] for name in names if name in self.fields]) for legend, names in self.FIELDSETS]


class CodeListField(forms.CharField):
    """ISO codes typed as a short list ("VE, TT"), stored as a list of codes."""

    def __init__(self, *, pattern: str, upper: bool, message, **kwargs):
        self.pattern, self.upper, self.message = re.compile(pattern), upper, message
        kwargs.setdefault("max_length", 100)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return ", ".join(value)
        return value

    def to_python(self, value):
        if isinstance(value, (list, tuple)):
            value = ", ".join(value)
        text = super().to_python(value)
        codes = [c for c in re.split(r"[\s,;/]+", text) if c]
        codes = [c.upper() if self.upper else c.lower() for c in codes]
        bad = [c for c in codes if not self.pattern.fullmatch(c)]
        if bad:
            raise forms.ValidationError(self.message, params={"codes": ", ".join(bad)})
        return list(dict.fromkeys(codes))


def nationality_field(**kwargs):
    return CodeListField(
        pattern=r"[A-Z]{2}", upper=True, label=_("Nationalities"),
        help_text=_("Two-letter ISO 3166-1 codes separated by commas, for example VE, TT."),
        message=_("Not two-letter ISO country codes: %(codes)s."), **kwargs,
    )  # fmt: skip


def country_clean(value: str) -> str:
    value = (value or "").strip().upper()
    if value and (len(value) != 2 or not value.isalpha()):
        raise forms.ValidationError(_("Use the two-letter ISO 3166-1 code, for example TT."))
    return value


def choice_labels(choices, values) -> list[str]:
    labels = dict(choices)
    return [str(labels.get(v, v)) for v in values or []]


def multi(label, choices):
    return forms.MultipleChoiceField(label=label, choices=choices, required=False, widget=forms.CheckboxSelectMultiple)


# --- people ---------------------------------------------------------------------------------------------


class PersonForm(FieldsetsMixin, BootstrapMixin, forms.ModelForm):
    """Identity of a person. Dates of birth are stored as text (encrypted): entered as a date here."""

    birth_date = forms.DateField(label=_("Date of birth"), required=False, widget=forms.DateInput(attrs=DATE))
    nationalities = nationality_field()
    languages = CodeListField(
        pattern=r"[a-z]{2,3}", upper=False, label=_("Languages"),
        help_text=_("ISO 639 codes separated by commas, for example es, en (or spa, eng)."),
        message=_("Not ISO 639 language codes: %(codes)s."),
    )  # fmt: skip
    pseudonym = forms.CharField(
        label=_("Pseudonym on this case"),
        max_length=60,
        help_text=_("Shown in lists instead of the name, for example 'Victim A'."),
    )

    class Meta:
        model = Person
        fields = [
            "given_names", "family_names", "birth_date", "estimated_age", "age_estimated_on", "age_estimation", "sex",
            "gender", "nationalities", "languages", "interpreter_needed",
        ]  # fmt: skip
        widgets = {
            "given_names": forms.TextInput(attrs={"maxlength": 200, "autocomplete": "off"}),
            "family_names": forms.TextInput(attrs={"maxlength": 200, "autocomplete": "off"}),
            "age_estimated_on": forms.DateInput(attrs=DATE),
            "estimated_age": forms.NumberInput(attrs={"min": 0, "max": 120}),
        }

    FIELDSETS = (
        (_("Names"), ("pseudonym", "given_names", "family_names")),
        (_("Age"), ("birth_date", "estimated_age", "age_estimated_on", "age_estimation")),
        (_("Sex and gender"), ("sex", "gender")),
        (_("Nationality and language"), ("nationalities", "languages", "interpreter_needed")),
    )

    def clean_given_names(self):
        return self.cleaned_data["given_names"].strip()[:200]

    def clean_family_names(self):
        return self.cleaned_data["family_names"].strip()[:200]

    def clean_birth_date(self):
        born = self.cleaned_data["birth_date"]
        if born and born > timezone.localdate():
            raise forms.ValidationError(_("The date of birth is in the future."))
        return born.isoformat() if born else ""

    def clean(self):
        cleaned = super().clean()
        age = cleaned.get("estimated_age")
        if age is not None and age > 120:
            self.add_error("estimated_age", _("Give an age between 0 and 120."))
        if age is not None and not cleaned.get("age_estimated_on"):
            cleaned["age_estimated_on"] = timezone.localdate()
        on = cleaned.get("age_estimated_on")
        if on and on > timezone.localdate():
            self.add_error("age_estimated_on", _("This date is in the future."))
        return cleaned

    def identity(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class PersonAddForm(PersonForm):
    """Step one of adding a person: who they are in the case, their identity and optionally one identifier
    (a phone, a passport number...) so likely duplicates can be proposed before anything is created."""

    role = forms.ChoiceField(label=_("Role in the case"), choices=PersonRole.choices)
    identifier_kind = forms.ChoiceField(
        label=_("Identifier kind"), choices=[("", "—"), *IdentifierKind.choices], required=False
    )
    document_type = forms.ChoiceField(
        label=_("Document type"), choices=[("", "—"), *DocumentType.choices], required=False
    )
    identifier_value = forms.CharField(
        label=_("Identifier"),
        max_length=300,
        required=False,
        help_text=_("A phone number, document number, email, handle..."),
    )

    FIELDSETS = (
        (_("In this case"), ("role", "pseudonym")),
        (_("Names"), ("given_names", "family_names")),
        *PersonForm.FIELDSETS[1:],
        (_("One identifier (optional)"), ("identifier_kind", "document_type", "identifier_value")),
    )

    def __init__(self, *args, roles=None, **kwargs):
        super().__init__(*args, **kwargs)
        if roles is not None:
            self.fields["role"].choices = [c for c in PersonRole.choices if c[0] in roles]

    def clean(self):
        cleaned = super().clean()
        kind, value = cleaned.get("identifier_kind"), (cleaned.get("identifier_value") or "").strip()
        if bool(kind) != bool(value):
            self.add_error(
                "identifier_value" if kind else "identifier_kind",
                _("Give both the kind and the identifier, or neither."),
            )
        if kind != IdentifierKind.ID_DOCUMENT:
            cleaned["document_type"] = ""
        cleaned["identifier_value"] = value
        return cleaned

    def identifiers(self) -> list[tuple[str, str]]:
        kind, value = self.cleaned_data.get("identifier_kind"), self.cleaned_data.get("identifier_value")
        return [(kind, value)] if kind and value else []


class PersonEditForm(PersonForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class AliasForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Alias or other name"), max_length=200)


class IdentifierForm(FieldsetsMixin, BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Identifier
        fields = ["kind", "document_type", "value", "country", "expires_on", "note"]
        widgets = {
            "expires_on": forms.DateInput(attrs=DATE),
            "value": forms.TextInput(attrs={"maxlength": 300, "autocomplete": "off"}),
            "country": forms.TextInput(attrs={"maxlength": 2, "size": 3}),
        }
        help_texts = {"document_type": _("For identity documents only.")}

    FIELDSETS = ((_("Identifier"), ("kind", "document_type", "value", "country", "expires_on", "note")),)

    def __init__(self, *args, kinds=None, **kwargs):
        super().__init__(*args, **kwargs)
        if kinds is not None:
            self.fields["kind"].choices = [c for c in IdentifierKind.choices if c[0] in kinds]

    def clean_value(self):
        value = self.cleaned_data["value"].strip()
        if not value:
            raise forms.ValidationError(_("This field is required."))
        return value[:300]

    def clean_country(self):
        return country_clean(self.cleaned_data["country"])

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") != IdentifierKind.ID_DOCUMENT:
            cleaned["document_type"] = ""
        elif not cleaned.get("document_type"):
            self.add_error("document_type", _("Say which document it is."))
        return cleaned

    def identifier_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "value": data["value"],
            "document_type": data["document_type"],
            "country": data["country"],
            "expires_on": data["expires_on"],
            "note": data["note"],
        }


class VictimProfileForm(FieldsetsMixin, BootstrapMixin, forms.ModelForm):
    exploitation_types = multi(_("Types of exploitation"), ExploitationType.choices)
    forced_labour_industry = forms.ChoiceField(
        label=_("Forced-labour industry"), choices=[("", "—"), *ForcedLabourIndustry.choices], required=False
    )
    sexual_exploitation_types = multi(_("Types of sexual exploitation"), SexExploitationType.choices)
    methods_of_control = multi(_("Methods of control"), ControlMethod.choices)
    recruitment_methods = multi(_("Methods of recruitment"), RecruitmentMethod.choices)
    recruitment_websites = multi(_("Recruitment websites and apps"), WebsiteOrApp.choices)
    exploitation_websites = multi(_("Exploitation websites and apps"), WebsiteOrApp.choices)
    vulnerabilities = multi(_("Vulnerabilities"), Vulnerability.choices)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    class Meta:
        model = VictimProfile
        fields = [
            "trafficking_status", "registered_on", "exploitation_types", "forced_labour_industry", "sexual_exploitation_types",
            "methods_of_control", "recruitment_methods", "recruitment_websites", "exploitation_websites",
            "relationship_to_trafficker", "age_when_trafficked", "vulnerabilities", "vulnerability_details",
        ]  # fmt: skip
        widgets = {
            "registered_on": forms.DateInput(attrs=DATE),
            "vulnerability_details": forms.Textarea(attrs={"rows": 3, "maxlength": 5000}),
            "age_when_trafficked": forms.NumberInput(attrs={"min": 0, "max": 120}),
        }

    FIELDSETS = (
        (_("Status"), ("trafficking_status", "registered_on", "age_when_trafficked", "relationship_to_trafficker")),
        (
            _("Exploitation"),
            ("exploitation_types", "forced_labour_industry", "sexual_exploitation_types", "exploitation_websites"),
        ),
        (_("Recruitment"), ("recruitment_methods", "recruitment_websites")),
        (_("Control"), ("methods_of_control",)),
        (_("Vulnerabilities"), ("vulnerabilities", "vulnerability_details")),
    )

    def clean(self):
        cleaned = super().clean()
        age = cleaned.get("age_when_trafficked")
        if age is not None and age > 120:
            self.add_error("age_when_trafficked", _("Give an age between 0 and 120."))
        if cleaned.get("forced_labour_industry") and ExploitationType.FORCED_LABOUR not in (
            cleaned.get("exploitation_types") or []
        ):
            self.add_error(
                "forced_labour_industry",
                _("An industry applies to forced labour: tick forced labour too, or leave this empty."),
            )
        if cleaned.get("sexual_exploitation_types") and ExploitationType.SEXUAL not in (
            cleaned.get("exploitation_types") or []
        ):
            self.add_error(
                "sexual_exploitation_types",
                _("These apply to sexual exploitation: tick sexual exploitation too, or leave them empty."),
            )
        return cleaned

    def profile_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class SuspectProfileForm(FieldsetsMixin, BootstrapMixin, forms.ModelForm):
    roles_in_process = multi(_("Role in the trafficking process"), PerpetratorRole.choices)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    class Meta:
        model = SuspectProfile
        fields = ["roles_in_process", "role_details"]
        widgets = {"role_details": forms.Textarea(attrs={"rows": 4, "maxlength": 5000})}

    FIELDSETS = ((_("Role of the suspect"), ("roles_in_process", "role_details")),)

    def profile_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


# --- places, notes, attachments -----------------------------------------------------------------------


def link_label(link: CasePerson) -> str:
    return f"{link.pseudonym} ({link.get_role_display()})"


class PlaceForm(FieldsetsMixin, BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Place
        fields = [
            "kind",
            "case_person",
            "description",
            "city",
            "country",
            "latitude",
            "longitude",
            "date_from",
            "date_to",
        ]
        labels = {"case_person": _("Person concerned")}
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2, "maxlength": 2000}),
            "country": forms.TextInput(attrs={"maxlength": 2, "size": 3}),
            "latitude": forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
            "longitude": forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
            "date_from": forms.DateInput(attrs=DATE),
            "date_to": forms.DateInput(attrs=DATE),
        }
        help_texts = {
            "latitude": _("Decimal degrees, for example 10.2797."),
            "longitude": _("Decimal degrees, for example -61.4589."),
        }

    FIELDSETS = (
        (_("What happened there"), ("kind", "case_person")),
        (_("Where"), ("description", "city", "country", "latitude", "longitude")),
        (_("When"), ("date_from", "date_to")),
    )

    def __init__(self, *args, links=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["case_person"]
        field.queryset = links if links is not None else CasePerson.objects.none()
        field.label_from_instance = link_label
        field.empty_label = _("The case as a whole")

    def clean_country(self):
        return country_clean(self.cleaned_data["country"])

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end date is before the start date."))
        lat, lon = cleaned.get("latitude"), cleaned.get("longitude")
        if (lat is None) != (lon is None) and "latitude" not in self.errors and "longitude" not in self.errors:
            self.add_error("longitude", _("Give both latitude and longitude, or neither."))
        if lat is not None and not -90 <= lat <= 90:
            self.add_error("latitude", _("Latitude must be between -90 and 90."))
        if lon is not None and not -180 <= lon <= 180:
            self.add_error("longitude", _("Longitude must be between -180 and 180."))
        return cleaned

    def place_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class NoteForm(BootstrapMixin, forms.Form):
    text = forms.CharField(label=_("Note"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class AttachmentForm(BootstrapMixin, forms.Form):
    upload = forms.FileField(
        label=_("File"),
        help_text=_(
            "Photos (JPEG, PNG, WebP, GIF) or PDF documents. Stored encrypted; downloaded only by those who may see them."
        ),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=AttachmentKind.choices)
    description = forms.CharField(label=_("Description"), max_length=500, required=False)
    case_person = forms.ModelChoiceField(
        label=_("Person concerned"),
        queryset=CasePerson.objects.none(),
        required=False,
        empty_label=_("The case as a whole"),
    )

    def __init__(self, *args, links=None, **kwargs):
        super().__init__(*args, **kwargs)
        if links is None:
            del self.fields["case_person"]
        else:
            self.fields["case_person"].queryset = links
            self.fields["case_person"].label_from_instance = link_label

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        if upload.size > settings.CASE_ATTACHMENT_MAX_BYTES:
            raise forms.ValidationError(_("The file is too large."))
        kind = sniff_file(upload)
        if kind not in ACCEPTED:
            raise forms.ValidationError(_("Only photos (JPEG, PNG, WebP, GIF) and PDF documents can be attached."))
        check_upload(upload, where="cases.attachment")
        self.content_type = kind
        return upload

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("kind") == AttachmentKind.PHOTO
            and getattr(self, "content_type", "image/").split("/")[0] != "image"
        ):
            self.add_error("kind", _("A photo must be an image file."))
        return cleaned


# --- closure, team, sharing, lookup -------------------------------------------------------------------


class CloseForm(BootstrapMixin, forms.Form):
    status = forms.ChoiceField(
        label=_("How the case ends"),
        choices=[
            (CaseStatus.CLOSED, CaseStatus.CLOSED.label),
            (CaseStatus.CLOSED_REFERRED, CaseStatus.CLOSED_REFERRED.label),
            (CaseStatus.FOLLOW_UP, CaseStatus.FOLLOW_UP.label),
        ],
    )
    reason = forms.CharField(label=_("Reason for closure"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    follow_up = forms.CharField(
        label=_("Follow-up after closure"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    follow_up_due = forms.DateField(label=_("Follow up by"), required=False, widget=forms.DateInput(attrs=DATE))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Give the reason for closure."))
        return reason

    def clean(self):
        cleaned = super().clean()
        due = cleaned.get("follow_up_due")
        if due and due < timezone.localdate():
            self.add_error("follow_up_due", _("This date is in the past."))
        if due and not (cleaned.get("follow_up") or "").strip():
            self.add_error("follow_up", _("Say what follow-up is due."))
        return cleaned


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


def unit_members():
    return User.objects.filter(is_active=True, agency__is_home_unit=True).order_by(
        "last_name", "first_name", "username"
    )


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.display_name} ({obj.username})"


class TeamMemberForm(BootstrapMixin, forms.Form):
    user = UserChoiceField(label=_("Officer"), queryset=User.objects.none())
    role = forms.ChoiceField(
        label=_("Role on the case"), choices=[c for c in TeamRole.choices if c[0] != TeamRole.OWNER]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = unit_members()


class ShareForm(BootstrapMixin, forms.Form):
    user = UserChoiceField(label=_("Share with"), queryset=User.objects.none())
    scope = forms.ChoiceField(label=_("What is shared"), choices=ShareScope.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    until = forms.DateField(
        label=_("Until"), widget=forms.DateInput(attrs=DATE), help_text=_("Access ends after this day.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = unit_members()

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until < timezone.localdate():
            raise forms.ValidationError(_("The end date is in the past."))
        return until


class CaseLookupForm(BootstrapMixin, forms.Form):
    ref = forms.CharField(
        label=_("Find a case by reference"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "C-2026-00001", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *CaseStatus.choices])

    def clean_ref(self):
        return self.cleaned_data["ref"].strip().upper()


class BreakGlassForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(
        label=_("Why you need this case now"), min_length=10, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("At least a sentence. The Director is alerted at once and the access is logged."),
    )  # fmt: skip

"""Forms of the anonymous public report pages (issue #3). Every field has a size limit; files are checked
by their content (``intake.filetypes``), never by their name or declared type."""

from __future__ import annotations

import datetime
import re

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from intake import filetypes
from intake.choices import AgeGroup, Exploitation, Sex
from utilities.forms import BootstrapMixin

# Bots fill every field; people never see this one (hidden by CSS, skipped by keyboard and screen readers).
HONEYPOT = "website"  # the name of the field of PublicFormBase below
MAX_FILES = 3
NARRATIVE_MAX = 5000
EARLIEST_DATE = datetime.date(1950, 1, 1)
PHONE_RE = re.compile(r"^[0-9+()./ -]{7,30}$")
CODE_RE = re.compile(r"^[A-Z0-9]{12}$")


def _file_input() -> forms.FileInput:
    return forms.FileInput(attrs={"accept": ",".join(filetypes.ACCEPTED)})


def _date_input() -> forms.DateInput:
    # type=date gives phones their date picker; ISO is what browsers send back.
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PublicFormBase(BootstrapMixin, forms.Form):
    """The honeypot and up to three files, shared by the report form and the "add information" form."""

    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )
    file_1 = forms.FileField(label=format_lazy("{} 1", _("File")), required=False, widget=_file_input())
    file_2 = forms.FileField(label=format_lazy("{} 2", _("File")), required=False, widget=_file_input())
    file_3 = forms.FileField(label=format_lazy("{} 3", _("File")), required=False, widget=_file_input())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sniffed: dict[str, str] = {}

    @property
    def file_fields(self):
        return [self[f"file_{i}"] for i in range(1, MAX_FILES + 1)]

    def _clean_upload(self, name: str):
        upload = self.cleaned_data.get(name)
        if not upload:
            return None
        limit = settings.PUBLIC_FORM_MAX_FILE_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("This file is too big. Each file can be at most %(size)s.") % {"size": filesizeformat(limit)},
                code="too_big",
            )
        content_type = filetypes.sniff_file(upload)
        if content_type is None:
            raise forms.ValidationError(
                _("This file cannot be sent. Only photos (JPEG, PNG, WebP, GIF) and PDF documents are accepted."),
                code="file_type",
            )
        filetypes.check_upload(upload, where="intake.public_report", anonymous=True)
        self._sniffed[name] = content_type
        return upload

    def clean_file_1(self):
        return self._clean_upload("file_1")

    def clean_file_2(self):
        return self._clean_upload("file_2")

    def clean_file_3(self):
        return self._clean_upload("file_3")

    def attachments(self) -> list[SimpleUploadedFile]:
        """The accepted files, labelled with the type their content showed (not the one the browser claimed)."""
        files = []
        for i in range(1, MAX_FILES + 1):
            name = f"file_{i}"
            upload = self.cleaned_data.get(name)
            if upload:
                upload.seek(0)
                files.append(
                    SimpleUploadedFile((upload.name or "file")[:200], upload.read(), content_type=self._sniffed[name])
                )
        return files


class PublicReportForm(PublicFormBase):
    narrative = forms.CharField(
        label=_("What happened?"),
        max_length=NARRATIVE_MAX,
        help_text=_("Tell us in your own words: what you saw or heard, who is involved, and what is happening now."),
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    location_text = forms.CharField(
        label=_("Where did it happen, or where are the people now?"),
        help_text=_("A town, street, building or business name, or anything that helps us find the place."),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    incident_from = forms.DateField(label=_("When did it start?"), required=False, widget=_date_input())
    incident_to = forms.DateField(
        label=_("When did it end?"),
        help_text=_("Leave empty if it is still happening or you are not sure."),
        required=False,
        widget=_date_input(),
    )
    victim_count = forms.IntegerField(
        label=_("How many people may be affected?"), required=False, min_value=1, max_value=9999
    )
    victim_sex = forms.ChoiceField(
        label=_("Are they women or girls, men or boys?"),
        choices=Sex.choices,
        initial=Sex.UNKNOWN,
        required=False,
        widget=forms.RadioSelect,
    )
    victim_age_group = forms.ChoiceField(
        label=_("How old are they?"),
        choices=AgeGroup.choices,
        initial=AgeGroup.UNKNOWN,
        required=False,
        widget=forms.RadioSelect,
    )
    victim_nationality = forms.CharField(label=_("Where are they from? (country)"), required=False, max_length=60)
    victim_language = forms.CharField(label=_("What language do they speak?"), required=False, max_length=60)
    exploitation = forms.MultipleChoiceField(
        label=_("What are they made to do? Tick all that apply."),
        choices=Exploitation.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    child_involved = forms.BooleanField(label=_("A child (under 18) is involved"), required=False)
    immediate_danger = forms.BooleanField(label=_("Someone is in danger right now"), required=False)
    medical_need = forms.BooleanField(label=_("Someone needs a doctor or medical care"), required=False)
    named_persons = forms.CharField(
        label=_("Names you know"),
        help_text=_("Names or nicknames of the people affected or of the people responsible, if you know them."),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    contact_me = forms.BooleanField(
        label=_("You may contact me"),
        help_text=_("Leave this unticked to stay anonymous. If you tick it, give a phone number or an email below."),
        required=False,
    )
    reporter_name = forms.CharField(
        label=_("Your name, or a name we can call you"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    reporter_phone = forms.CharField(
        label=_("Phone number"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    reporter_email = forms.EmailField(
        label=_("Email"), required=False, max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )

    CONTACT_FIELDS = ("reporter_name", "reporter_phone", "reporter_email")

    def clean_reporter_phone(self):
        phone = self.cleaned_data["reporter_phone"]
        if phone and not PHONE_RE.match(phone):
            raise forms.ValidationError(_("Enter a phone number using digits, spaces, + and -."), code="phone")
        return phone

    def clean(self):
        data = super().clean()
        start, end = data.get("incident_from"), data.get("incident_to")
        tomorrow = timezone.localdate() + datetime.timedelta(days=1)
        for name, value in (("incident_from", start), ("incident_to", end)):
            if value and not EARLIEST_DATE <= value <= tomorrow:
                self.add_error(
                    name, forms.ValidationError(_("This date is in the future or too long ago."), code="date_range")
                )
        if start and end and end < start and not self.has_error("incident_to"):
            self.add_error(
                "incident_to", forms.ValidationError(_("The end cannot be before the start."), code="date_order")
            )
        given = [name for name in self.CONTACT_FIELDS if data.get(name)]
        if data.get("contact_me"):
            if not data.get("reporter_phone") and not data.get("reporter_email"):
                self.add_error(
                    "contact_me",
                    forms.ValidationError(
                        _("To be contacted, give a phone number or an email."), code="contact_missing"
                    ),
                )
        elif given:
            # Never keep contact details the person did not clearly agree to give (issue #3).
            self.add_error(
                "contact_me",
                forms.ValidationError(
                    _(
                        'You wrote contact details but did not tick "You may contact me". Tick it, or delete the details to stay anonymous.'
                    ),
                    code="contact_unconfirmed",
                ),
            )
        return data

    def report_fields(self) -> dict:
        """Keyword arguments for ``intake.actions.create_public_report``."""
        data = self.cleaned_data
        anonymous = not data["contact_me"]
        return {
            "narrative": data["narrative"],
            "location_text": data["location_text"],
            "incident_from": data["incident_from"],
            "incident_to": data["incident_to"],
            "victim_count": data["victim_count"],
            "victim_sex": data["victim_sex"] or Sex.UNKNOWN,
            "victim_age_group": data["victim_age_group"] or AgeGroup.UNKNOWN,
            "victim_nationality": data["victim_nationality"],
            "victim_language": data["victim_language"],
            "exploitation": list(data["exploitation"]),
            # Choosing "child" or "children and adults" says a child is involved: the SOP treats that as urgent.
            "child_involved": data["child_involved"] or data["victim_age_group"] in {AgeGroup.CHILD, AgeGroup.MIXED},
            "immediate_danger": data["immediate_danger"],
            "medical_need": data["medical_need"],
            "named_persons": data["named_persons"],
            "reporter_anonymous": anonymous,
            "reporter_name": "" if anonymous else data["reporter_name"],
            "reporter_phone": "" if anonymous else data["reporter_phone"],
            "reporter_email": "" if anonymous else data["reporter_email"],
        }


class PublicAdditionForm(PublicFormBase):
    code = forms.CharField(
        label=_("Your code"),
        help_text=_("The code you were given when you sent your report, like ABCD-EFGH-JKLM."),
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    text = forms.CharField(
        label=_("What do you want to add?"), max_length=NARRATIVE_MAX, widget=forms.Textarea(attrs={"rows": 8})
    )

    def clean_code(self):
        raw = "".join(ch for ch in self.cleaned_data["code"].upper() if ch.isalnum())
        # Only the shape is checked here: whether such a code exists is never told (issue #3).
        if not CODE_RE.match(raw):
            raise forms.ValidationError(
                _("A code has 12 letters and numbers, like ABCD-EFGH-JKLM."), code="code_format"
            )
        return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"

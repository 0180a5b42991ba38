"""Forms of the people pages: search, merge (issue #4)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from utilities.forms import BootstrapMixin


class PersonSearchForm(BootstrapMixin, forms.Form):
    # Sent by POST only, so names never reach URLs, server logs or browser history (issue #4).
    q = forms.CharField(
        label=_("Name"),
        max_length=200,
        help_text=_("Any order, with or without accents; spelling variants and aliases are found too."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "maxlength": 200}),
    )

    def clean_q(self):
        from cases.search import words

        value = self.cleaned_data["q"]
        if not words(value):
            raise forms.ValidationError(_("Type at least one name of two letters or more."))
        return value


class MergeForm(BootstrapMixin, forms.Form):
    keep = forms.TypedChoiceField(label=_("Record to keep"), coerce=int, widget=forms.RadioSelect)
    confirm = forms.BooleanField(label=_("I have compared both records: they are the same person."))

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["keep"].choices = choices

from django import forms
from django.utils.translation import gettext_lazy as _

from directory.models import Agency
from utilities.forms import BootstrapMixin


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

from __future__ import annotations

from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from exchange import htcds
from exchange.actions import MAX_BYTES
from intake.filetypes import check_upload
from utilities.forms import BootstrapMixin


class HTCDSImportForm(BootstrapMixin, forms.Form):
    upload = forms.FileField(label=_("HTCDS file (CSV or XLSX)"))

    def clean_upload(self):
        """The content decides what the file is (intake/filetypes.py): the name and declared type prove nothing."""
        upload = self.cleaned_data["upload"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("The file is too large (at most %(size)s).") % {"size": filesizeformat(MAX_BYTES)}
            )
        upload.seek(0)
        data = upload.read()
        fmt = htcds.sniff_format(data[:4096])
        if fmt is None:
            raise forms.ValidationError(_("This is neither a CSV (UTF-8 text) nor an XLSX file."))
        check_upload(upload, where="exchange.htcds_import")
        self.cleaned_data["data"], self.cleaned_data["format"] = data, fmt
        return upload


class HTCDSExportForm(BootstrapMixin, forms.Form):
    format = forms.ChoiceField(label=_("Format"), choices=[("csv", "CSV"), ("xlsx", "XLSX (Excel)")], initial="csv")

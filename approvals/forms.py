from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from utilities.forms import BootstrapMixin, VersionedForm


class RequestForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason for the request"), widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The approver reads it. Say why this is needed now; no more personal details than necessary."),
    )  # fmt: skip


class DecisionForm(BootstrapMixin, VersionedForm):
    note = forms.CharField(
        label=_("Note (required to reject)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CancelForm(VersionedForm):
    pass

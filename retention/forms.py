"""Forms of the retention pages (issue #10). The actions check the same rules again."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from retention.choices import ALLOWED_ACTIONS, RetentionAction
from utilities.forms import BootstrapMixin


class RuleForm(BootstrapMixin, forms.Form):
    period_months = forms.IntegerField(label=_("Kept for (months)"), min_value=1, max_value=1200)
    action = forms.ChoiceField(label=_("Then"), choices=RetentionAction.choices)
    is_active = forms.BooleanField(
        label=_("Active"), required=False, help_text=_("Inactive rules are previewed by a dry run but never applied.")
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, rule=None, **kwargs):
        super().__init__(*args, **kwargs)
        if rule is not None:
            allowed = ALLOWED_ACTIONS.get(rule.record_type, ())
            self.fields["action"].choices = [c for c in RetentionAction.choices if c[0] in allowed]


class HoldForm(BootstrapMixin, forms.Form):
    case_reference = forms.CharField(label=_("Case reference"), max_length=20)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

"""The alert rule form (issue #3). The action (`alerts.actions.create_rule` / `update_rule`) checks the same
rules again and its errors land on these fields."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.permissions import ROLES
from alerts.actions import RULE_FIELDS
from alerts.choices import Event
from utilities.forms import BootstrapMixin


def _role_choices():
    return list(ROLES.items())


class UnitMemberChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        full = obj.get_full_name()
        return f"{full} ({obj.username})" if full else obj.username


class AlertRuleForm(BootstrapMixin, forms.Form):
    event = forms.ChoiceField(label=_("Event"), choices=Event.choices)
    target_roles = forms.MultipleChoiceField(
        label=_("Roles alerted"),
        choices=_role_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Everyone in the unit holding one of these roles."),
    )
    target_assignee = forms.BooleanField(
        label=_("Alert the assigned investigator"),
        required=False,
        help_text=_("For events about a report that has been assigned."),
    )
    target_users = UnitMemberChoiceField(
        label=_("Named users"),
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Active members of the unit only."),
    )
    urgent = forms.BooleanField(
        label=_("Urgent: must be acknowledged"),
        required=False,
        help_text=_("Shown in red until each recipient acknowledges it."),
    )
    send_email = forms.BooleanField(
        label=_("Also send an email"),
        required=False,
        help_text=_("The email only says there is something to see in Beacon, with a link: never any details."),
    )
    escalate_after_minutes = forms.IntegerField(
        label=_("Escalate if not acknowledged after (minutes)"),
        required=False,
        min_value=1,
        max_value=7 * 24 * 60,
        help_text=_("Urgent alerts only. Leave empty for no escalation."),
    )
    escalate_to_roles = forms.MultipleChoiceField(
        label=_("Escalate to roles"), choices=_role_choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, help_text=_("Inactive rules alert nobody."))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._describe()
        self.fields["target_users"].queryset = (
            User.objects.filter(is_active=True, agency__is_home_unit=True).select_related("agency").order_by("username")
        )

    def _describe(self) -> None:
        """Point each field at its help text and errors for screen readers, including errors the action adds
        after validation (checkbox groups are described on their fieldset)."""
        for name, field in self.fields.items():
            if isinstance(field.widget, forms.CheckboxSelectMultiple):
                continue
            attrs, prefixed = field.widget.attrs, self.add_prefix(name)
            ids = [f"{prefixed}-help"] if field.help_text else []
            if self._errors and name in self._errors:
                ids.append(f"{prefixed}-errors")
                attrs["aria-invalid"] = "true"
                if "is-invalid" not in attrs.get("class", "").split():
                    attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
            if ids:
                attrs["aria-describedby"] = " ".join(ids)

    def full_clean(self):
        super().full_clean()
        self._describe()

    def add_error(self, field, error):
        super().add_error(field, error)
        self._describe()

    def rule_fields(self) -> dict:
        """The cleaned values, as the rule actions take them."""
        return {name: self.cleaned_data[name] for name in RULE_FIELDS}

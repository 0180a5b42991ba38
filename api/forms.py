from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from api import actions, scopes
from utilities.forms import BootstrapMixin


class TokenForm(BootstrapMixin, forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_('What or who uses it, e.g. "shelter case system".')
    )
    scopes = forms.MultipleChoiceField(label=_("Scopes"), widget=forms.CheckboxSelectMultiple, choices=())
    days = forms.IntegerField(
        label=_("Valid for (days)"), min_value=1, max_value=actions.MAX_DAYS, initial=actions.DEFAULT_DAYS,
        help_text=_("At most 365 days. Make a new token before this one expires."),
    )  # fmt: skip

    def __init__(self, *args, scope_user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if scope_user is not None:
            self.fields["scopes"].choices = scopes.choices_for(scope_user)


class ServiceTokenForm(TokenForm):
    """A service token acts as an account the administrator picks (a dedicated service account, ideally)."""

    user = forms.ModelChoiceField(label=_("Acts as (service account)"), queryset=User.objects.none())
    rate_per_minute = forms.IntegerField(
        label=_("Requests per minute"),
        min_value=1,
        max_value=100_000,
        required=False,
        help_text=_("Empty: the default."),
    )
    field_order = ["user", "name", "scopes", "days", "rate_per_minute"]

    def __init__(self, *args, admin=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.visible_to(admin).filter(is_active=True).order_by("username")
        # Any scope some account could use; create_token refuses those the chosen account cannot.
        self.fields["scopes"].choices = [(code, f"{code} — {label}") for code, (label, _check) in scopes.SCOPES.items()]

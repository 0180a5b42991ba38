from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from directory.models import Agency
from utilities.forms import BootstrapMixin


class LoginForm(BootstrapMixin, forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(label=_("Password"), max_length=1024, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class OTPForm(BootstrapMixin, forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def clean_code(self) -> str:
        return self.cleaned_data["code"].replace(" ", "").strip()


class EnrolForm(BootstrapMixin, forms.Form):
    code = forms.RegexField(
        label=_("6-digit code shown by your authenticator app"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Enter the 6 digits your app shows.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class PasswordChangeForm(BootstrapMixin, forms.Form):
    old_password = forms.CharField(label=_("Current password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    new_password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters; not a common password and not like your name."),
    )
    new_password2 = forms.CharField(label=_("New password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, user: User, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_old_password(self):
        value = self.cleaned_data["old_password"]
        if not self.user.check_password(value):
            raise forms.ValidationError(_("Your current password was entered incorrectly."))
        return value

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("new_password1"), cleaned.get("new_password2")
        if p1 and p2 and p1 != p2:
            self.add_error("new_password2", _("The two passwords do not match."))
        elif p1:
            try:
                password_validation.validate_password(p1, self.user)
            except forms.ValidationError as exc:
                self.add_error("new_password1", exc)
        return cleaned


class UserForm(BootstrapMixin, forms.Form):
    username = forms.RegexField(label=_("Username"), max_length=150, regex=r"^[\w.@+-]+\Z")
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=120, required=False)
    phone = forms.CharField(label=_("Work phone"), max_length=40, required=False)
    agency = forms.ModelChoiceField(label=_("Agency"), queryset=Agency.objects.none())
    roles = forms.ModelMultipleChoiceField(
        label=_("Roles"), queryset=Role.objects.none(), widget=forms.CheckboxSelectMultiple, required=False
    )
    preferred_language = forms.ChoiceField(label=_("Language"), choices=[("", _("Browser's choice")), *settings.LANGUAGES], required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, instance: User | None = None, **kwargs):
        self.instance = instance
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = Agency.objects.filter(is_active=True) if instance is None else Agency.objects.all()
        self.fields["roles"].queryset = Role.objects.all()
        if instance is None:
            self.fields["password"] = forms.CharField(
                label=_("Temporary password"),
                strip=False,
                widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "class": "form-control"}),
                help_text=_("The user must change it at first sign-in, then enrol two-factor authentication."),
            )
        else:
            self.fields["username"].disabled = True

    def clean_username(self):
        username = self.cleaned_data["username"]
        if self.instance is None and User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("That username is taken."))
        return username

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if self.instance is None and password:
            candidate = User(username=cleaned.get("username", ""), email=cleaned.get("email", ""),
                             first_name=cleaned.get("first_name", ""), last_name=cleaned.get("last_name", ""))
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class TemporaryPasswordForm(BootstrapMixin, forms.Form):
    password = forms.CharField(label=_("Temporary password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, user: User, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        value = self.cleaned_data["password"]
        password_validation.validate_password(value, self.user)
        return value


class UserFilterForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label=_("Name or username"), required=False)
    agency = forms.ModelChoiceField(label=_("Agency"), queryset=Agency.objects.all(), required=False)
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.all(), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), ("active", _("Active")), ("inactive", _("Deactivated")), ("locked", _("Locked"))],
    )

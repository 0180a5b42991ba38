from __future__ import annotations

from django import forms


class BootstrapMixin:
    """Gives widgets Bootstrap's classes and marks invalid fields for screen readers."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            css = widget.attrs.get("class", "")
            if isinstance(widget, (forms.CheckboxInput, forms.RadioSelect, forms.CheckboxSelectMultiple)):
                extra = "form-check-input"
            elif isinstance(widget, (forms.Select, forms.SelectMultiple)):
                extra = "form-select"
            else:
                extra = "form-control"
            widget.attrs["class"] = f"{css} {extra}".strip()

    def full_clean(self):
        # Marking invalid fields after validation (not in __init__, which would validate too early).
        super().full_clean()
        for name in self._errors or {}:
            field = self.fields.get(name)
            if field is None:
                continue
            attrs = field.widget.attrs
            attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = f"{self.add_prefix(name)}-errors"


class VersionedForm(forms.Form):
    """Carries the record version the form was loaded at (optimistic locking)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

"""Forms of the statistics pages (issue #8): the dashboard filters, the report builder, the indicators'
disaggregation. All GET forms: a report is a question, not a change."""

from __future__ import annotations

from datetime import date

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from stats import dataset
from stats.builder import FILTER_DIMS, ReportSpec
from utilities.forms import BootstrapMixin

# Dimensions whose values are a fixed list (dataset.values_for); others offer the values present in the records.
_FIXED_VALUES = ("sex", "age_broad", "age_band", "form", "area")


def filter_choices(measure: str, dim: str) -> list[tuple[str, str]]:
    if dim in _FIXED_VALUES:
        choices = list(dataset.values_for(dim))
        if dim in ("form", "area"):
            choices.append((dataset.UNKNOWN, dataset.label(dim, None)))
        return choices
    # The values that occur for this measure (status, nationality, provider, service...): counts discarded.
    seen = [row[dim] for row in dataset.count(measure, [dim])]
    values = sorted(
        {str(v) for v in seen if v not in (None, "")}, key=lambda v: dataset.label(dim, v, measure=measure).lower()
    )
    choices = [(v, dataset.label(dim, v, measure=measure)) for v in values]
    if any(v in (None, "") for v in seen):
        choices.append((dataset.UNKNOWN, dataset.label(dim, None)))
    return choices


def _date_range_clean(form) -> None:
    start, end = form.cleaned_data.get("date_from"), form.cleaned_data.get("date_to")
    if start and end and start > end:
        form.add_error("date_to", _("The end of the period is before its start."))


class BuilderForm(BootstrapMixin, forms.Form):
    measure = forms.ChoiceField(label=_("Count"), choices=())
    rows = forms.ChoiceField(label=_("Rows"), required=False, choices=())
    columns = forms.ChoiceField(label=_("Columns"), required=False, choices=())
    series = forms.ChoiceField(label=_("Series (one table per value)"), required=False, choices=())
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data=None, *, default_measure: str = "victims", **kwargs):
        super().__init__(data, **kwargs)
        self.measure_key = (data or {}).get("measure") or default_measure
        if self.measure_key not in dataset.MEASURES:
            self.measure_key = default_measure
        measure = dataset.MEASURES[self.measure_key]
        self.fields["measure"].choices = [(k, m.label) for k, m in dataset.MEASURES.items()]
        self.fields["measure"].initial = self.measure_key
        # Another measure has other dimensions: htmx redraws the form for it (the "update" button without JS).
        self.fields["measure"].widget.attrs.update({
            "hx-get": reverse("stats:builder"), "hx-trigger": "change", "hx-target": "#builder-form", "hx-swap": "outerHTML",
            "hx-include": "#builder-form", "hx-vals": '{"refresh": "1"}',
        })  # fmt: skip
        dim_choices = [("", _("(none)"))] + [(d, dataset.DIMENSIONS[d]) for d in measure.dimensions]
        for name in ("rows", "columns", "series"):
            self.fields[name].choices = dim_choices
        self.filter_names = []
        for dim in measure.dimensions:
            if dim not in FILTER_DIMS:
                continue
            name = f"f_{dim}"
            self.fields[name] = forms.MultipleChoiceField(
                label=dataset.DIMENSIONS[dim], required=False, choices=filter_choices(self.measure_key, dim),
                widget=forms.SelectMultiple(attrs={"size": 4, "class": "form-select form-select-sm"}),
            )  # fmt: skip
            self.filter_names.append(name)

    @property
    def filter_fields(self):
        return [self[name] for name in self.filter_names]

    @property
    def main_fields(self):
        return [self[name] for name in ("measure", "rows", "columns", "series", "date_from", "date_to")]

    def clean(self):
        data = super().clean()
        dims = [data.get(n) for n in ("rows", "columns", "series") if data.get(n)]
        if len(dims) != len(set(dims)):
            raise forms.ValidationError(_("Choose a different dimension for rows, columns and series."))
        if data.get("columns") and not data.get("rows"):
            self.add_error("rows", _("Choose the rows before the columns."))
        if data.get("series") and not data.get("rows"):
            self.add_error("rows", _("Choose the rows before a series."))
        _date_range_clean(self)
        return data

    def spec(self) -> ReportSpec:
        data = self.cleaned_data
        return ReportSpec(
            measure=data["measure"],
            rows=data.get("rows") or "",
            columns=data.get("columns") or "",
            series=data.get("series") or "",
            filters={name[2:]: list(data.get(name) or []) for name in self.filter_names if data.get(name)},
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


def _age_choices():
    broad = [(f"age_broad:{code}", lbl) for code, lbl in dataset.values_for("age_broad") if code != dataset.UNKNOWN]
    fine = [(f"age_band:{code}", lbl) for code, lbl in dataset.values_for("age_band") if code != dataset.UNKNOWN]
    return [
        ("", _("All ages")),
        (_("Child or adult"), broad),
        (_("Age bands"), fine),
        ("age_broad:unknown", _("Age unknown")),
    ]


class DashboardForm(BootstrapMixin, forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    sex = forms.ChoiceField(label=_("Sex"), required=False, choices=())
    age = forms.ChoiceField(label=_("Age"), required=False, choices=())
    area = forms.ChoiceField(label=_("Administrative area"), required=False, choices=())
    form = forms.ChoiceField(label=_("Form of exploitation"), required=False, choices=())

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["sex"].choices = [("", _("All"))] + dataset.values_for("sex")
        self.fields["age"].choices = _age_choices()
        self.fields["area"].choices = (
            [("", _("All areas"))] + dataset.values_for("area") + [(dataset.UNKNOWN, _("Area unknown"))]
        )
        self.fields["form"].choices = [("", _("All forms"))] + dataset.values_for("form")

    def clean(self):
        data = super().clean()
        _date_range_clean(self)
        return data

    def period(self) -> tuple[date, date]:
        """The period shown: the last 24 months up to this month by default."""
        today = timezone.localdate()
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        end = data.get("date_to") or today
        start = data.get("date_from")
        if not start:
            month = end.year * 12 + end.month - 1 - 23
            start = date(month // 12, month % 12 + 1, 1)
        return start, end

    def filters(self) -> dict[str, list[str]]:
        """Filters as dimensions of the counting engine."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        out: dict[str, list[str]] = {}
        for name in ("sex", "area", "form"):
            if data.get(name):
                out[name] = [data[name]]
        if data.get("age"):
            dim, _sep, value = data["age"].partition(":")
            out[dim] = [value]
        return out


class IndicatorForm(BootstrapMixin, forms.Form):
    BY = (
        ("sex", _("Sex")),
        ("age_broad", _("Age (child / adult)")),
        ("age_band", _("Age band")),
        ("area", _("Administrative area")),
    )
    by = forms.ChoiceField(label=_("Disaggregate by"), choices=BY, required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        _date_range_clean(self)
        return data

    def values(self) -> tuple[str, date, date]:
        """The disaggregation and period: this calendar year by default."""
        today = timezone.localdate()
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return (
            data.get("by") or "sex",
            data.get("date_from") or date(today.year, 1, 1),
            data.get("date_to") or date(today.year, 12, 31),
        )

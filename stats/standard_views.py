"""The Standard outputs page (issue #8): GLOTIP, SDG 16.2.2 and the TIP data call for a chosen year, with
a chart, the tables and downloads; and the population figures the rates need."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit import log as audit
from stats import actions
from stats import standard as outputs
from stats.models import PopulationAge, PopulationFigure, PopulationSex
from utilities.forms import BootstrapMixin

DOWNLOADS = {
    "glotip": ("GLOTIP", outputs.glotip_table),
    "sdg": ("SDG-16.2.2", outputs.sdg_table),
    "tip": ("TIP", lambda year: outputs.tip_table(list(range(year - 4, year + 1)))),
}


def _require(request: HttpRequest, code: str = "stats.standard_reports") -> None:
    if not request.user.has_perm(code):
        raise PermissionDenied


def _year(request: HttpRequest) -> int:
    default = timezone.localdate().year - 1
    try:
        year = int(request.GET.get("year", default))
    except ValueError:
        return default
    return year if 1990 <= year <= timezone.localdate().year else default


def standard(request: HttpRequest) -> HttpResponse:
    _require(request)
    year = _year(request)
    rows = outputs.glotip_rows(year)
    detected = [r for r in rows if r.indicator == "Detected trafficking victims"]
    total = next(r.value for r in detected if r.dimension == "Total" and r.sex == "Total" and r.age == "Total")
    forms_ = [r for r in detected if r.dimension == "by form of exploitation" and r.age == "Total" and r.sex == "Total"]
    peak = max([r.value for r in forms_] + [1])
    form_bars = [{"label": r.category, "value": r.published(), "bar": round(100 * r.value / peak)} for r in forms_]
    grid = {(r.sex, r.age): r.published() for r in detected if r.dimension == "Total"}
    sex_age = [{"sex": sex, "cells": [grid[(sex, age)] for age in outputs.AGES]} for sex in outputs.SEXES]
    citizenship = [r for r in detected if r.dimension == "by citizenship"]
    justice = [
        {"indicator": r.indicator, "value": r.published()}
        for r in rows
        if r.indicator != "Detected trafficking victims" and r.sex == "Total" and r.age == "Total" and r.dimension == "Total"
    ]
    audit.record("stats.standard_report", actor=request.user, details={"kind": "page", "year": year})
    return render(
        request,
        "stats/standard.html",
        {
            "year": year,
            "years": list(range(timezone.localdate().year, timezone.localdate().year - 10, -1)),
            "total": outputs.small(total),
            "form_bars": form_bars,
            "ages": outputs.AGES,
            "sex_age": sex_age,
            "citizenship": citizenship,
            "justice": justice,
            "sdg": outputs.sdg_table(year),
            "tip": outputs.tip_table(list(range(year - 4, year + 1))),
            "has_population": PopulationFigure.objects.filter(year=year).exists(),
            "can_manage_population": request.user.has_perm("stats.manage_population"),
        },
    )


def standard_download(request: HttpRequest, kind: str, fmt: str) -> HttpResponse:
    _require(request)
    if kind not in DOWNLOADS or fmt not in ("csv", "xlsx"):
        raise Http404
    year = _year(request)
    title, build = DOWNLOADS[kind]
    table = build(year)
    audit.record("stats.standard_report", actor=request.user, details={"kind": kind, "year": year, "format": fmt})
    name = f"{title}-{year}.{fmt}"
    if fmt == "csv":
        response = HttpResponse(outputs.to_csv(table), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            outputs.to_xlsx(table, f"{title} {year}"),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class PopulationForm(BootstrapMixin, forms.Form):
    year = forms.IntegerField(label=gettext_lazy("Year"), min_value=1990, max_value=2100)
    source = forms.CharField(label=gettext_lazy("Source"), max_length=200, required=False)

    def __init__(self, *args, figures=None, **kwargs):
        super().__init__(*args, **kwargs)
        figures = figures or {}
        for sex, sex_label in PopulationSex.choices:
            for age, age_label in PopulationAge.choices:
                self.fields[f"pop_{sex}_{age}"] = forms.IntegerField(
                    label=f"{sex_label}, {age_label}", min_value=1, max_value=2_000_000_000, required=False,
                    initial=figures.get((sex, age)), widget=forms.NumberInput(attrs={"class": "form-control"}),
                )  # fmt: skip

    def figures(self) -> dict:
        return {
            (sex, age): self.cleaned_data.get(f"pop_{sex}_{age}")
            for sex, _l in PopulationSex.choices
            for age, _a in PopulationAge.choices
        }


def population(request: HttpRequest) -> HttpResponse:
    _require(request, "stats.manage_population")
    year = _year(request) if request.method == "GET" else None
    existing = PopulationFigure.objects.filter(year=year) if year else PopulationFigure.objects.none()
    figures = {(p.sex, p.age): p.population for p in existing}
    source = next((p.source for p in existing), "")
    form = PopulationForm(request.POST or None, figures=figures, initial={"year": year, "source": source})
    if request.method == "POST" and form.is_valid():
        year = form.cleaned_data["year"]
        actions.set_population(year, form.figures(), actor=request.user, source=form.cleaned_data["source"])
        messages.success(request, _("Population figures for %(year)s saved.") % {"year": year})
        return redirect(f"{request.path}?year={year}")
    return render(
        request,
        "stats/standard_population.html",
        {"form": form, "recorded": PopulationFigure.objects.order_by("-year", "sex", "age")[:60]},
    )

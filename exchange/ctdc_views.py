"""The page of the anonymised CTDC export (issue #8): choose k and the years, read the suppression report,
download the CSV. Only holders of ``exchange.export_anonymised`` (Director, Deputy, analyst); every download
is audited. The page shows counts only, never a record."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from exchange import ctdc
from utilities.forms import BootstrapMixin


class CTDCExportForm(BootstrapMixin, forms.Form):
    k = forms.IntegerField(
        label=_("k (smallest group of identical records)"),
        help_text=_("The unit's minimum is set by the CTDC_K_ANONYMITY setting; you may only raise it."),
    )
    year_from = forms.IntegerField(label=_("From year of registration"), required=False, min_value=1900, max_value=2999)
    year_to = forms.IntegerField(label=_("To year of registration"), required=False, min_value=1900, max_value=2999)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.minimum_k = ctdc.default_k()
        self.fields["k"].widget.attrs["min"] = self.minimum_k

    def clean_k(self):
        k = self.cleaned_data["k"]
        if k < self.minimum_k:
            raise forms.ValidationError(_("k may not be lower than %(minimum)s.") % {"minimum": self.minimum_k})
        return k

    def clean(self):
        data = super().clean()
        start, end = data.get("year_from"), data.get("year_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The first year is after the last year."))
        return data


def _require(request: HttpRequest) -> None:
    if not request.user.has_perm("exchange.export_anonymised"):
        raise PermissionDenied


def _page(request: HttpRequest, form: CTDCExportForm, result: ctdc.Result | None) -> HttpResponse:
    context = {
        "form": form,
        "result": result,
        "quasi_identifiers": ctdc.QUASI_IDENTIFIERS,
        "other_columns": ctdc.OTHER_COLUMNS,
    }
    return render(request, "exchange/ctdc.html", context, status=200 if result is not None else 400)


def ctdc_export(request: HttpRequest) -> HttpResponse:
    _require(request)
    # The page opens with the unit's k and every year; the form then reads its own query string.
    form = CTDCExportForm({"k": ctdc.default_k(), **request.GET.dict()})
    result = None
    if form.is_valid():
        result = ctdc.build(**form.cleaned_data)
    return _page(request, form, result)


@require_POST
def ctdc_download(request: HttpRequest) -> HttpResponse:
    _require(request)
    form = CTDCExportForm(request.POST)
    if not form.is_valid():
        return _page(request, form, None)
    result = ctdc.build(**form.cleaned_data)
    ctdc.record_export(result, actor=request.user)
    response = HttpResponse("".join(ctdc.to_csv(result)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="beacon-ctdc-k{result.k}-{timezone.localdate():%Y-%m-%d}.csv"'
    )
    response["Cache-Control"] = "no-store"
    return response

"""The interpreter roster (issue #13): interpreters.manage keeps it and shares it with the region;
interpreters.book sees who can be booked and books them. Conflicts of interest are shown to managers only."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from directory.exchange import export_csv
from directory.isocodes import language_name
from interpreters import actions
from interpreters.actions import INTERPRETER_FIELDS
from interpreters.forms import BookingForm, InterpreterForm
from interpreters.models import Interpreter


def _require(request: HttpRequest, *codes: str) -> None:
    if not any(request.user.has_perm(code) for code in codes):
        raise PermissionDenied


def index(request: HttpRequest) -> HttpResponse:
    _require(request, "interpreters.manage", "interpreters.book")
    interpreters = list(Interpreter.objects.all())
    rows = [{"i": i, "languages": [language_name(c) for c in i.languages or []]} for i in interpreters]
    return render(
        request,
        "interpreters/index.html",
        {"rows": rows, "can_manage": request.user.has_perm("interpreters.manage"),
         "can_book": request.user.has_perm("interpreters.book")},
    )  # fmt: skip


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "interpreters.manage", "interpreters.book")
    interpreter = get_object_or_404(Interpreter, pk=pk)
    return render(
        request,
        "interpreters/detail.html",
        {
            "i": interpreter,
            "languages": [language_name(c) for c in interpreter.languages or []],
            "bookings": interpreter.bookings.select_related("booked_by")[:100],
            "can_manage": request.user.has_perm("interpreters.manage"),
            "can_book": request.user.has_perm("interpreters.book"),
            "refusal": interpreter.booking_refusal(),
        },
    )


def create(request: HttpRequest) -> HttpResponse:
    _require(request, "interpreters.manage")
    form = InterpreterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            interpreter = actions.create_interpreter(
                actor=request.user, **{f: form.cleaned_data[f] for f in INTERPRETER_FIELDS}
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Interpreter added to the roster."))
            return redirect("interpreters:detail", pk=interpreter.pk)
    return render(request, "interpreters/form.html", {"form": form, "title": _("Add an interpreter")})


def edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "interpreters.manage")
    interpreter = get_object_or_404(Interpreter, pk=pk)
    form = InterpreterForm(
        request.POST or None, instance=Interpreter.objects.get(pk=pk), initial={"version": interpreter.version}
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_interpreter(
                interpreter, actor=request.user, version=form.cleaned_data["version"] or 0,
                **{f: form.cleaned_data[f] for f in INTERPRETER_FIELDS},
            )  # fmt: skip
        except ValidationError as exc:
            form.add_error(None, exc)
            status = 409 if getattr(exc, "code", "") == "stale" else 400
        else:
            messages.success(request, _("Changes saved."))
            return redirect("interpreters:detail", pk=pk)
    return render(
        request,
        "interpreters/form.html",
        {"form": form, "title": _("Edit %(name)s") % {"name": interpreter}},
        status=status,
    )


def book(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "interpreters.book")
    interpreter = get_object_or_404(Interpreter, pk=pk)
    form = BookingForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            actions.book_interpreter(interpreter, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
            status = 400
        else:
            messages.success(request, _("Booking recorded."))
            return redirect("interpreters:detail", pk=pk)
    return render(
        request,
        "interpreters/form.html",
        {"form": form, "title": _("Book %(name)s") % {"name": interpreter}, "refusal": interpreter.booking_refusal()},
        status=status,
    )


def regional_export(request: HttpRequest) -> StreamingHttpResponse:
    _require(request, "interpreters.manage")
    response = StreamingHttpResponse(export_csv(actions.regional_rows(actor=request.user)), content_type="text/csv")
    name = f"interpreters-regional-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response

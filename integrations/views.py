"""The integrations pages (issue #9): webhooks and their delivery log, Primero connections (holders of
``integrations.manage_webhooks``: 403 for everyone else) and sending a referral to Primero (holders of
``integrations.send_primero`` who may change the referral: 404 for a referral they may not see)."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from integrations import actions
from integrations.choices import OPEN_REFERRAL_STATUSES
from integrations.forms import PrimeroConnectionForm, SendToPrimeroForm, WebhookForm
from integrations.models import PrimeroConnection, PrimeroSubmission, Webhook
from referrals.models import Referral
from utilities.querysets import get_visible_or_404


def _requires(*codes):
    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not any(request.user.has_perm(code) for code in codes):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


manager_required = _requires("integrations.manage_webhooks")


def _stale(form) -> bool:
    return any(error.code == "stale" for error in form.errors.as_data().get("__all__", []))


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@_requires("integrations.manage_webhooks", "integrations.send_primero")
def index(request: HttpRequest) -> HttpResponse:
    manager = request.user.has_perm("integrations.manage_webhooks")
    context: dict = {"manager": manager, "can_send": request.user.has_perm("integrations.send_primero")}
    connections = PrimeroConnection.objects.select_related("agency")
    if manager:
        context["webhooks"] = Webhook.objects.all()
    else:
        connections = connections.filter(is_active=True)
    context["connections"] = connections
    if context["can_send"]:
        agencies = PrimeroConnection.objects.filter(is_active=True).values("agency_id")
        context["referrals"] = (
            Referral.objects.visible_to(request.user, "change")
            .filter(provider__in=agencies, status__in=OPEN_REFERRAL_STATUSES)
            .select_related("provider")
            .order_by("-sent_at", "-pk")[:50]
        )
        context["submissions"] = PrimeroSubmission.objects.filter(
            referral__in=Referral.objects.visible_to(request.user, "view").values("pk")
        ).select_related("referral", "connection")[:20]
    return render(request, "integrations/index.html", context)


# --- webhooks ---------------------------------------------------------------------------------------------


def _show_secret(request, hook: Webhook, secret: str) -> HttpResponse:
    # Rendered in the answer to the POST, never stored in the session or shown again.
    response = render(request, "integrations/webhook_secret.html", {"webhook": hook, "secret": secret})
    response["Cache-Control"] = "no-store"
    return response


@manager_required
def webhook_create(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            hook, secret = actions.create_webhook(
                actor=request.user, name=data["name"], url=data["url"], events=data["events"]
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return _show_secret(request, hook, secret)
    return render(request, "integrations/webhook_form.html", {"form": form, "webhook": None})


@manager_required
def webhook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    hook = get_object_or_404(Webhook, pk=pk)
    initial = {
        "name": hook.name,
        "url": hook.url,
        "events": hook.events,
        "is_active": hook.is_active,
        "version": hook.version,
    }
    form = WebhookForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.update_webhook(
                hook, actor=request.user, version=data["version"] or 0, name=data["name"], url=data["url"],
                events=data["events"], is_active=data["is_active"],
            )  # fmt: skip
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(hook.get_absolute_url())
    status = 409 if _stale(form) else 200
    return render(request, "integrations/webhook_form.html", {"form": form, "webhook": hook}, status=status)


@manager_required
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The delivery log."""
    hook = get_object_or_404(Webhook, pk=pk)
    page = Paginator(hook.deliveries.order_by("-created_at", "-pk"), 50).get_page(request.GET.get("page"))
    return render(request, "integrations/webhook_detail.html", {"webhook": hook, "page": page})


def _version(request) -> int:
    try:
        return int(request.POST.get("version", "0"))
    except ValueError:
        return 0


@manager_required
@require_POST
def webhook_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    hook = get_object_or_404(Webhook, pk=pk)
    try:
        actions.deactivate_webhook(hook, actor=request.user, version=_version(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The webhook was deactivated."))
    return redirect(hook.get_absolute_url())


@manager_required
@require_POST
def webhook_secret(request: HttpRequest, pk: int) -> HttpResponse:
    hook = get_object_or_404(Webhook, pk=pk)
    try:
        secret = actions.regenerate_webhook_secret(hook, actor=request.user, version=_version(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(hook.get_absolute_url())
    return _show_secret(request, hook, secret)


@manager_required
@require_POST
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    hook = get_object_or_404(Webhook, pk=pk)
    try:
        actions.send_test_event(hook, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("A test event was queued. It appears in the log below once it is sent."))
    return redirect(hook.get_absolute_url())


# --- Primero connections ----------------------------------------------------------------------------------


@manager_required
def primero_create(request: HttpRequest) -> HttpResponse:
    form = PrimeroConnectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.create_primero_connection(
                actor=request.user, password=form.cleaned_data["password"], **form.connection_fields()
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("The Primero connection was created."))
            return redirect("integrations:index")
    return render(request, "integrations/primero_form.html", {"form": form, "connection": None})


@manager_required
def primero_edit(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(PrimeroConnection, pk=pk)
    initial = {name: getattr(connection, name) for name in actions.CONNECTION_FIELDS} | {"version": connection.version}
    form = PrimeroConnectionForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_primero_connection(
                connection, actor=request.user, version=form.cleaned_data["version"] or 0,
                password=form.cleaned_data["password"], **form.connection_fields(),
            )  # fmt: skip
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("integrations:index")
    status = 409 if _stale(form) else 200
    return render(request, "integrations/primero_form.html", {"form": form, "connection": connection}, status=status)


def _send_or_ask(request, referral: Referral, connection: PrimeroConnection, override_reason: str):
    """(submission, None) once sent. Without recorded consent and without another approver's yes yet (issue
    #10), nothing is sent: the request (with the sender's reason) goes to the approvers, (None, request)."""
    from approvals.actions import ApprovalRequired

    try:
        return actions.send_referral_to_primero(
            referral, actor=request.user, connection=connection, override_reason=override_reason
        ), None
    except ApprovalRequired:
        return None, actions.request_primero_override(
            referral, actor=request.user, connection=connection, reason=override_reason
        )


@_requires("integrations.send_primero")
def primero_send(request: HttpRequest, referral_id: int) -> HttpResponse:
    from care.consent import has_consent

    referral = get_visible_or_404(Referral.objects.select_related("provider"), request.user, "change", pk=referral_id)
    connections = PrimeroConnection.objects.filter(agency_id=referral.provider_id, is_active=True).order_by(
        "name", "pk"
    )
    form = SendToPrimeroForm(request.POST or None, connections=connections)
    if request.method == "POST" and form.is_valid():
        try:
            submission, approval = _send_or_ask(
                request, referral, form.cleaned_data["connection"], form.cleaned_data["override_reason"]
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if approval is not None:
                messages.warning(
                    request,
                    _("Nothing was sent: sending to Primero without recorded consent needs a second person's "
                      "approval. Request %(approval)s is with the approvers; once approved, send it from this page.")
                    % {"approval": approval.reference},
                )  # fmt: skip
                return redirect("integrations:primero_send", referral_id=referral.pk)
            if submission.status == "sent":
                messages.success(request, _("The referral was sent to Primero."))
            elif submission.will_retry:
                messages.warning(
                    request,
                    _("The referral could not be sent to Primero yet (%(error)s). Beacon will try again by itself; "
                      "you will be alerted if it still fails.") % {"error": submission.error},
                )  # fmt: skip
            else:
                messages.error(
                    request, _("The referral could not be sent to Primero: %(error)s") % {"error": submission.error}
                )
            return redirect("integrations:primero_send", referral_id=referral.pk)
    consent = has_consent(referral.case_person_id, "sharing", agency=referral.provider_id)
    can_override = request.user.has_perm("referrals.override_consent")
    first = connections.first()
    context = {
        "referral": referral,
        "form": form,
        "has_connection": first is not None,
        "consent": consent,
        "can_override": can_override,
        "override_approval": (
            actions.override_approval(referral, actor=request.user, connection=first)
            if first is not None and can_override and not consent
            else None
        ),
        "is_open": referral.status in OPEN_REFERRAL_STATUSES,
        "submissions": referral.primero_submissions.select_related("connection", "sent_by").prefetch_related(
            "attempt_log"
        ),
    }
    return render(request, "integrations/primero_send.html", context)

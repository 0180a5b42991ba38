"""The approvals page (issue #10): approvers see every request and decide the pending ones (never their own);
everyone sees their own requests. A request a user may not see answers 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from approvals import actions
from approvals.choices import Status
from approvals.forms import CancelForm, DecisionForm
from approvals.models import ApprovalRequest
from audit import log as audit
from utilities.locking import StaleVersion
from utilities.querysets import get_visible_or_404


def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    visible = ApprovalRequest.objects.visible_to(user).select_related("requested_by", "decided_by")
    can_approve = user.has_perm(actions.APPROVE)
    waiting = list(visible.live().filter(status=Status.PENDING).exclude(requested_by=user)) if can_approve else []
    mine = list(visible.filter(requested_by=user)[:50])
    decided = list(visible.exclude(status=Status.PENDING).exclude(requested_by=user)[:50]) if can_approve else []
    return render(
        request,
        "approvals/index.html",
        {"waiting": waiting, "mine": mine, "decided": decided, "can_approve": can_approve},
    )


def _detail(request, item: ApprovalRequest, *, form=None, errors=(), status=200) -> HttpResponse:
    user = request.user
    live = item.status == Status.PENDING and not item.is_expired
    context = {
        "item": item,
        "can_decide": live and user.has_perm(actions.APPROVE) and item.requested_by_id != user.pk,
        "own_pending": live and item.requested_by_id == user.pk,
        "can_cancel": item.requested_by_id == user.pk and item.shown_status in {Status.PENDING, Status.APPROVED},
        "form": form or DecisionForm(initial={"version": item.version}),
        "cancel_form": CancelForm(initial={"version": item.version}),
        "errors": list(errors),
        "now": timezone.now(),
    }
    return render(request, "approvals/detail.html", context, status=status)


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_visible_or_404(ApprovalRequest.objects.select_related("requested_by", "decided_by"), request.user, pk=pk)
    # The reason may say something about a person: reading it is recorded, as reads of records are.
    audit.record("approvals.viewed", actor=request.user, obj=item, details={"kind": item.kind})
    return _detail(request, item)


@require_POST
def decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    if decision not in {"approve", "reject"}:
        raise Http404
    item = get_visible_or_404(ApprovalRequest.objects, request.user, "decide", pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _detail(request, item, form=form, errors=[_("The form is incomplete.")], status=400)
    do = actions.approve if decision == "approve" else actions.reject
    try:
        do(item, actor=request.user, version=form.cleaned_data["version"], note=form.cleaned_data["note"])
    except PermissionDenied as exc:
        return _detail(
            request, item, form=form, errors=[str(exc) or _("You may not decide on this request.")], status=403
        )
    except ValidationError as exc:
        item.refresh_from_db()
        status = 409 if isinstance(exc, StaleVersion) or getattr(exc, "code", "") == "invalid_transition" else 400
        return _detail(request, item, form=form, errors=exc.messages, status=status)
    if decision == "approve":
        messages.success(request, _("Request %(ref)s approved.") % {"ref": item.reference})
    else:
        messages.success(request, _("Request %(ref)s rejected.") % {"ref": item.reference})
    return redirect("approvals:index")


@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_visible_or_404(ApprovalRequest.objects, request.user, pk=pk)
    if item.requested_by_id != request.user.pk:
        raise PermissionDenied
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _detail(request, item, errors=[_("The form is incomplete.")], status=400)
    try:
        actions.cancel(item, actor=request.user, version=form.cleaned_data["version"])
    except ValidationError as exc:
        item.refresh_from_db()
        return _detail(request, item, errors=exc.messages, status=409)
    messages.success(request, _("Request %(ref)s cancelled.") % {"ref": item.reference})
    return redirect("approvals:index")

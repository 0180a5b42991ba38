"""Cooperation between countries' units (issue #9): the requests page, the request form, the review of an
incoming request, the registry of peers, and the inbox other instances post to."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cooperation import actions
from cooperation.choices import AskedItem, Direction, MessageKind, Status
from cooperation.envelope import EnvelopeError
from cooperation.forms import DeclineForm, PeerForm, ReplyForm, RequestForm
from cooperation.keys import instance_keys
from cooperation.models import CoopMessage, CoopRequest, Peer
from utilities.querysets import get_visible_or_404

ANY_COOPERATION = ("cooperation.request", "cooperation.respond", "cooperation.manage_peers")


def _require(request: HttpRequest, *codes: str) -> None:
    if not any(request.user.has_perm(code) for code in codes):
        raise PermissionDenied


def _status_for(exc: ValidationError) -> int:
    return 409 if getattr(exc, "code", "") in {"stale", "state"} else 400


def index(request: HttpRequest) -> HttpResponse:
    _require(request, *ANY_COOPERATION)
    visible = CoopRequest.objects.visible_to(request.user).select_related("peer", "created_by")
    show = request.GET.get("show", "open")
    if show == "open":
        visible = visible.exclude(status=Status.CLOSED)
    return render(
        request,
        "cooperation/index.html",
        {
            "outgoing": list(visible.filter(direction=Direction.OUTGOING)[:200]),
            "incoming": list(visible.filter(direction=Direction.INCOMING)[:200]),
            "show": show,
            "can_request": request.user.has_perm("cooperation.request"),
            "can_respond": request.user.has_perm("cooperation.respond"),
            "can_manage_peers": request.user.has_perm("cooperation.manage_peers"),
        },
    )


def create(request: HttpRequest) -> HttpResponse:
    _require(request, "cooperation.request")
    form = RequestForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            req = actions.create_request(actor=request.user, send="send" in request.POST, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
            status = 400
        else:
            messages.success(request, _("Request sent.") if req.status == Status.SENT else _("Draft saved."))
            return redirect(req)
    elif request.method == "POST":
        status = 400
    return render(request, "cooperation/request_form.html", {"form": form}, status=status)


def _body(message: CoopMessage) -> dict:
    data = json.loads(message.body)
    labels = dict(AskedItem.choices)
    for key in ("asked_items", "disclosed_items"):
        if key in data:
            data[key + "_labels"] = [labels.get(code, code) for code in data[key]]
    return data


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "cooperation.request", "cooperation.respond")
    req = get_visible_or_404(
        CoopRequest.objects.select_related("peer", "created_by", "reviewer", "case"), request.user, pk=pk
    )
    return _render_detail(request, req)


def _render_detail(request, req, *, reply_form=None, decline_form=None, status=200) -> HttpResponse:
    can_respond = (
        req.direction == Direction.INCOMING
        and CoopRequest.objects.visible_to(request.user, "respond").filter(pk=req.pk).exists()
    )
    can_manage = (
        req.direction == Direction.OUTGOING
        and CoopRequest.objects.visible_to(request.user, "manage").filter(pk=req.pk).exists()
    )
    answerable = can_respond and req.status in (Status.RECEIVED, Status.UNDER_REVIEW)
    thread = [{"m": m, "body": _body(m)} for m in req.messages.select_related("author")]
    return render(
        request,
        "cooperation/detail.html",
        {
            "req": req,
            "thread": thread,
            "answers": [t for t in thread if t["m"].kind in (MessageKind.REPLY, MessageKind.DECLINE)],
            "can_respond": can_respond,
            "can_manage": can_manage,
            "answerable": answerable,
            "can_close": (can_respond or can_manage) and req.status in (Status.DRAFT, Status.ANSWERED, Status.DECLINED),
            "reply_form": reply_form
            or (ReplyForm(initial={"version": req.version}, asked_items=req.asked_items) if answerable else None),
            "decline_form": decline_form or (DeclineForm(initial={"version": req.version}) if answerable else None),
        },
        status=status,
    )


def _incoming_action(request: HttpRequest, pk: int) -> CoopRequest:
    _require(request, "cooperation.respond")
    return get_visible_or_404(CoopRequest.objects.select_related("peer"), request.user, "respond", pk=pk)


@require_POST
def review(request: HttpRequest, pk: int) -> HttpResponse:
    req = _incoming_action(request, pk)
    try:
        actions.start_review(req, actor=request.user, version=int(request.POST.get("version") or 0))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _render_detail(request, req, status=_status_for(exc))
    messages.success(request, _("Review started: the requesting unit has been told."))
    return redirect(req)


@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    req = _incoming_action(request, pk)
    form = ReplyForm(request.POST, asked_items=req.asked_items)
    if form.is_valid():
        try:
            actions.reply_to_request(req, actor=request.user, version=form.cleaned_data["version"],
                                     disclosed_items=form.cleaned_data["disclosed_items"], text=form.cleaned_data["text"])  # fmt: skip
        except ValidationError as exc:
            form.add_error(None, exc)
            return _render_detail(request, req, reply_form=form, status=_status_for(exc))
        messages.success(request, _("Answer sent."))
        return redirect(req)
    return _render_detail(request, req, reply_form=form, status=400)


@require_POST
def decline(request: HttpRequest, pk: int) -> HttpResponse:
    req = _incoming_action(request, pk)
    form = DeclineForm(request.POST)
    if form.is_valid():
        try:
            actions.decline_request(
                req, actor=request.user, version=form.cleaned_data["version"], reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return _render_detail(request, req, decline_form=form, status=_status_for(exc))
        messages.success(request, _("The request was declined and the requesting unit told why."))
        return redirect(req)
    return _render_detail(request, req, decline_form=form, status=400)


@require_POST
def send(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "cooperation.request")
    req = get_visible_or_404(CoopRequest.objects.select_related("peer"), request.user, "manage", pk=pk)
    try:
        actions.send_request(req, actor=request.user, version=int(request.POST.get("version") or 0))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _render_detail(request, req, status=_status_for(exc))
    messages.success(request, _("Request sent."))
    return redirect(req)


@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "cooperation.request", "cooperation.respond")
    req = get_visible_or_404(CoopRequest.objects.select_related("peer"), request.user, pk=pk)
    try:
        actions.close_request(req, actor=request.user, version=int(request.POST.get("version") or 0))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _render_detail(request, req, status=_status_for(exc))
    messages.success(request, _("Request closed."))
    return redirect(req)


@require_POST
def retry(request: HttpRequest, pk: int, message_pk: int) -> HttpResponse:
    _require(request, "cooperation.request", "cooperation.respond")
    req = get_visible_or_404(CoopRequest.objects.select_related("peer"), request.user, pk=pk)
    message = get_object_or_404(CoopMessage, pk=message_pk, request=req)
    try:
        actions.retry_delivery(message, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _render_detail(request, req, status=_status_for(exc))
    messages.success(request, _("The message will be sent again."))
    return redirect(req)


# --- the registry of peers ----------------------------------------------------------------------------------


def peers(request: HttpRequest) -> HttpResponse:
    _require(request, "cooperation.manage_peers")
    form = PeerForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
            try:
                peer = actions.add_peer(actor=request.user, **data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("%(peer)s added to the registry.") % {"peer": peer})
                return redirect("cooperation:peers")
        status = 400
    try:
        keys = instance_keys()
        own = {"signing_key": keys.signing_public, "encryption_key": keys.encryption_public}
    except ImproperlyConfigured:  # production without a key file yet: the page says so
        own = None
    return render(
        request,
        "cooperation/peers.html",
        {"peers": Peer.objects.all(), "form": form, "own": own, "instance_id": settings.BEACON_INSTANCE_ID,
         "inbox_url": settings.BEACON_SITE_URL + "/cooperation/inbox/"},
        status=status,
    )  # fmt: skip


def peer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "cooperation.manage_peers")
    peer = get_object_or_404(Peer, pk=pk)
    form = PeerForm(request.POST or None, instance=Peer.objects.get(pk=pk), initial={"version": peer.version})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
            try:
                actions.update_peer(peer, actor=request.user, version=form.cleaned_data["version"] or 0, **data)
            except ValidationError as exc:
                form.add_error(None, exc)
                status = _status_for(exc)
            else:
                messages.success(request, _("Changes saved."))
                return redirect("cooperation:peers")
        else:
            status = 400
    return render(request, "cooperation/peer_form.html", {"form": form, "peer": peer}, status=status)


@require_POST
def peer_active(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "cooperation.manage_peers")
    peer = get_object_or_404(Peer, pk=pk)
    try:
        actions.set_peer_active(peer, actor=request.user, active=request.POST.get("active") == "1",
                                version=int(request.POST.get("version") or 0))  # fmt: skip
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("cooperation:peers")
    messages.success(request, _("Registry updated."))
    return redirect("cooperation:peers")


# --- the inbox ----------------------------------------------------------------------------------------------


@csrf_exempt  # Other instances post here without a session: the envelope's signature is the authentication.
@login_not_required
@require_POST
def inbox(request: HttpRequest) -> HttpResponse:
    try:
        actions.receive_envelope(request.body)
    except EnvelopeError as exc:
        # The status says what kind of refusal; the reason stays in our audit log.
        return JsonResponse({"accepted": False}, status=exc.status)
    return JsonResponse({"accepted": True}, status=202)

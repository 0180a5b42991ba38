"""Referral pages (issue #5): the unit's pages (list, new referral, detail, send, withdraw, reports), the
provider portal (list, detail, answers, updates, services) and the thread shared by both sides.

Each side has its own pages: a provider's staff get 404 on the unit's pages and the reverse, so the provider
can never reach a page that reads the case. Every page read is audited."""

from __future__ import annotations

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audit import log as audit
from care.choices import NeedType
from care.consent import has_consent
from cases.choices import PersonRole
from cases.models import CasePerson
from directory.models import Agency
from directory.pathways import propose_providers
from referrals import actions, forms
from referrals.choices import ATTACHMENT_STORE, STATUS_BADGE, ReferralStatus, Side
from referrals.models import Referral, ReferralMessage, side_of
from referrals.reports import referral_statistics
from referrals.snapshot import build_snapshot, snapshot_rows
from utilities.querysets import get_visible_or_404
from utilities.storage import read_encrypted

UNIT_RELATED = ("case_person__case", "case_person__person", "provider", "created_by", "sent_by")


def _referral(request: HttpRequest, pk: int, side: str, action: str = "view") -> Referral:
    """The referral, 404 unless the user is on ``side`` and may see it; 403 if they may see but not act."""
    if side_of(request.user) != side:
        raise Http404
    related = UNIT_RELATED if side == Side.UNIT else ("provider",)
    return get_visible_or_404(Referral.objects.select_related(*related), request.user, action, pk=pk)


def _any_side(request: HttpRequest, pk: int) -> Referral:
    side = side_of(request.user)
    if side is None:
        raise Http404
    return _referral(request, pk, side)


def _audit_read(request, referral, page: str, **details) -> None:
    audit.record(
        "referrals.viewed",
        actor=request.user,
        obj=referral,
        details={"page": page, "side": side_of(request.user), **details},
    )


def _error_status(exc: ValidationError) -> int:
    return 409 if getattr(exc, "code", "") in {"stale", "invalid_transition"} else 400


def _errors(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


def _unit_name() -> str:
    unit = Agency.objects.filter(is_home_unit=True).first()
    return str(unit) if unit else _("The unit")


def _timeline(referral: Referral, viewer_side: str) -> list[dict]:
    unit = _unit_name()
    items = []
    for e in referral.events.select_related("actor"):
        if viewer_side == Side.PROVIDER and e.kind in {"created", "consent_overridden"}:
            continue
        if viewer_side == Side.PROVIDER and e.side == Side.UNIT:
            who = unit  # the unit's officers are not named to partners
        else:
            who = e.actor.display_name if e.actor else "—"
        note = e.note if (viewer_side == Side.UNIT or e.note_shared) else ""
        items.append({"at": e.at, "label": e.get_kind_display(), "who": who, "note": note})
    return items


def _thread(referral: Referral, viewer) -> list[dict]:
    side = side_of(viewer)
    unit = _unit_name()
    items = []
    for m in referral.messages.select_related("sender"):
        if m.side == Side.UNIT and side == Side.PROVIDER:
            who = unit
        else:
            who = m.sender.display_name + (f" ({referral.provider})" if m.side == Side.PROVIDER else "")
        items.append({"message": m, "who": who, "mine": m.sender_id == viewer.pk})
    return items


def _thread_context(request, referral: Referral) -> dict:
    items = _thread(referral, request.user)
    actions.mark_thread_read(referral, actor=request.user, messages=[i["message"] for i in items])
    return {
        "referral": referral,
        "items": items,
        "last_id": items[-1]["message"].pk if items else 0,
        "can_write": actions.can_write(referral, request.user),
        "message_form": forms.MessageForm(),
    }


# --- the unit's pages -------------------------------------------------------------------------------------


def referral_list(request: HttpRequest) -> HttpResponse:
    side = side_of(request.user)
    if side == Side.PROVIDER:
        return redirect("referrals:portal_list")
    if side != Side.UNIT:
        raise Http404
    form = forms.ListFilterForm(request.GET or None)
    referrals = Referral.objects.visible_to(request.user).select_related(*UNIT_RELATED)
    if form.is_valid():
        if form.cleaned_data["status"]:
            referrals = referrals.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["overdue"]:
            referrals = referrals.overdue()
    referrals = list(referrals[:200])
    audit.record(
        "referrals.list_viewed",
        actor=request.user,
        details={"count": len(referrals), "filters": sorted(k for k, v in request.GET.items() if v)},
    )
    return render(
        request, "referrals/referral_list.html", {"referrals": referrals, "form": form, "badges": STATUS_BADGE}
    )


def _providers_context(link: CasePerson, needs: list[str]) -> list[dict]:
    """Every authorised provider, those proposed for the chosen needs first with the reasons, each with
    whether consent to share with it is recorded."""
    proposed: dict[int, dict] = {}
    for need in needs:
        for proposal in propose_providers(need, case_person=link):
            entry = proposed.setdefault(
                proposal.agency.pk, {"needs": [], "reasons": [], "distance_km": proposal.distance_km}
            )
            entry["needs"].append(NeedType(need).label)
            entry["reasons"] += [str(r) for r in proposal.reasons if str(r) not in entry["reasons"]]
    rows = []
    for agency in Agency.objects.filter(authorised_for_referrals=True, is_active=True).order_by("name"):
        info = proposed.get(agency.pk)
        rows.append({
            "agency": agency, "proposed": info is not None, "needs": info["needs"] if info else [],
            "reasons": info["reasons"] if info else [], "distance_km": info["distance_km"] if info else None,
            "consent": has_consent(link.pk, "sharing", agency=agency),
        })  # fmt: skip
    order = list(proposed)
    rows.sort(key=lambda r: (not r["proposed"], order.index(r["agency"].pk) if r["proposed"] else 0, r["agency"].name))
    return rows


def referral_create(request: HttpRequest, case_person_pk: int) -> HttpResponse:
    if side_of(request.user) != Side.UNIT:
        raise Http404
    link = get_visible_or_404(
        CasePerson.objects.filter(role=PersonRole.VICTIM).select_related("case", "person"),
        request.user,
        pk=case_person_pk,
    )
    if (
        not request.user.has_perm("referrals.send")
        or not CasePerson.objects.visible_to(request.user, "change").filter(pk=link.pk).exists()
    ):
        raise PermissionDenied
    can_override = request.user.has_perm("referrals.override_consent")
    status = 200
    errors: list[str] = []
    if request.method == "POST":
        form = forms.ReferralForm(request.POST, case_person=link, can_override=can_override)
        if form.is_valid() and request.POST.get("intent") in {"draft", "send"}:
            try:
                with transaction.atomic():
                    referral = actions.create_referral(link, actor=request.user, **form.action_fields())
                    if request.POST["intent"] == "send":
                        approval = _send_or_ask(
                            request, referral, referral.version, form.cleaned_data.get("override_reason", "")
                        )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for name, errs in exc.error_dict.items():
                        form.add_error(name if name in form.fields else None, errs)
                else:
                    errors = _errors(exc)
                status = 400
            except PermissionDenied:
                errors = [_("You may not send a referral without recorded consent.")]
                status = 403
            else:
                if request.POST["intent"] == "send" and approval is not None:
                    flash.warning(request, _approval_message(referral, approval))
                    return redirect(referral.get_absolute_url())
                flash.success(
                    request,
                    _("Referral %(ref)s sent.") % {"ref": referral.reference}
                    if referral.status == ReferralStatus.SENT
                    else _("Draft %(ref)s saved.") % {"ref": referral.reference},
                )
                return redirect(referral.get_absolute_url())
        elif form.is_valid():
            status = 200
        else:
            status = 400
    else:
        initial = {}
        need_pk = request.GET.get("need")
        if need_pk and need_pk.isdigit():
            need = link.care_needs.filter(pk=need_pk).first()
            if need is not None:
                initial = {"needs": [need.need_type], "care_needs": [need.pk]}
        form = forms.ReferralForm(
            request.GET if "needs" in request.GET else None,
            case_person=link,
            can_override=can_override,
            initial=initial,
        )
        audit.record(
            "referrals.viewed",
            actor=request.user,
            obj=link.case,
            details={"page": "referral_create", "case_person_id": link.pk},
        )
    chosen = form.data.getlist("needs") if form.is_bound else form.initial.get("needs", [])
    chosen = [n for n in chosen if n in NeedType.values]
    providers = _providers_context(link, chosen)
    selected = str(form["provider"].value() or "")
    return render(
        request, "referrals/referral_form.html",
        {"form": form, "link": link, "case": link.case, "providers": providers, "chosen_needs": chosen, "selected": selected,
         "errors": errors, "can_override": can_override},
        status=status,
    )  # fmt: skip


def _unit_detail(
    request, referral: Referral, *, errors=(), status=200, send_form=None, withdraw_form=None
) -> HttpResponse:
    snap = referral.snapshot if referral.status != ReferralStatus.DRAFT else build_snapshot(referral)
    context = {
        "referral": referral,
        "case": referral.case_person.case,
        "link": referral.case_person,
        "badge": STATUS_BADGE[referral.status],
        "snapshot_rows": snapshot_rows(snap),
        "timeline": _timeline(referral, Side.UNIT),
        "services": referral.services.select_related("recorded_by"),
        "consent": actions.consent_recorded(referral),
        "can_change": Referral.objects.visible_to(request.user, "change").filter(pk=referral.pk).exists(),
        "can_override": request.user.has_perm("referrals.override_consent"),
        "override_approval": _override_approval(request.user, referral),
        "can_send": actions.allowed(referral, "send"),
        "can_withdraw": actions.allowed(referral, "withdraw"),
        "send_form": send_form or forms.SendForm(initial={"version": referral.version}),
        "withdraw_form": withdraw_form or forms.ReasonForm(initial={"version": referral.version}),
        "errors": list(errors),
        "now": timezone.now(),
        **_thread_context(request, referral),
    }
    return render(request, "referrals/referral_detail.html", context, status=status)


def referral_detail(request: HttpRequest, pk: int) -> HttpResponse:
    referral = _referral(request, pk, Side.UNIT)
    _audit_read(request, referral, "detail")
    return _unit_detail(request, referral)


def _send_or_ask(request, referral: Referral, version: int, override_reason: str):
    """Send the referral; None when sent. Sending without recorded consent needs another approver's yes (issue
    #10): when the sender has none yet, the referral stays a draft and the request (with the sender's reason)
    goes to the approvers; the request is returned."""
    try:
        with transaction.atomic():
            actions.send_referral(referral, actor=request.user, version=version, override_reason=override_reason)
    except ValidationError as exc:
        if getattr(exc, "code", None) != "approval_required":
            raise
        return actions.request_consent_override(referral, actor=request.user, reason=override_reason)
    return None


def _override_approval(user, referral: Referral):
    """The user's approved (else pending) request to send this draft without consent, or None (issue #10)."""
    from approvals.actions import pending, usable
    from approvals.choices import Kind

    if referral.status != ReferralStatus.DRAFT:
        return None
    return usable(Kind.CONSENT_OVERRIDE, actor=user, target=referral) or pending(
        Kind.CONSENT_OVERRIDE, actor=user, target=referral
    )


def _approval_message(referral: Referral, approval) -> str:
    return _(
        "Referral %(ref)s stays a draft: sending it without recorded consent needs a second person's approval. "
        "Request %(approval)s is with the approvers; once approved, send it from this page."
    ) % {"ref": referral.reference, "approval": approval.reference}


@require_POST
def referral_send(request: HttpRequest, pk: int) -> HttpResponse:
    referral = _referral(request, pk, Side.UNIT, "change")
    form = forms.SendForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                approval = _send_or_ask(
                    request, referral, form.cleaned_data["version"], form.cleaned_data["override_reason"]
                )
        except ValidationError as exc:
            referral.refresh_from_db()
            return _unit_detail(request, referral, errors=_errors(exc), status=_error_status(exc), send_form=form)
        if approval is not None:
            flash.warning(request, _approval_message(referral, approval))
            return redirect(referral.get_absolute_url())
        flash.success(request, _("Referral %(ref)s sent.") % {"ref": referral.reference})
        return redirect(referral.get_absolute_url())
    return _unit_detail(request, referral, errors=[_("The form is incomplete.")], status=400, send_form=form)


@require_POST
def referral_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    referral = _referral(request, pk, Side.UNIT, "change")
    form = forms.ReasonForm(request.POST)
    if form.is_valid():
        try:
            actions.withdraw_referral(
                referral, actor=request.user, version=form.cleaned_data["version"], reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            referral.refresh_from_db()
            return _unit_detail(request, referral, errors=_errors(exc), status=_error_status(exc), withdraw_form=form)
        flash.success(request, _("Referral %(ref)s withdrawn.") % {"ref": referral.reference})
        return redirect(referral.get_absolute_url())
    return _unit_detail(
        request, referral, errors=[_("Give the reason for the withdrawal.")], status=400, withdraw_form=form
    )


def referral_reports(request: HttpRequest) -> HttpResponse:
    if side_of(request.user) != Side.UNIT:
        raise Http404
    if not (request.user.has_perm("referrals.view_reports") or request.user.is_leadership):
        raise PermissionDenied
    audit.record("referrals.reports_viewed", actor=request.user)
    return render(request, "referrals/reports.html", referral_statistics())


# --- the thread (both sides) ------------------------------------------------------------------------------


def thread(request: HttpRequest, pk: int) -> HttpResponse:
    """The thread fragment, polled by htmx every 3 seconds: 204 (nothing to swap) when nothing is new."""
    referral = _any_side(request, pk)
    after = request.GET.get("after", "")
    if after.isdigit() and not referral.messages.filter(pk__gt=int(after)).exists():
        return HttpResponse(status=204)
    return render(request, "referrals/_thread.html", _thread_context(request, referral))


@require_POST
def message_post(request: HttpRequest, pk: int) -> HttpResponse:
    referral = _any_side(request, pk)
    if not actions.can_write(referral, request.user):
        raise PermissionDenied
    form = forms.MessageForm(request.POST, request.FILES)
    status = 200
    if form.is_valid():
        try:
            actions.post_message(
                referral, actor=request.user, text=form.cleaned_data["text"], upload=form.cleaned_data["attachment"]
            )
        except ValidationError as exc:
            flash.error(request, " ".join(_errors(exc)))
            status = 400
    else:
        # The form sits on the referral page, which the redirect below reloads: say why nothing was sent.
        flash.error(request, " ".join(str(error) for errors in form.errors.values() for error in errors))
        status = 400
    if request.headers.get("HX-Request"):
        context = _thread_context(request, referral)
        if status != 200:
            context["message_form"] = form
        return render(request, "referrals/_thread.html", context, status=status)
    url = referral.get_absolute_url() if side_of(request.user) == Side.UNIT else referral.get_portal_url()
    return redirect(url + "#thread")


def attachment_download(request: HttpRequest, pk: int, message_pk: int) -> HttpResponse:
    referral = _any_side(request, pk)
    message = ReferralMessage.objects.filter(pk=message_pk, referral=referral).exclude(stored_name="").first()
    if message is None:
        raise Http404
    data = read_encrypted(ATTACHMENT_STORE, message.stored_name)
    actions.audit_attachment_download(message, actor=request.user)
    extension = {
        "image/jpeg": ".jpg",
        "image/png": ".png",
        "image/gif": ".gif",
        "image/webp": ".webp",
        "application/pdf": ".pdf",
    }.get(message.content_type, "")
    response = HttpResponse(data, content_type=message.content_type or "application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{referral.reference}-{message.pk}{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


# --- the provider portal ----------------------------------------------------------------------------------


def portal_list(request: HttpRequest) -> HttpResponse:
    if side_of(request.user) != Side.PROVIDER:
        raise Http404
    form = forms.ListFilterForm(request.GET or None)
    referrals = Referral.objects.visible_to(request.user).select_related("provider")
    if form.is_valid() and form.cleaned_data["status"]:
        referrals = referrals.filter(status=form.cleaned_data["status"])
    referrals = list(referrals.order_by("-sent_at", "-pk")[:200])
    rows = [
        {"referral": r, "name": r.snapshot.get("name", ""), "needs": ", ".join(str(NeedType(n).label) for n in r.needs)}
        for r in referrals
    ]
    audit.record("referrals.list_viewed", actor=request.user, details={"count": len(rows), "side": "provider"})
    return render(request, "referrals/portal_list.html", {"rows": rows, "form": form, "badges": STATUS_BADGE})


PORTAL_ACTIONS = {
    "acknowledge": (forms.VersionedForm, actions.acknowledge_referral, lambda d: {}),
    "accept": (forms.NoteForm, actions.accept_referral, lambda d: {"note": d["note"]}),
    "decline": (forms.ReasonForm, actions.decline_referral, lambda d: {"reason": d["reason"]}),
    "start": (forms.VersionedForm, actions.start_referral, lambda d: {}),
    "complete": (forms.OutcomeForm, actions.complete_referral, lambda d: {"outcome": d["outcome"]}),
}


def _portal_detail(request, referral: Referral, *, errors=(), status=200, bound=None) -> HttpResponse:
    version = {"version": referral.version}
    action_forms = {
        name: (bound[1] if bound and bound[0] == name else spec[0](initial=version))
        for name, spec in PORTAL_ACTIONS.items()
        if actions.allowed(referral, name)
    }
    context = {
        "referral": referral,
        "badge": STATUS_BADGE[referral.status],
        "snapshot_rows": snapshot_rows(referral.snapshot),
        "timeline": _timeline(referral, Side.PROVIDER),
        "services": referral.services.select_related("recorded_by"),
        "action_forms": action_forms,
        "can_update": referral.status
        in {ReferralStatus.ACKNOWLEDGED, ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS},
        "can_record_service": referral.status in {ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS},
        "update_form": bound[1] if bound and bound[0] == "update" else forms.UpdateForm(),
        "service_form": bound[1] if bound and bound[0] == "service" else forms.ServiceForm(),
        "errors": list(errors),
        "now": timezone.now(),
        **_thread_context(request, referral),
    }
    return render(request, "referrals/portal_detail.html", context, status=status)


def portal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    referral = _referral(request, pk, Side.PROVIDER)
    _audit_read(request, referral, "portal_detail")
    return _portal_detail(request, referral)


@require_POST
def portal_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in PORTAL_ACTIONS:
        raise Http404
    referral = _referral(request, pk, Side.PROVIDER, "respond")
    form_class, do, fields = PORTAL_ACTIONS[action]
    form = form_class(request.POST)
    if not form.is_valid():
        return _portal_detail(
            request, referral, errors=[_("The form is incomplete.")], status=400, bound=(action, form)
        )
    try:
        do(referral, actor=request.user, version=form.cleaned_data["version"], **fields(form.cleaned_data))
    except ValidationError as exc:
        referral.refresh_from_db()
        return _portal_detail(request, referral, errors=_errors(exc), status=_error_status(exc), bound=(action, form))
    flash.success(
        request,
        _("Referral %(ref)s: %(status)s.")
        % {"ref": referral.reference, "status": referral.get_status_display().lower()},
    )
    return redirect(referral.get_portal_url())


@require_POST
def portal_update(request: HttpRequest, pk: int) -> HttpResponse:
    referral = _referral(request, pk, Side.PROVIDER, "respond")
    form = forms.UpdateForm(request.POST)
    if form.is_valid():
        try:
            actions.post_update(referral, actor=request.user, text=form.cleaned_data["text"])
        except ValidationError as exc:
            return _portal_detail(
                request, referral, errors=_errors(exc), status=_error_status(exc), bound=("update", form)
            )
        flash.success(request, _("Update posted."))
        return redirect(referral.get_portal_url())
    return _portal_detail(request, referral, errors=[_("The update is empty.")], status=400, bound=("update", form))


@require_POST
def portal_service(request: HttpRequest, pk: int) -> HttpResponse:
    referral = _referral(request, pk, Side.PROVIDER, "respond")
    form = forms.ServiceForm(request.POST)
    if form.is_valid():
        try:
            actions.record_service(referral, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            referral.refresh_from_db()
            return _portal_detail(
                request, referral, errors=_errors(exc), status=_error_status(exc), bound=("service", form)
            )
        flash.success(request, _("Service recorded."))
        return redirect(referral.get_portal_url())
    return _portal_detail(
        request, referral, errors=[_("Check the service details.")], status=400, bound=("service", form)
    )

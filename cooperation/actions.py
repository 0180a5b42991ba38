"""Every change in the cooperation domain (issue #9): atomic, audited in the same transaction. Both units
keep the whole exchange in their own audit logs: each message sent, delivered, received or refused is a row
naming the peer and the message id, never what the message said. Deliveries run on commit, in the worker."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import log as audit
from cooperation import protocol
from cooperation.choices import AskedItem, Delivery, Direction, MessageKind, Status
from cooperation.envelope import EnvelopeError, Opened, open_envelope, seal
from cooperation.keys import encryption_public_key, instance_keys, signing_public_key
from cooperation.models import CoopMessage, CoopRequest, Peer, SeenMessage
from utilities.locking import check_version

logger = logging.getLogger(__name__)

PEER_FIELDS = ("instance_id", "name", "country", "inbox_url", "signing_key", "encryption_key", "active")
REQUEST_FIELDS = ("peer", "case", "case_reference", "asked", "asked_items", "legal_basis", "urgency", "due_on")


def _require(actor, code: str) -> None:
    if actor is not None and not actor.has_perm(code):
        raise PermissionDenied


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _check_allowed(req: CoopRequest, actor, action: str) -> None:
    """``actor`` may take ``action`` on ``req`` (None: an operator's command, allowed)."""
    if actor is not None and not CoopRequest.objects.visible_to(actor, action).filter(pk=req.pk).exists():
        raise PermissionDenied


# --- the registry of peers ----------------------------------------------------------------------------------


def _clean_peer(peer: Peer) -> None:
    errors = {}
    for name, parse in (("signing_key", signing_public_key), ("encryption_key", encryption_public_key)):
        try:
            parse((getattr(peer, name) or "").strip())
        except ValueError:
            errors[name] = _("Not a valid public key: paste the 44-character base64 value given by the other unit.")
    if peer.instance_id == settings.BEACON_INSTANCE_ID:
        errors["instance_id"] = _("This is this instance's own id.")
    if errors:
        raise ValidationError(errors)
    peer.full_clean()


@transaction.atomic
def add_peer(*, actor, instance_id: str, name: str, country: str, inbox_url: str, signing_key: str,
             encryption_key: str, active: bool = True) -> Peer:  # fmt: skip
    _require(actor, "cooperation.manage_peers")
    peer = Peer(
        instance_id=instance_id.strip(), name=name.strip(), country=country.strip().upper(), inbox_url=inbox_url.strip(),
        signing_key=signing_key.strip(), encryption_key=encryption_key.strip(), active=active,
    )  # fmt: skip
    _clean_peer(peer)
    peer.save()
    audit.record("cooperation.peer_added", actor=_user(actor), obj=peer, changed_fields=PEER_FIELDS,
                 details={"peer": peer.instance_id})  # fmt: skip
    return peer


@transaction.atomic
def update_peer(peer: Peer, *, actor, version: int, **fields) -> Peer:
    """Change a peer's details or keys (a key change is how a unit's key rotation is taken in)."""
    _require(actor, "cooperation.manage_peers")
    check_version(Peer, peer.pk, version)
    peer = Peer.objects.get(pk=peer.pk)
    before = audit.snapshot(peer, PEER_FIELDS)
    for name, value in fields.items():
        if name not in PEER_FIELDS:
            raise TypeError(name)
        setattr(peer, name, value.strip() if isinstance(value, str) else value)
    peer.country = peer.country.upper()
    _clean_peer(peer)
    peer.version += 1
    peer.save()
    audit.record("cooperation.peer_updated", actor=_user(actor), obj=peer,
                 changed_fields=audit.changed(peer, before, PEER_FIELDS), details={"peer": peer.instance_id})  # fmt: skip
    return peer


@transaction.atomic
def set_peer_active(peer: Peer, *, actor, active: bool, version: int) -> Peer:
    _require(actor, "cooperation.manage_peers")
    check_version(Peer, peer.pk, version)
    peer = Peer.objects.get(pk=peer.pk)
    peer.active = active
    peer.version += 1
    peer.save()
    audit.record("cooperation.peer_activated" if active else "cooperation.peer_deactivated", actor=_user(actor),
                 obj=peer, changed_fields=["active"], details={"peer": peer.instance_id})  # fmt: skip
    return peer


# --- sending ------------------------------------------------------------------------------------------------


def _queue_outgoing(req: CoopRequest, kind: str, body: dict, actor) -> CoopMessage:
    from cooperation.tasks import deliver_message

    try:
        instance_keys()
    except ImproperlyConfigured:
        raise ValidationError(
            _("This instance has no cooperation keys yet: ask the system administrator (docs/cooperation.md).")
        ) from None

    message = CoopMessage.objects.create(
        request=req, direction=Direction.OUTGOING, kind=kind, body=json.dumps(body), author=_user(actor)
    )
    transaction.on_commit(lambda: deliver_message.enqueue(message.pk))
    return message


def _message_details(req: CoopRequest, message: CoopMessage, **extra) -> dict:
    return {"peer": req.peer.instance_id, "msg_id": str(message.msg_id), "kind": message.kind,
            "exchange_id": str(req.exchange_id), **extra}  # fmt: skip


def _send(req: CoopRequest, actor) -> CoopRequest:
    if not req.peer.active:
        raise ValidationError(_("This unit is no longer in the active registry: the request cannot be sent."))
    req.status = Status.SENT
    req.sent_at = timezone.now()
    req.version += 1
    req.save()
    message = _queue_outgoing(req, MessageKind.REQUEST, protocol.request_body(req), actor)
    audit.record("cooperation.request_sent", actor=_user(actor), obj=req, details=_message_details(req, message))
    return req


@transaction.atomic
def create_request(*, actor, peer: Peer, case_reference: str, asked: str, legal_basis: str, asked_items=(),
                   urgency: str = "routine", due_on=None, case=None, send: bool = True) -> CoopRequest:  # fmt: skip
    """A request for information or assistance to another unit; sent at once unless ``send`` is False."""
    _require(actor, "cooperation.request")
    if case is not None and actor is not None:
        from cases.models import Case

        if not Case.objects.visible_to(actor).filter(pk=case.pk).exists():
            raise PermissionDenied
    unknown = set(asked_items) - set(AskedItem.values)
    if unknown:
        raise ValidationError({"asked_items": _("Unknown item asked for.")})
    req = CoopRequest(
        direction=Direction.OUTGOING, peer=peer, case=case,
        case_reference=(case_reference or (case.reference if case else "") or "").strip(),
        asked=asked.strip(), asked_items=list(dict.fromkeys(asked_items)), legal_basis=legal_basis.strip(),
        urgency=urgency, due_on=due_on, created_by=_user(actor), status=Status.DRAFT,
    )  # fmt: skip
    req.full_clean()
    if not peer.active:
        raise ValidationError(_("This unit is no longer in the active registry: the request cannot be sent."))
    req.save()
    audit.record("cooperation.request_created", actor=_user(actor), obj=req, changed_fields=REQUEST_FIELDS,
                 details={"peer": peer.instance_id, "exchange_id": str(req.exchange_id)})  # fmt: skip
    return _send(req, actor) if send else req


@transaction.atomic
def send_request(req: CoopRequest, *, actor, version: int) -> CoopRequest:
    _require(actor, "cooperation.request")
    _check_allowed(req, actor, "manage")
    check_version(CoopRequest, req.pk, version)
    req = CoopRequest.objects.select_related("peer").get(pk=req.pk)
    if req.status != Status.DRAFT:
        raise ValidationError(_("Only a draft can be sent."), code="state")
    return _send(req, actor)


def _incoming_for_answer(req: CoopRequest, actor, version: int) -> CoopRequest:
    _require(actor, "cooperation.respond")
    _check_allowed(req, actor, "respond")
    check_version(CoopRequest, req.pk, version)
    return CoopRequest.objects.select_related("peer").get(pk=req.pk)


@transaction.atomic
def start_review(req: CoopRequest, *, actor, version: int) -> CoopRequest:
    """A responder takes the request up; the requesting unit is told (an acknowledgement)."""
    req = _incoming_for_answer(req, actor, version)
    if req.status != Status.RECEIVED:
        raise ValidationError(_("This request is already under review or answered."), code="state")
    req.status = Status.UNDER_REVIEW
    req.reviewer = _user(actor)
    req.reviewed_at = timezone.now()
    req.version += 1
    req.save()
    message = _queue_outgoing(req, MessageKind.ACKNOWLEDGEMENT, protocol.acknowledgement_body(req), actor)
    audit.record("cooperation.review_started", actor=_user(actor), obj=req, changed_fields=["status", "reviewer"],
                 details=_message_details(req, message))  # fmt: skip
    return req


def _answerable(req: CoopRequest) -> None:
    if req.status not in (Status.RECEIVED, Status.UNDER_REVIEW):
        raise ValidationError(_("This request has already been answered or declined."), code="state")


@transaction.atomic
def reply_to_request(req: CoopRequest, *, actor, version: int, disclosed_items=(), text: str) -> CoopRequest:
    """Answer with what the reviewer chose to disclose: the items ticked (of those asked) and the text."""
    req = _incoming_for_answer(req, actor, version)
    _answerable(req)
    disclosed = list(dict.fromkeys(disclosed_items))
    if set(disclosed) - set(req.asked_items or []):
        raise ValidationError({"disclosed_items": _("Only items that were asked for can be disclosed.")})
    if not text.strip():
        raise ValidationError({"text": _("Write the answer.")})
    now = timezone.now()
    req.reviewer = req.reviewer or _user(actor)
    req.reviewed_at = req.reviewed_at or now
    req.status = Status.ANSWERED
    req.answered_at = now
    req.version += 1
    req.save()
    message = _queue_outgoing(
        req, MessageKind.REPLY, protocol.reply_body(req, disclosed_items=disclosed, text=text.strip()), actor
    )
    audit.record("cooperation.replied", actor=_user(actor), obj=req, changed_fields=["status"],
                 details=_message_details(req, message, items_disclosed=len(disclosed)))  # fmt: skip
    return req


@transaction.atomic
def decline_request(req: CoopRequest, *, actor, version: int, reason: str) -> CoopRequest:
    req = _incoming_for_answer(req, actor, version)
    _answerable(req)
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for declining.")})
    now = timezone.now()
    req.reviewer = req.reviewer or _user(actor)
    req.reviewed_at = req.reviewed_at or now
    req.status = Status.DECLINED
    req.answered_at = now
    req.version += 1
    req.save()
    message = _queue_outgoing(req, MessageKind.DECLINE, protocol.decline_body(req, reason=reason.strip()), actor)
    audit.record("cooperation.declined", actor=_user(actor), obj=req, changed_fields=["status"],
                 details=_message_details(req, message))  # fmt: skip
    return req


@transaction.atomic
def close_request(req: CoopRequest, *, actor, version: int) -> CoopRequest:
    """Close an answered or declined request, or drop a draft (this unit only: nothing is sent)."""
    action = "manage" if req.direction == Direction.OUTGOING else "respond"
    _require(actor, "cooperation.request" if action == "manage" else "cooperation.respond")
    _check_allowed(req, actor, action)
    check_version(CoopRequest, req.pk, version)
    req = CoopRequest.objects.select_related("peer").get(pk=req.pk)
    if req.status not in (Status.DRAFT, Status.ANSWERED, Status.DECLINED):
        raise ValidationError(_("Only drafts and answered or declined requests can be closed."), code="state")
    req.status = Status.CLOSED
    req.closed_at = timezone.now()
    req.version += 1
    req.save()
    audit.record("cooperation.closed", actor=_user(actor), obj=req, changed_fields=["status"],
                 details={"peer": req.peer.instance_id, "exchange_id": str(req.exchange_id)})  # fmt: skip
    return req


@transaction.atomic
def retry_delivery(message: CoopMessage, *, actor) -> CoopMessage:
    """Queue a failed outgoing message again (after the peer's address or keys were corrected)."""
    req = message.request
    action = "manage" if req.direction == Direction.OUTGOING else "respond"
    _check_allowed(req, actor, action)
    message = CoopMessage.objects.select_for_update().get(pk=message.pk)
    if message.direction != Direction.OUTGOING or message.delivery != Delivery.FAILED:
        raise ValidationError(_("Only a message whose delivery failed can be sent again."), code="state")
    message.delivery = Delivery.PENDING
    message.attempts = 0
    message.last_error = ""
    message.save(update_fields=["delivery", "attempts", "last_error"])
    from cooperation.tasks import deliver_message

    transaction.on_commit(lambda: deliver_message.enqueue(message.pk))
    audit.record("cooperation.delivery_retried", actor=_user(actor), obj=req, details=_message_details(req, message))
    return message


def attempt_delivery(message_id: int) -> str:
    """One delivery attempt (the worker's): "delivered", "failed" (the peer refused it), "retry" or "skipped".

    Not one transaction: the database is not held while the peer answers. Two workers sending the same
    message at once is harmless: the peer accepts its id once and answers the other 409."""
    from cooperation.transport import post_envelope

    message = (
        CoopMessage.objects.select_related("request__peer").filter(pk=message_id, direction=Direction.OUTGOING).first()
    )
    if message is None or message.delivery != Delivery.PENDING:
        return "skipped"
    req, peer = message.request, message.request.peer
    if not peer.active:
        give_up_delivery(message_id, error="peer_inactive")
        return "failed"
    envelope = seal(json.loads(message.body), peer=peer, msg_id=str(message.msg_id))
    status = post_envelope(peer.inbox_url, envelope)
    with transaction.atomic():
        message = CoopMessage.objects.select_for_update().get(pk=message_id)
        if message.delivery != Delivery.PENDING:
            return "skipped"
        message.attempts += 1
        if status in (200, 202, 409):
            # 409: the peer already holds this message id (an earlier attempt whose answer was lost).
            message.delivery = Delivery.DELIVERED
            message.sent_at = timezone.now()
            message.last_error = ""
            message.save(update_fields=["attempts", "delivery", "sent_at", "last_error"])
            audit.record("cooperation.message_delivered", obj=req,
                         details=_message_details(req, message, already_held=status == 409))  # fmt: skip
            return "delivered"
        message.last_error = f"http_{status}" if status else "unreachable"
        message.save(update_fields=["attempts", "last_error"])
    if status in (400, 401, 403, 404, 405, 413):
        give_up_delivery(message_id)
        return "failed"
    logger.warning(
        "cooperation message %s not delivered (%s), attempt %s", message_id, message.last_error, message.attempts
    )
    return "retry"


@transaction.atomic
def give_up_delivery(message_id: int, *, error: str = "") -> None:
    message = CoopMessage.objects.select_for_update().select_related("request__peer").get(pk=message_id)
    if message.delivery != Delivery.PENDING:
        return
    message.delivery = Delivery.FAILED
    message.last_error = error or message.last_error
    message.save(update_fields=["delivery", "last_error"])
    req = message.request
    audit.record(
        "cooperation.delivery_failed", obj=req, details=_message_details(req, message, error=message.last_error)
    )


# --- receiving ----------------------------------------------------------------------------------------------


def receive_envelope(raw: bytes | str | dict) -> CoopMessage:
    """The inbox: verify, refuse replays, decrypt, store and apply a message from a peer. Raises EnvelopeError
    (after auditing the refusal) for anything not accepted; nothing of a refused message is stored."""
    try:
        opened = open_envelope(raw)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    SeenMessage.objects.create(msg_id=opened.msg_id, sender=opened.peer.instance_id)
            except IntegrityError:
                raise EnvelopeError("replayed", 409, sender=opened.peer.instance_id, msg_id=opened.msg_id) from None
            inner = protocol.validate(opened.inner, sender=opened.peer.instance_id, msg_id=opened.msg_id)
            return _apply(opened, inner)
    except EnvelopeError as exc:
        _record_refusal(exc)
        raise


def _apply(opened: Opened, inner: dict) -> CoopMessage:
    peer, now = opened.peer, timezone.now()
    kind = inner["kind"]
    refuse = {"sender": peer.instance_id, "msg_id": opened.msg_id}
    if kind == MessageKind.REQUEST:
        if CoopRequest.objects.filter(
            peer=peer, direction=Direction.INCOMING, exchange_id=inner["exchange_id"]
        ).exists():
            raise EnvelopeError("duplicate_exchange", **refuse)
        req = CoopRequest.objects.create(
            direction=Direction.INCOMING, peer=peer, exchange_id=inner["exchange_id"],
            case_reference=inner["case_reference"], asked=inner["asked"], asked_items=inner["asked_items"],
            legal_basis=inner["legal_basis"], urgency=inner["urgency"], due_on=inner["due_on"],
            status=Status.RECEIVED, sent_at=opened.sent_at, received_at=now,
        )  # fmt: skip
    else:
        # Answers only ever concern a request we sent to this very peer.
        req = (
            CoopRequest.objects.select_for_update()
            .filter(peer=peer, direction=Direction.OUTGOING, exchange_id=inner["exchange_id"])
            .first()
        )
        if req is None or req.status == Status.DRAFT:
            raise EnvelopeError("unknown_exchange", **refuse)
        if kind == MessageKind.ACKNOWLEDGEMENT and req.status == Status.SENT:
            req.status, req.reviewed_at = Status.UNDER_REVIEW, now
        elif kind in (MessageKind.REPLY, MessageKind.DECLINE) and req.status in (Status.SENT, Status.UNDER_REVIEW):
            req.status = Status.ANSWERED if kind == MessageKind.REPLY else Status.DECLINED
            req.answered_at = now
        req.version += 1
        req.save()
    message = CoopMessage.objects.create(
        request=req, direction=Direction.INCOMING, kind=kind, msg_id=opened.msg_id, body=json.dumps(opened.inner),
        sent_at=opened.sent_at, received_at=now, delivery=Delivery.DELIVERED,
    )  # fmt: skip
    # The alerts are part of the arrival: written in its transaction and named in its audit row (who was
    # alerted, by user id), so a rolled-back message alerts nobody and the log shows who was told.
    alerted = _alert_arrival(req, message)
    audit.record("cooperation.message_received", obj=req, details=_message_details(req, message, **alerted))
    return message


# What arrived -> the alert event and its text (issue #9). Acknowledgements only change the status.
_ARRIVAL_ALERTS = {
    MessageKind.REQUEST: ("cooperation.request_received", "request"),
    MessageKind.REPLY: ("cooperation.answer_received", "reply"),
    MessageKind.DECLINE: ("cooperation.answer_received", "decline"),
}


def _alert_arrival(req: CoopRequest, message: CoopMessage) -> dict:
    """Tell the unit that another country's unit asked something or answered (issue #9), through the alert
    rules: by default the Director and the Head of Investigations, and for an answer also the officer who
    asked. The notification names our reference and the other unit, never what was asked or answered nor
    their case reference; the email the rules send carries only a link to the notification area. Returns the
    audit details: the event and the ids of the users alerted."""
    from alerts.rules import dispatch

    if message.kind not in _ARRIVAL_ALERTS:
        return {}
    event, what = _ARRIVAL_ALERTS[message.kind]
    values = {"ref": req.reference, "unit": req.peer.name}
    if what == "request":
        text, assignee = _("Cooperation request %(ref)s received from %(unit)s.") % values, None
    elif what == "reply":
        text, assignee = _("%(unit)s answered cooperation request %(ref)s.") % values, req.created_by
    else:
        text, assignee = _("%(unit)s declined cooperation request %(ref)s.") % values, req.created_by
    created = dispatch(event, message=text, link=req.get_absolute_url(), assignee=assignee)
    return {"alert": event, "alerted": sorted(item.recipient_id for item in created)}


def _record_refusal(exc: EnvelopeError) -> None:
    # The sender's id is written only when it is a registered peer: the inbox is open to anyone, and what an
    # anonymous poster claims to be does not belong in the log. Message ids are UUIDs (checked) or nothing.
    sender = exc.sender if exc.sender and Peer.objects.filter(instance_id=exc.sender).exists() else ""
    audit.record("cooperation.message_refused", object_type="cooperation.peer",
                 details={"peer": sender, "msg_id": exc.msg_id, "reason": exc.reason, "status": exc.status})  # fmt: skip

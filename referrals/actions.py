"""Every change to a referral goes through these actions (issue #5): atomic, audited in the same transaction
(ids and field names, never values), optimistic locking on every transition, notifications created in the
transaction and emailed once it commits (the email carries a link only).

The lifecycle is a state machine (``TRANSITIONS``): each action names the statuses it may start from, the one
it leads to and the side (unit or provider) that takes it. Anything else is refused and nothing changes."""

from __future__ import annotations

import hashlib
import json
import uuid
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from alerts.actions import notify
from alerts.rules import users_with_roles
from approvals.actions import consume as consume_approval
from approvals.choices import Kind as ApprovalKind
from audit import log as audit
from care.choices import NeedType, ServiceType
from care.consent import has_consent
from cases.choices import PersonRole
from cases.models import CasePerson
from integrations.events import emit
from referrals.choices import (
    ACK_TARGET,
    ANSWER_TARGET,
    ATTACHMENT_MAX_BYTES,
    ATTACHMENT_STORE,
    AWAITING_ACK,
    AWAITING_ANSWER,
    ESCALATION_FACTOR,
    LEADERSHIP_ROLES,
    EventKind,
    ReferralStatus,
    SharedField,
    Side,
    Urgency,
)
from referrals.models import Referral, ReferralEvent, ReferralMessage, ReferralService, ThreadRead, side_of
from referrals.snapshot import build_snapshot
from utilities.locking import check_version
from utilities.storage import store_encrypted

S = ReferralStatus

# action -> (statuses it may start from, status it leads to, side that takes it, timestamp it sets)
TRANSITIONS: dict[str, tuple[set, str, str, str]] = {
    "send": ({S.DRAFT}, S.SENT, Side.UNIT, "sent_at"),
    "acknowledge": ({S.SENT}, S.ACKNOWLEDGED, Side.PROVIDER, "acknowledged_at"),
    "accept": ({S.SENT, S.ACKNOWLEDGED}, S.ACCEPTED, Side.PROVIDER, "accepted_at"),
    "decline": ({S.SENT, S.ACKNOWLEDGED}, S.DECLINED, Side.PROVIDER, "declined_at"),
    "start": ({S.ACCEPTED}, S.IN_PROGRESS, Side.PROVIDER, "started_at"),
    "complete": ({S.ACCEPTED, S.IN_PROGRESS}, S.COMPLETED, Side.PROVIDER, "completed_at"),
    "withdraw": ({S.DRAFT, S.SENT, S.ACKNOWLEDGED, S.ACCEPTED, S.IN_PROGRESS}, S.WITHDRAWN, Side.UNIT, "withdrawn_at"),
}
EVENT_OF = {
    "send": EventKind.SENT, "acknowledge": EventKind.ACKNOWLEDGED, "accept": EventKind.ACCEPTED,
    "decline": EventKind.DECLINED, "start": EventKind.STARTED, "complete": EventKind.COMPLETED,
    "withdraw": EventKind.WITHDRAWN,
}  # fmt: skip


PAST = {
    "send": _lazy("sent"), "acknowledge": _lazy("acknowledged"), "accept": _lazy("accepted"), "decline": _lazy("declined"),
    "start": _lazy("started"), "complete": _lazy("completed"), "withdraw": _lazy("withdrawn"),
}  # fmt: skip


def allowed(referral: Referral, action: str) -> bool:
    return referral.status in TRANSITIONS[action][0]


# --- who may, who is told ---------------------------------------------------------------------------------


def _require(referral: Referral, actor, side: str) -> None:
    action = "change" if side == Side.UNIT else "respond"
    if side_of(actor) != side or not Referral.objects.visible_to(actor, action).filter(pk=referral.pk).exists():
        raise PermissionDenied


def provider_staff(agency) -> list:
    from accounts.models import User

    users = User.objects.filter(agency=agency, is_active=True).order_by("pk")
    return [u for u in users if u.has_perm("referrals.respond")]


def _unit_contacts(referral: Referral) -> list:
    return [u for u in (referral.sent_by or referral.created_by,) if u is not None]


def _tell(users, *, event: str, message: str, link: str, urgent: bool = False, exclude=None) -> list:
    """Notifications in the recipients' notification area now; emails (a link only) once the change commits."""
    from alerts.tasks import send_notification_email

    users = [u for u in users if exclude is None or u.pk != exclude.pk]
    items = notify(users, event=event, message=message[:300], link=link, urgent=urgent)
    for item in items:
        if item.recipient.email:
            transaction.on_commit(partial(send_notification_email.enqueue, item.pk), robust=True)
    return items


def _tell_provider(referral: Referral, message: str, *, actor=None) -> None:
    _tell(
        provider_staff(referral.provider_id),
        event="referral.provider",
        message=message,
        link=referral.get_portal_url(),
        exclude=actor,
    )


def _tell_unit(referral: Referral, message: str, *, actor=None) -> None:
    _tell(
        _unit_contacts(referral),
        event="referral.unit",
        message=message,
        link=referral.get_absolute_url(),
        exclude=actor,
    )


def _transition(
    referral: Referral, action: str, *, actor, version: int, note: str = "", note_shared: bool = True, **fields
) -> Referral:
    starts, target, side, stamp = TRANSITIONS[action]
    _require(referral, actor, side)
    check_version(Referral, referral.pk, version)
    referral.refresh_from_db()
    if referral.status not in starts:
        raise ValidationError(
            _("This referral is %(status)s: it cannot be %(action)s now.")
            % {"status": referral.get_status_display().lower(), "action": PAST[action]},
            code="invalid_transition",
        )
    now = timezone.now()
    before = referral.status
    referral.status = target
    setattr(referral, stamp, now)
    if action == "accept" and referral.acknowledged_at is None:
        referral.acknowledged_at = now  # accepting answers the referral, so it was acknowledged too
    if action == "decline" and referral.acknowledged_at is None:
        referral.acknowledged_at = now
    for name, value in fields.items():
        setattr(referral, name, value)
    referral.version += 1
    referral.save()
    ReferralEvent.objects.create(
        referral=referral, kind=EVENT_OF[action], side=side, actor=actor, note=note, note_shared=note_shared, at=now
    )
    audit.record(
        f"referrals.{action}", actor=actor, obj=referral, changed_fields=["status", stamp, *fields.keys()],
        details={"from": before, "to": target},
    )  # fmt: skip
    emit("referral.updated", referral, change=target)
    return referral


# --- the unit's side --------------------------------------------------------------------------------------


def _clean_choices(needs, shared_fields, urgency) -> None:
    errors = {}
    if not needs or set(needs) - set(NeedType.values):
        errors["needs"] = _("Choose at least one need from the list.")
    if set(shared_fields) - set(SharedField.values):
        errors["shared_fields"] = _("Choose what to share from the list.")
    if urgency not in Urgency.values:
        errors["urgency"] = _("Choose the urgency.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def create_referral(
    case_person: CasePerson, *, actor, provider, needs, urgency: str, shared_fields, shared_name: str = "",
    safety_notes: str = "", safe_contact: str = "", care_needs=(),
) -> Referral:  # fmt: skip
    """A draft referral: nothing is shared until it is sent."""
    if (
        side_of(actor) != Side.UNIT
        or not actor.has_perm("referrals.send")
        or case_person.role != PersonRole.VICTIM
        or not CasePerson.objects.visible_to(actor, "change").filter(pk=case_person.pk).exists()
    ):
        raise PermissionDenied
    _clean_choices(needs, shared_fields, urgency)
    if not provider.authorised_for_referrals or not provider.is_active:
        raise ValidationError({"provider": _("This agency is not authorised to receive referrals.")})
    care_needs = list(care_needs)
    if any(n.case_person_id != case_person.pk for n in care_needs):
        raise PermissionDenied
    referral = Referral.objects.create(
        case_person=case_person, provider=provider, needs=sorted(set(needs), key=NeedType.values.index), urgency=urgency,
        shared_fields=[f for f in SharedField.values if f in set(shared_fields)], shared_name=shared_name.strip()[:120],
        safety_notes=safety_notes.strip(), safe_contact=safe_contact.strip()[:80], created_by=actor,
    )  # fmt: skip
    referral.reference = f"F-{referral.created_at:%Y}-{referral.pk:05d}"
    referral.save(update_fields=["reference"])
    if care_needs:
        referral.care_needs.set(care_needs)
    ReferralEvent.objects.create(referral=referral, kind=EventKind.CREATED, side=Side.UNIT, actor=actor)
    emit("referral.created", referral)
    audit.record(
        "referrals.created", actor=actor, obj=referral,
        changed_fields=["provider", "needs", "urgency", "shared_fields"] + [n for n, v in (("safety_notes", safety_notes), ("safe_contact", safe_contact)) if v],
        details={"case_id": case_person.case_id, "case_person_id": case_person.pk, "provider_id": provider.pk, "shared_fields": referral.shared_fields},
    )  # fmt: skip
    return referral


def consent_recorded(referral: Referral) -> bool:
    return has_consent(referral.case_person_id, "sharing", agency=referral.provider_id)


@transaction.atomic
def send_referral(referral: Referral, *, actor, version: int, override_reason: str = "") -> Referral:
    """Send a draft. Refused without the survivor's consent to share with this provider, unless a user holding
    ``referrals.override_consent`` gives a reason and holds another approver's approval for this referral
    (``request_consent_override``, issue #10): then it is audited and the Director is alerted, urgently."""
    _require(referral, actor, Side.UNIT)
    override_reason = (override_reason or "").strip()
    referral.refresh_from_db()
    if not referral.provider.authorised_for_referrals or not referral.provider.is_active:
        raise ValidationError(_("This agency is no longer authorised to receive referrals."), code="not_authorised")
    overridden = False
    if not consent_recorded(referral):
        if not override_reason:
            raise ValidationError(
                _("No consent to share information with %(provider)s is recorded for this survivor. Record the consent "
                  "on the care page first.") % {"provider": referral.provider.name},
                code="no_consent",
            )  # fmt: skip
        if not actor.has_perm("referrals.override_consent"):
            raise PermissionDenied
        # Four eyes (issue #10): the override also needs another approver's yes, spent with the sending.
        consume_approval(ApprovalKind.CONSENT_OVERRIDE, actor=actor, target=referral)
        overridden = True
    fields = {"sent_by": actor, "snapshot_data": json.dumps(build_snapshot(referral))}
    if overridden:
        fields |= {"consent_overridden": True, "override_reason": override_reason}
    referral = _transition(referral, "send", actor=actor, version=version, **fields)
    if overridden:
        ReferralEvent.objects.create(
            referral=referral,
            kind=EventKind.CONSENT_OVERRIDDEN,
            side=Side.UNIT,
            actor=actor,
            note=override_reason,
            note_shared=False,
        )
        audit.record(
            "referrals.consent_overridden",
            actor=actor,
            obj=referral,
            changed_fields=["override_reason"],
            details={"case_id": referral.case_person.case_id, "provider_id": referral.provider_id},
        )
        _tell(
            users_with_roles(["director"]), event="referral.consent_overridden", urgent=True, link=referral.get_absolute_url(),
            message=_("Referral %(ref)s was sent without recorded consent (override by %(user)s).") % {"ref": referral.reference, "user": actor.get_username()},
        )  # fmt: skip
    _tell_provider(referral, _("New referral %(ref)s.") % {"ref": referral.reference})
    return referral


@transaction.atomic
def request_consent_override(referral: Referral, *, actor, reason: str):
    """Ask another approver to allow sending this draft without recorded consent (issue #10). The draft stays a
    draft; once approved, the requester sends it (with a reason) and the approval is spent."""
    from approvals.actions import request_approval

    _require(referral, actor, Side.UNIT)
    if not actor.has_perm("referrals.override_consent"):
        raise PermissionDenied
    referral.refresh_from_db()
    if referral.status != S.DRAFT or consent_recorded(referral):
        raise ValidationError(_("This referral needs no override."), code="invalid_transition")
    return request_approval(ApprovalKind.CONSENT_OVERRIDE, actor=actor, reason=reason, target=referral)


@transaction.atomic
def withdraw_referral(referral: Referral, *, actor, version: int, reason: str) -> Referral:
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Give the reason for the withdrawal.")})
    was_sent = referral.status != S.DRAFT
    referral = _transition(
        referral,
        "withdraw",
        actor=actor,
        version=version,
        note=reason.strip(),
        note_shared=False,
        withdrawal_reason=reason.strip(),
    )
    if was_sent:
        _tell_provider(referral, _("Referral %(ref)s was withdrawn.") % {"ref": referral.reference})
    return referral


# --- the provider's side ----------------------------------------------------------------------------------


def _status_changed(referral: Referral, actor) -> None:
    _tell_unit(
        referral, _("Referral %(ref)s: %(status)s by %(provider)s.") % {
            "ref": referral.reference, "status": referral.get_status_display().lower(), "provider": referral.provider,
        }, actor=actor,
    )  # fmt: skip


@transaction.atomic
def acknowledge_referral(referral: Referral, *, actor, version: int) -> Referral:
    referral = _transition(referral, "acknowledge", actor=actor, version=version)
    _status_changed(referral, actor)
    return referral


@transaction.atomic
def accept_referral(referral: Referral, *, actor, version: int, note: str = "") -> Referral:
    referral = _transition(referral, "accept", actor=actor, version=version, note=(note or "").strip())
    _status_changed(referral, actor)
    return referral


@transaction.atomic
def decline_referral(referral: Referral, *, actor, version: int, reason: str) -> Referral:
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Give the reason for declining.")})
    referral = _transition(
        referral, "decline", actor=actor, version=version, note=reason.strip(), decline_reason=reason.strip()
    )
    _status_changed(referral, actor)
    return referral


@transaction.atomic
def start_referral(referral: Referral, *, actor, version: int) -> Referral:
    referral = _transition(referral, "start", actor=actor, version=version)
    _status_changed(referral, actor)
    return referral


@transaction.atomic
def complete_referral(referral: Referral, *, actor, version: int, outcome: str) -> Referral:
    if not (outcome or "").strip():
        raise ValidationError({"outcome": _("Describe the outcome.")})
    referral = _transition(
        referral, "complete", actor=actor, version=version, note=outcome.strip(), outcome=outcome.strip()
    )
    _status_changed(referral, actor)
    return referral


@transaction.atomic
def post_update(referral: Referral, *, actor, text: str) -> ReferralEvent:
    """A progress note from the provider on the referral's timeline."""
    _require(referral, actor, Side.PROVIDER)
    referral.refresh_from_db()
    if referral.status not in {S.ACKNOWLEDGED, S.ACCEPTED, S.IN_PROGRESS}:
        raise ValidationError(
            _("Updates can be posted once the referral is acknowledged and until it is closed."),
            code="invalid_transition",
        )
    if not (text or "").strip():
        raise ValidationError({"text": _("The update is empty.")})
    event = ReferralEvent.objects.create(
        referral=referral, kind=EventKind.UPDATE, side=Side.PROVIDER, actor=actor, note=text.strip(), note_shared=True
    )
    audit.record("referrals.update_posted", actor=actor, obj=referral, details={"event_id": event.pk})
    _tell_unit(
        referral,
        _("Referral %(ref)s: an update from %(provider)s.")
        % {"ref": referral.reference, "provider": referral.provider},
        actor=actor,
    )
    return event


@transaction.atomic
def record_service(
    referral: Referral, *, actor, service_type: str, delivered_on, ended_on=None, details: str = "", outcome: str = ""
) -> ReferralService:
    """A service the provider delivered. The first one moves an accepted referral to "in progress"."""
    _require(referral, actor, Side.PROVIDER)
    referral.refresh_from_db()
    if referral.status not in {S.ACCEPTED, S.IN_PROGRESS}:
        raise ValidationError(
            _("Services can be recorded once the referral is accepted and until it is closed."),
            code="invalid_transition",
        )
    errors = {}
    if service_type not in ServiceType.values:
        errors["service_type"] = _("Choose a service from the list.")
    if delivered_on and delivered_on > timezone.localdate():
        errors["delivered_on"] = _("The date cannot be in the future.")
    if ended_on and delivered_on and ended_on < delivered_on:
        errors["ended_on"] = _("The end is before the start.")
    if errors:
        raise ValidationError(errors)
    service = ReferralService.objects.create(
        referral=referral, service_type=service_type, delivered_on=delivered_on, ended_on=ended_on,
        details=(details or "").strip(), outcome=(outcome or "").strip(), recorded_by=actor,
    )  # fmt: skip
    ReferralEvent.objects.create(
        referral=referral,
        kind=EventKind.SERVICE,
        side=Side.PROVIDER,
        actor=actor,
        note=ServiceType(service_type).label,
        note_shared=True,
    )
    audit.record(
        "referrals.service_recorded",
        actor=actor,
        obj=referral,
        changed_fields=[n for n, v in (("details", details), ("outcome", outcome)) if v],
        details={"service_id": service.pk, "service_type": service_type},
    )
    if referral.status == S.ACCEPTED:
        _transition(referral, "start", actor=actor, version=referral.version)
    _tell_unit(
        referral,
        _("Referral %(ref)s: %(provider)s reported a service.")
        % {"ref": referral.reference, "provider": referral.provider},
        actor=actor,
    )
    return service


# --- the thread -------------------------------------------------------------------------------------------


def can_write(referral: Referral, actor) -> bool:
    side = side_of(actor)
    action = "change" if side == Side.UNIT else "respond"
    return (
        side is not None
        and referral.status != S.DRAFT
        and Referral.objects.visible_to(actor, action).filter(pk=referral.pk).exists()
    )


@transaction.atomic
def post_message(referral: Referral, *, actor, text: str = "", upload=None) -> ReferralMessage:
    """A message in the referral's thread, from either side, with an optional image or PDF attachment."""
    from intake.filetypes import sniff

    if not can_write(referral, actor):
        raise PermissionDenied
    text = (text or "").strip()
    if not text and upload is None:
        raise ValidationError({"text": _("The message is empty.")})
    side = side_of(actor)
    message = ReferralMessage(referral=referral, side=side, sender=actor, text=text)
    data = b""
    if upload is not None:
        data = upload.read(ATTACHMENT_MAX_BYTES + 1)
        if len(data) > ATTACHMENT_MAX_BYTES:
            raise ValidationError(
                {
                    "attachment": _("The file is too large (at most %(mb)s MB).")
                    % {"mb": ATTACHMENT_MAX_BYTES // (1024 * 1024)}
                }
            )
        content_type = sniff(data[:64])
        if content_type is None:
            raise ValidationError(
                {"attachment": _("Only photos (JPEG, PNG, WebP, GIF) and PDF documents can be attached.")}
            )
        message.stored_name = uuid.uuid4().hex
        message.original_name = (getattr(upload, "name", "") or "file")[:200]
        message.content_type = content_type
        message.size = len(data)
        message.sha256 = hashlib.sha256(data).hexdigest()
        store_encrypted(ATTACHMENT_STORE, message.stored_name, data)
    message.save()
    # The sender has read their own message.
    ThreadRead.objects.update_or_create(referral=referral, user=actor, defaults={"last_message_id": message.pk})
    audit.record(
        "referrals.message_posted", actor=actor, obj=referral, changed_fields=["text"] + (["attachment"] if data else []),
        details={"message_id": message.pk, "side": side, **({"sha256": message.sha256, "content_type": message.content_type} if data else {})},
    )  # fmt: skip
    note = _("Referral %(ref)s: a new message.") % {"ref": referral.reference}
    if side == Side.UNIT:
        _tell_provider(referral, note, actor=actor)
    else:
        _tell_unit(referral, note, actor=actor)
    return message


@transaction.atomic
def mark_thread_read(referral: Referral, *, actor, messages) -> list[int]:
    """Audit the first delivery of each message to ``actor``; returns the ids newly read."""
    marker, _created = ThreadRead.objects.select_for_update().get_or_create(referral=referral, user=actor)
    new = [m.pk for m in messages if m.pk > marker.last_message_id]
    if new:
        marker.last_message_id = max(new)
        marker.save(update_fields=["last_message_id"])
        audit.record("referrals.messages_read", actor=actor, obj=referral, details={"message_ids": new})
    return new


def audit_attachment_download(message: ReferralMessage, *, actor) -> None:
    audit.record(
        "referrals.attachment_downloaded",
        actor=actor,
        obj=message.referral,
        details={"message_id": message.pk, "sha256": message.sha256},
    )


# --- overdue referrals (periodic) -------------------------------------------------------------------------


def flag_overdue_referrals(now=None) -> int:
    """Alert, once per step, about sent referrals not acknowledged or not answered in time (issue #5): past
    the target the sending officer, past ``ESCALATION_FACTOR`` times the target the unit's leadership (Head of
    Investigations and Director). Idempotent: each step is claimed on the row before anyone is alerted.
    Returns the number of alerts raised (one per referral and step)."""
    now = now or timezone.now()
    count = 0
    checks = (
        (
            "ack_escalation",
            AWAITING_ACK,
            ACK_TARGET,
            _("Referral %(ref)s has not been acknowledged by %(provider)s in time."),
        ),
        (
            "answer_escalation",
            AWAITING_ANSWER,
            ANSWER_TARGET,
            _("Referral %(ref)s has not been accepted or declined by %(provider)s in time."),
        ),
    )
    for field, statuses, targets, text in checks:
        for step in (1, 2):
            for urgency in Urgency:
                due = now - targets[urgency] * (ESCALATION_FACTOR if step == 2 else 1)
                candidates = Referral.objects.filter(
                    status__in=statuses, urgency=urgency, sent_at__lte=due, **{f"{field}__lt": step}
                )
                for referral in candidates.select_related("provider", "sent_by", "created_by"):
                    with transaction.atomic():
                        claimed = Referral.objects.filter(
                            pk=referral.pk, status__in=statuses, **{f"{field}__lt": step}
                        ).update(**{field: step})
                        if not claimed:
                            continue
                        message = text % {"ref": referral.reference, "provider": referral.provider}
                        if step == 1:
                            _tell(
                                _unit_contacts(referral),
                                event=f"referral.{field}",
                                message=message,
                                link=referral.get_absolute_url(),
                            )
                        else:
                            _tell(
                                users_with_roles(LEADERSHIP_ROLES),
                                event=f"referral.{field}",
                                message=message,
                                link=referral.get_absolute_url(),
                                urgent=True,
                            )
                        audit.record("referrals.overdue_flagged", obj=referral, details={"check": field, "step": step})
                        count += 1
    return count

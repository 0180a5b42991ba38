"""Every change to an approval request goes through these actions (issue #10): atomic, audited in the same
transaction (ids, kinds and statuses, never the reason or the note), with optimistic locking on decisions.
Approvers are alerted in the notification area (and by email once the request commits): a link only.

The rule the whole app exists for: the requester can never approve (or reject) their own request, whatever
permissions they hold."""

from __future__ import annotations

from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals.choices import LIFETIME, REQUESTER_PERMISSION, Kind, Status
from approvals.models import ApprovalRequest
from audit import log as audit
from utilities.locking import check_version

APPROVE = "approvals.approve"


class ApprovalRequired(ValidationError):
    """Raised by a gated action when its actor holds no approved, unused, unexpired request for it."""

    def __init__(self, message=None):
        super().__init__(
            message
            or _(
                "This needs a second person's approval first. Request it with a reason; once a Director, Deputy "
                "Director or Head of Investigations approves it, you can go ahead once."
            ),
            code="approval_required",
        )


def approvers(*, exclude=None) -> list:
    """Active members of the home unit who may approve, less ``exclude`` (the requester)."""
    from accounts.models import User

    users = User.objects.filter(is_active=True, agency__is_home_unit=True).order_by("pk")
    return [u for u in users if u.has_perm(APPROVE) and (exclude is None or u.pk != exclude.pk)]


def _tell(users, *, message: str, link: str, urgent: bool = False) -> None:
    """A notification now; an email carrying the link only once the change commits."""
    from alerts.actions import notify
    from alerts.tasks import send_notification_email

    for item in notify(
        users,
        event="approval.requested" if urgent else "approval.decided",
        message=message[:300],
        link=link,
        urgent=urgent,
    ):
        if item.recipient.email:
            transaction.on_commit(partial(send_notification_email.enqueue, item.pk), robust=True)


def target_of(obj: Model | None) -> tuple[str, str]:
    return audit.object_label(obj) if obj is not None else ("", "")


def _matching(kind: str, *, target_type: str, target_id, parameters: dict | None):
    qs = ApprovalRequest.objects.filter(kind=kind, target_type=target_type, target_id=str(target_id))
    for key, value in (parameters or {}).items():
        qs = qs.filter(**{f"parameters__{key}": value})
    return qs


def expire_stale(now=None) -> int:
    """Mark pending and approved requests past their expiry as expired (one audit row each). Idempotent."""
    now = now or timezone.now()
    count = 0
    with transaction.atomic():
        for item in ApprovalRequest.objects.select_for_update().filter(
            status__in=[Status.PENDING, Status.APPROVED], expires_at__lte=now
        ):
            before = item.status
            item.status = Status.EXPIRED
            item.version += 1
            item.save(update_fields=["status", "version"])
            audit.record(
                "approvals.expired", obj=item, changed_fields=["status"], details={"kind": item.kind, "from": before}
            )
            count += 1
    return count


@transaction.atomic
def request_approval(
    kind: str, *, actor, reason: str, target: Model | None = None, target_type: str = "", target_id="",
    parameters: dict | None = None,
) -> ApprovalRequest:  # fmt: skip
    """Ask for a second pair of eyes. ``parameters`` carries ids only. An open request by the same person for
    the same thing is returned as it is rather than duplicated."""
    if kind not in Kind.values:
        raise ValueError(kind)
    needed = REQUESTER_PERMISSION.get(kind)
    if actor is None or not actor.is_authenticated or (needed and not actor.has_perm(needed)):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the request.")})
    if target is not None:
        target_type, target_id = target_of(target)
    existing = (
        _matching(kind, target_type=target_type, target_id=target_id, parameters=parameters)
        .live()
        .filter(requested_by=actor)
        .first()
    )
    if existing is not None:
        return existing
    item = ApprovalRequest.objects.create(
        kind=kind, requested_by=actor, reason=reason, target_type=target_type, target_id=str(target_id),
        parameters=parameters or {}, expires_at=timezone.now() + LIFETIME,
    )  # fmt: skip
    audit.record(
        "approvals.requested", actor=actor, obj=item, changed_fields=["reason"],
        details={"kind": kind, "target_type": target_type, "target_id": str(target_id), **(parameters or {})},
    )  # fmt: skip
    _tell(
        approvers(exclude=actor), urgent=True, link=item.get_absolute_url(),
        message=_("%(user)s asks for your approval (%(ref)s): %(kind)s.") % {
            "user": actor.get_username(), "ref": item.reference, "kind": Kind(kind).label,
        },
    )  # fmt: skip
    return item


def _decide(item: ApprovalRequest, *, actor, version: int, note: str, status: str) -> ApprovalRequest:
    if (
        not actor.has_perm(APPROVE)
        or not ApprovalRequest.objects.visible_to(actor, "decide").filter(pk=item.pk).exists()
    ):
        raise PermissionDenied
    if item.requested_by_id == actor.pk:
        # Four eyes: whatever the requester's permissions, someone else must decide (issue #10).
        raise PermissionDenied(_("You cannot decide on your own request: another approver must."))
    check_version(ApprovalRequest, item.pk, version)
    item.refresh_from_db()
    if item.status != Status.PENDING or item.is_expired:
        raise ValidationError(
            _("This request is %(status)s: it can no longer be decided.")
            % {"status": item.get_shown_status_display().lower()},
            code="invalid_transition",
        )
    now = timezone.now()
    item.status = status
    item.decided_by = actor
    item.decided_at = now
    item.decision_note = (note or "").strip()
    if status == Status.APPROVED:
        item.expires_at = now + LIFETIME  # the approval is usable for a while, not forever
    item.version += 1
    item.save()
    audit.record(
        f"approvals.{status}", actor=actor, obj=item,
        changed_fields=["status", "decided_by", "decided_at"] + (["decision_note"] if item.decision_note else []),
        details={"kind": item.kind, "requested_by_id": item.requested_by_id},
    )  # fmt: skip
    _tell(
        [item.requested_by], link=item.get_absolute_url(),
        message=(_("Your request %(ref)s was approved by %(user)s.") if status == Status.APPROVED else _("Your request %(ref)s was rejected by %(user)s."))
        % {"ref": item.reference, "user": actor.get_username()},
    )  # fmt: skip
    return item


@transaction.atomic
def approve(item: ApprovalRequest, *, actor, version: int, note: str = "") -> ApprovalRequest:
    return _decide(item, actor=actor, version=version, note=note, status=Status.APPROVED)


@transaction.atomic
def reject(item: ApprovalRequest, *, actor, version: int, note: str = "") -> ApprovalRequest:
    if not (note or "").strip():
        raise ValidationError({"note": _("Give the reason for rejecting the request.")})
    return _decide(item, actor=actor, version=version, note=note, status=Status.REJECTED)


@transaction.atomic
def cancel(item: ApprovalRequest, *, actor, version: int) -> ApprovalRequest:
    """The requester withdraws a request that is still pending or approved and unused."""
    if item.requested_by_id != actor.pk:
        raise PermissionDenied
    check_version(ApprovalRequest, item.pk, version)
    item.refresh_from_db()
    if item.status not in {Status.PENDING, Status.APPROVED}:
        raise ValidationError(
            _("This request is %(status)s: it can no longer be cancelled.")
            % {"status": item.get_shown_status_display().lower()},
            code="invalid_transition",
        )
    before = item.status
    item.status = Status.CANCELLED
    item.version += 1
    item.save(update_fields=["status", "version"])
    audit.record(
        "approvals.cancelled",
        actor=actor,
        obj=item,
        changed_fields=["status"],
        details={"kind": item.kind, "from": before},
    )
    return item


def _mine(kind: str, status: str, *, actor, target, target_type, target_id, parameters, order=("decided_at", "pk")):
    """The actor's first unexpired request for this in ``status``, in ``order``."""
    if target is not None:
        target_type, target_id = target_of(target)
    return (
        _matching(kind, target_type=target_type, target_id=target_id, parameters=parameters)
        .filter(requested_by=actor, status=status, expires_at__gt=timezone.now())
        .order_by(*order)
        .first()
    )


def usable(
    kind: str,
    *,
    actor,
    target: Model | None = None,
    target_type: str = "",
    target_id="",
    parameters: dict | None = None,
):
    """The actor's approved, unused, unexpired request for this, or None."""
    return _mine(
        kind,
        Status.APPROVED,
        actor=actor,
        target=target,
        target_type=target_type,
        target_id=target_id,
        parameters=parameters,
    )


def pending(
    kind: str,
    *,
    actor,
    target: Model | None = None,
    target_type: str = "",
    target_id="",
    parameters: dict | None = None,
):
    """The actor's request for this still awaiting a decision, or None."""
    return _mine(
        kind, Status.PENDING, actor=actor, target=target, target_type=target_type, target_id=target_id,
        parameters=parameters, order=("-requested_at", "-id"),
    )  # fmt: skip


@transaction.atomic
def consume(
    kind: str, *, actor, target: Model | None = None, target_type: str = "", target_id="", parameters: dict | None = None,
) -> ApprovalRequest:  # fmt: skip
    """Spend the actor's approval for this: call it inside the gated action's transaction, so the approval is
    spent if and only if the action happens. Raises ApprovalRequired when there is none."""
    item = usable(kind, actor=actor, target=target, target_type=target_type, target_id=target_id, parameters=parameters)
    if item is None:
        raise ApprovalRequired()
    # The conditional update is the single-use guarantee: of two concurrent uses, one updates no row.
    spent = ApprovalRequest.objects.filter(pk=item.pk, status=Status.APPROVED, used_at__isnull=True).update(
        status=Status.USED, used_at=timezone.now(), version=item.version + 1
    )
    if spent != 1:
        raise ApprovalRequired()
    item.refresh_from_db()
    audit.record(
        "approvals.used", actor=actor, obj=item, changed_fields=["status", "used_at"],
        details={"kind": kind, "target_type": item.target_type, "target_id": item.target_id, "decided_by_id": item.decided_by_id},
    )  # fmt: skip
    return item

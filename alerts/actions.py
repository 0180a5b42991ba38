from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.models import AlertRule, Notification
from audit import log as audit
from utilities.locking import check_version


def notify(recipients: Iterable, *, event: str, message: str, link: str = "", urgent: bool = False) -> list:
    """Put a notification in each recipient's notification area (deduplicated, inactive users skipped)."""
    seen = set()
    items = []
    for user in recipients:
        if user is None or not user.is_active or user.pk in seen:
            continue
        seen.add(user.pk)
        items.append(Notification(recipient=user, event=event, message=message, link=link, urgent=urgent))
    with transaction.atomic():
        return Notification.objects.bulk_create(items)


def mark_read(notification: Notification, *, actor) -> Notification:
    with transaction.atomic():
        if notification.read_at is None:
            notification.read_at = timezone.now()
            notification.save(update_fields=["read_at"])
    return notification


def mark_all_read(*, actor) -> int:
    with transaction.atomic():
        return Notification.objects.visible_to(actor).unread().update(read_at=timezone.now())


def acknowledge(notification: Notification, *, actor) -> Notification:
    with transaction.atomic():
        now = timezone.now()
        notification.acknowledged_at = notification.acknowledged_at or now
        notification.read_at = notification.read_at or now
        notification.save(update_fields=["acknowledged_at", "read_at"])
        audit.record("alerts.acknowledge", actor=actor, obj=notification)
    return notification


# Alert rules (issue #3): who is alerted on which event. Administrators with "alerts.manage_rules" edit them.

RULE_FIELDS = (
    "event", "target_roles", "target_assignee", "target_users", "urgent", "send_email",
    "escalate_after_minutes", "escalate_to_roles", "is_active",
)  # fmt: skip


def _clean_rule(fields: dict) -> dict:
    """Check and normalise rule fields; the form says the same to the user, this keeps the data sound."""
    from accounts.permissions import ROLES
    from alerts.choices import Event

    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise TypeError(f"not alert rule fields: {sorted(unknown)}")
    errors: dict[str, str] = {}
    if fields.get("event") not in Event.values:
        errors["event"] = _("Choose an event from the list.")
    for name in ("target_roles", "escalate_to_roles"):
        if name in fields:
            roles = set(fields[name] or [])
            if roles - set(ROLES):
                errors[name] = _("Choose roles from the list.")
            fields[name] = [code for code in ROLES if code in roles]
    if "target_users" in fields:
        users = list(fields["target_users"] or [])
        if any(not user.is_active or not user.agency.is_home_unit for user in users):
            errors["target_users"] = _("Only active members of the unit can be named.")
        fields["target_users"] = users
    if not (fields.get("target_roles") or fields.get("target_assignee") or fields.get("target_users")):
        errors.setdefault("target_roles", _("Choose who is alerted: roles, the assigned investigator or named users."))
    if fields.get("escalate_after_minutes") is not None:
        if fields.get("event") == Event.ESCALATION:
            errors["escalate_after_minutes"] = _("Escalations are not escalated again.")
        elif not fields.get("urgent"):
            errors["escalate_after_minutes"] = _("Only urgent alerts, which must be acknowledged, can be escalated.")
        elif not fields.get("escalate_to_roles"):
            errors["escalate_to_roles"] = _("Choose the roles to escalate to.")
    elif fields.get("escalate_to_roles"):
        errors["escalate_after_minutes"] = _("Say after how many minutes to escalate.")
    if errors:
        raise ValidationError(errors)
    return fields


def _rule_values(rule: AlertRule) -> dict:
    values = {name: getattr(rule, name) for name in RULE_FIELDS if name != "target_users"}
    values["target_users"] = sorted(rule.target_users.values_list("pk", flat=True)) if rule.pk else []
    return values


def _check_rule_permission(actor) -> None:
    if not actor.has_perm("alerts.manage_rules"):
        raise PermissionDenied


@transaction.atomic
def create_rule(*, actor, **fields) -> AlertRule:
    _check_rule_permission(actor)
    fields = _clean_rule(_rule_values(AlertRule()) | fields)
    users = fields.pop("target_users")
    rule = AlertRule(**fields)
    rule.full_clean()
    rule.save()
    rule.target_users.set(users)
    changed = [name for name, value in _rule_values(rule).items() if value not in (None, [], False, "")]
    audit.record("alerts.rule_created", actor=actor, obj=rule, changed_fields=changed, details={"event": rule.event})
    return rule


@transaction.atomic
def update_rule(rule: AlertRule, *, actor, version: int, **fields) -> AlertRule:
    _check_rule_permission(actor)
    check_version(AlertRule, rule.pk, version)
    rule.refresh_from_db()
    before = _rule_values(rule)
    fields = _clean_rule(before | {"target_users": list(rule.target_users.all())} | fields)
    users = fields.pop("target_users")
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.full_clean()
    rule.version += 1
    rule.save()
    rule.target_users.set(users)
    after = _rule_values(rule)
    changed = [name for name in RULE_FIELDS if before[name] != after[name]]
    audit.record("alerts.rule_updated", actor=actor, obj=rule, changed_fields=changed, details={"event": rule.event})
    return rule

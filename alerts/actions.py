from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from alerts.models import Notification
from audit import log as audit


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

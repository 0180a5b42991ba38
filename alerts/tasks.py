"""Background work of the alerts domain, run by `manage.py beacon_worker` (django-tasks, database queue).

Tasks are idempotent: running one twice sends nothing twice (each notification records when it was emailed;
escalations record when they escalated)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from alerts.models import Notification

logger = logging.getLogger(__name__)


@task()
def send_notification_email(notification_id: int) -> bool:
    """Email says only that there is something to see, with a link: never personal data (issue #3)."""
    with transaction.atomic():
        item = Notification.objects.select_for_update().select_related("recipient").filter(pk=notification_id).first()
        if item is None or item.emailed_at is not None or not item.recipient.email or not item.recipient.is_active:
            return False
        lang = item.recipient.preferred_language or settings.LANGUAGE_CODE
        with translation.override(lang):
            subject = _("Beacon: something needs your attention") if not item.urgent else _("Beacon: urgent, please acknowledge")
            body = _(
                "Hello,\n\nThere is something new for you in Beacon. Sign in to see it:\n\n%(url)s\n\n"
                "This message deliberately contains no details.\n"
            ) % {"url": f"{settings.BEACON_SITE_URL}/notifications/"}
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [item.recipient.email])
        item.emailed_at = timezone.now()
        item.save(update_fields=["emailed_at"])
    logger.info("notification %s emailed", notification_id)
    return True


@task()
def run_periodic_checks() -> dict:
    """Overdue acknowledgements and screenings, and escalation of unacknowledged urgent alerts."""
    from intake.actions import flag_overdue_reports

    overdue = flag_overdue_reports()
    escalated = escalate_unacknowledged()
    return {"overdue": overdue, "escalated": escalated}


def escalate_unacknowledged(now=None) -> int:
    from alerts.rules import dispatch_escalation

    now = now or timezone.now()
    count = 0
    pending = Notification.objects.filter(
        urgent=True, acknowledged_at__isnull=True, escalated_at__isnull=True, rule__escalate_after_minutes__isnull=False
    ).select_related("rule", "recipient")
    for item in pending:
        if item.created_at + timedelta(minutes=item.rule.escalate_after_minutes) > now:
            continue
        with transaction.atomic():
            locked = Notification.objects.select_for_update().get(pk=item.pk)
            if locked.escalated_at is not None or locked.acknowledged_at is not None:
                continue
            locked.escalated_at = now
            locked.save(update_fields=["escalated_at"])
            dispatch_escalation(locked)
            count += 1
    return count

"""Background work of the alerts domain, run by `manage.py beacon_worker` (django-tasks, database queue).

Tasks are idempotent: running one twice sends nothing twice (each notification records when it was emailed;
escalations record when they escalated; overdue reports record when they were flagged)."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from alerts.choices import Event
from alerts.models import AlertRule, Notification

logger = logging.getLogger(__name__)

# A mail relay that is down for a while must not lose the email: retry with a growing delay.
EMAIL_ATTEMPTS = 5


def notification_email(item: Notification) -> tuple[str, str]:
    """Subject and body of the email for ``item``. They say only that there is something to see, with a
    link to the notification area: never the message, a reference or a name (issue #3). Mailboxes are
    forwarded, shared and read on phones; everything else stays behind the sign-in."""
    lang = item.recipient.preferred_language or settings.LANGUAGE_CODE
    with translation.override(lang):
        subject = (
            _("Beacon: urgent, please acknowledge") if item.urgent else _("Beacon: something needs your attention")
        )
        body = _(
            "Hello,\n\nThere is something new for you in Beacon. Sign in to see it:\n\n%(url)s\n\n"
            "This message deliberately contains no details.\n"
        ) % {"url": settings.BEACON_SITE_URL + reverse("alerts:list")}
    return subject, body


@task()
def send_notification_email(notification_id: int, attempt: int = 1) -> bool:
    item = Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    if item is None or item.emailed_at is not None or not item.recipient.email or not item.recipient.is_active:
        return False
    # Claim the notification before sending, outside any long transaction: of two workers handed the same
    # notification only one sends, and the database is not held while the mail relay answers.
    claimed_at = timezone.now()
    if not Notification.objects.filter(pk=item.pk, emailed_at__isnull=True).update(emailed_at=claimed_at):
        return False
    subject, body = notification_email(item)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [item.recipient.email])
    except Exception:
        Notification.objects.filter(pk=item.pk, emailed_at=claimed_at).update(emailed_at=None)
        if attempt < EMAIL_ATTEMPTS:
            retry_at = timezone.now() + timedelta(minutes=2**attempt)
            send_notification_email.using(run_after=retry_at).enqueue(notification_id, attempt=attempt + 1)
        logger.warning("email for notification %s failed (attempt %s of %s)", notification_id, attempt, EMAIL_ATTEMPTS)
        raise
    logger.info("notification %s emailed", notification_id)
    return True


@task()
def run_periodic_checks() -> dict:
    """Overdue acknowledgements and screenings, and escalation of unacknowledged urgent alerts; approval
    requests past their expiry marked expired. Enqueued by every `beacon_worker` (at most one waiting or running
    at a time); safe to run twice."""
    from approvals.actions import expire_stale  # issue #10: stale approvals leave the approvers' queue
    from care.actions import flag_expiring_permits
    from intake.actions import flag_overdue_reports
    from integrations.tasks import (
        retry_due_primero_sends,  # issue #9: due retries of Primero sends
        retry_due_webhooks,  # issue #9: due webhook retries
    )
    from investigations.actions import run_periodic_checks as investigation_checks
    from referrals.actions import flag_overdue_referrals
    from retention.tasks import run_due as retention_due  # issue #10: daily retention, weekly access digest

    overdue = flag_overdue_reports()
    permits = flag_expiring_permits()
    referrals = flag_overdue_referrals()
    escalated = escalate_unacknowledged()
    return {
        "overdue": overdue,
        "permits_expiring": permits,
        "overdue_referrals": referrals,
        "escalated": escalated,
        "investigations": investigation_checks(),
        "webhooks": retry_due_webhooks(),
        "primero_retries": retry_due_primero_sends(),
        "retention": retention_due(),
        "approvals_expired": expire_stale(),
    }


def escalate_unacknowledged(now=None) -> int:
    """Escalate, once, every urgent notification left unacknowledged longer than its rule allows (issue #3).

    Each recipient must acknowledge their own copy. The copies of one alert that fall due together (the
    Director's and the Head of Investigations' copy of "a child is involved") make one escalation naming
    everyone who did not acknowledge, so the Deputy Director is told once, not once per copy. The rule's
    current settings apply, even if it was switched off since: an unanswered urgent alert stays urgent.
    Returns the number of alerts escalated."""
    from alerts.rules import dispatch_escalation

    now = now or timezone.now()
    count = 0
    rules = AlertRule.objects.filter(escalate_after_minutes__isnull=False).exclude(event=Event.ESCALATION)
    for rule in rules:
        due = Notification.objects.filter(
            rule=rule,
            urgent=True,
            acknowledged_at__isnull=True,
            escalated_at__isnull=True,
            created_at__lte=now - timedelta(minutes=rule.escalate_after_minutes),
        ).select_related("recipient")
        alerts: dict[tuple, list[Notification]] = defaultdict(list)
        for item in due.order_by("created_at", "pk"):
            alerts[(item.event, item.link, item.message)].append(item)
        for items in alerts.values():
            with transaction.atomic():
                # Claim the copies: another worker running the same check claims none of them, and a copy
                # acknowledged meanwhile drops out (row locks on PostgreSQL; on SQLite, IMMEDIATE
                # transactions serialise writers).
                pending = Notification.objects.select_for_update().filter(
                    pk__in=[item.pk for item in items], escalated_at__isnull=True, acknowledged_at__isnull=True
                )
                claimed_ids = set(pending.values_list("pk", flat=True))
                if not claimed_ids:
                    continue
                Notification.objects.filter(pk__in=claimed_ids).update(escalated_at=now)
                for item in items:
                    item.rule = rule
                dispatch_escalation([item for item in items if item.pk in claimed_ids], send_email=rule.send_email)
                count += 1
    if count:
        logger.info("%s unacknowledged urgent alerts escalated", count)
    return count

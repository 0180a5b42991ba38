"""Deciding who is alerted (issue #3): the active rules for an event name roles, the assignee or users."""

from __future__ import annotations

from django.db import transaction

from alerts.models import AlertRule, Notification


def recipients_for(rule: AlertRule, *, assignee=None, exclude=None) -> list:
    from accounts.models import User

    users = []
    if rule.target_roles:
        # Only members of the home unit receive role-targeted alerts; a partner's staff never do.
        users += list(
            User.objects.filter(is_active=True, roles__code__in=rule.target_roles, agency__is_home_unit=True).distinct()
        )
    if rule.target_assignee and assignee is not None:
        users.append(assignee)
    users += list(rule.target_users.filter(is_active=True))
    seen, result = set(), []
    for user in users:
        if user.pk in seen or (exclude is not None and user.pk == exclude.pk):
            continue
        seen.add(user.pk)
        result.append(user)
    return result


def dispatch(event: str, *, message: str, link: str = "", assignee=None, actor=None) -> list[Notification]:
    """Create the notifications of every active rule for ``event`` in the caller's transaction; emails
    follow once it commits. ``message`` must never carry personal data: a reference and what happened.
    The acting user is not alerted about their own action."""
    from alerts.tasks import send_notification_email

    created: list[Notification] = []
    for rule in AlertRule.objects.filter(event=event, is_active=True).prefetch_related("target_users"):
        for user in recipients_for(rule, assignee=assignee, exclude=actor):
            created.append(
                Notification.objects.create(
                    recipient=user, event=event, message=message, link=link, urgent=rule.urgent, rule=rule
                )
            )
    email_ids = [n.pk for n in created if n.rule and n.rule.send_email and n.recipient.email]
    if email_ids:
        transaction.on_commit(lambda: [send_notification_email.enqueue(pk) for pk in email_ids])
    return created


def dispatch_escalation(item: Notification) -> list[Notification]:
    """Tell the next role that an urgent alert went unacknowledged (issue #3)."""
    from django.utils.translation import gettext as _

    from accounts.models import User
    from alerts.tasks import send_notification_email

    rule = item.rule
    users = User.objects.filter(is_active=True, roles__code__in=rule.escalate_to_roles, agency__is_home_unit=True).distinct()
    message = _("Not acknowledged in time by %(who)s: %(message)s") % {"who": item.recipient.username, "message": item.message}
    created = [
        Notification.objects.create(recipient=u, event="alert.escalated", message=message[:300], link=item.link, urgent=True)
        for u in users
        if u.pk != item.recipient_id
    ]
    ids = [n.pk for n in created if n.recipient.email]
    if ids:
        transaction.on_commit(lambda: [send_notification_email.enqueue(pk) for pk in ids])
    return created

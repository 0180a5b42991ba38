"""Deciding who is alerted (issue #3): the active rules for an event name roles, the assignee or users.

Only members of the home unit are ever alerted: a role or a name handed by mistake to a partner agency's
staff must not route the unit's alerts to them."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.db import transaction
from django.utils.translation import gettext as _

from alerts.choices import Event
from alerts.models import AlertRule, Notification


def _unit_members():
    from accounts.models import User

    return User.objects.filter(is_active=True, agency__is_home_unit=True)


def users_with_roles(roles: Iterable[str]) -> list:
    roles = list(roles)
    if not roles:
        return []
    return list(_unit_members().filter(roles__code__in=roles).distinct().order_by("pk"))


def recipients_for(rule: AlertRule, *, assignee=None, exclude=None) -> list:
    users = users_with_roles(rule.target_roles or [])
    if rule.target_assignee and assignee is not None and assignee.is_active:
        users.append(assignee)
    users += list(rule.target_users.filter(is_active=True, agency__is_home_unit=True).order_by("pk"))
    return _unique(users, exclude={exclude.pk} if exclude is not None else set())


def _unique(users: Iterable, *, exclude: set) -> list:
    seen, result = set(exclude), []
    for user in users:
        if user.pk in seen:
            continue
        seen.add(user.pk)
        result.append(user)
    return result


def _email_on_commit(items: Iterable[Notification]) -> None:
    """Emails leave after the transaction commits, so a rolled-back change never emails anyone and the
    worker always finds the notification it is asked about."""
    from alerts.tasks import send_notification_email

    for item in items:
        if item.recipient.email:
            # robust: a queue that cannot be reached must not turn a saved change into an error page; the
            # notification is in the recipient's notification area either way.
            transaction.on_commit(partial(send_notification_email.enqueue, item.pk), robust=True)


def dispatch(event: str, *, message: str, link: str = "", assignee=None, actor=None) -> list[Notification]:
    """Create the notifications of every active rule for ``event`` in the caller's transaction; emails
    follow once it commits. ``message`` must never carry personal data: a reference and what happened.
    The acting user is not alerted about their own action. A user matched by several rules gets one
    notification, urgent (and emailed) if any of those rules says so."""
    chosen: dict[int, tuple] = {}  # user pk -> (user, rule)
    for rule in AlertRule.objects.filter(event=event, is_active=True).prefetch_related("target_users"):
        for user in recipients_for(rule, assignee=assignee, exclude=actor):
            held = chosen.get(user.pk)
            if held is None or (rule.urgent, rule.send_email) > (held[1].urgent, held[1].send_email):
                chosen[user.pk] = (user, rule)
    created = [
        Notification.objects.create(
            recipient=user, event=event, message=message[:300], link=link, urgent=rule.urgent, rule=rule
        )
        for user, rule in chosen.values()
    ]
    _email_on_commit(n for n in created if n.rule.send_email)
    return created


def dispatch_escalation(items: list[Notification], *, send_email: bool = True) -> list[Notification]:
    """Tell the rule's escalation roles (and anyone an active "alert.escalated" rule names) that an urgent
    alert went unacknowledged (issue #3). ``items`` are the unacknowledged copies of one alert; the people
    who already hold it are not told again. Escalations are never escalated further."""
    rule = items[0].rule
    holders = {item.recipient_id for item in items}
    users = users_with_roles(rule.escalate_to_roles or [])
    for extra in AlertRule.objects.filter(event=Event.ESCALATION, is_active=True).prefetch_related("target_users"):
        users += recipients_for(extra)
    users = _unique(users, exclude=holders)
    who = ", ".join(sorted(item.recipient.get_username() for item in items))
    message = _("Not acknowledged in time by %(who)s: %(message)s") % {"who": who, "message": items[0].message}
    created = [
        Notification.objects.create(
            recipient=user, event=Event.ESCALATION, message=message[:300], link=items[0].link, urgent=True
        )
        for user in users
    ]
    if send_email:
        _email_on_commit(created)
    return created

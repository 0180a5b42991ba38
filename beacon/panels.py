from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import User
from alerts.models import Notification
from audit.models import AuditEvent
from beacon.home import panel


@panel(10)
def notifications(request):
    items = list(Notification.objects.visible_to(request.user).unread()[:8])
    return {
        "title": _("New notifications"),
        "template": "home/_notifications.html",
        "items": items,
        "link": reverse("alerts:list"),
        "empty": _("Nothing new."),
    }


@panel(80)
def locked_accounts(request):
    if not request.user.has_perm("accounts.manage_users"):
        return None
    users = list(User.objects.visible_to(request.user, "change").filter(locked_at__isnull=False)[:10])
    return {
        "title": _("Locked accounts"),
        "template": "home/_users.html",
        "items": users,
        "link": reverse("accounts:user_list") + "?status=locked",
        "empty": _("No account is locked."),
    }


@panel(90)
def recent_audit(request):
    if not request.user.has_perm("audit.view_log"):
        return None
    return {
        "title": _("Latest audit events"),
        "template": "home/_audit.html",
        "items": list(AuditEvent.objects.visible_to(request.user).order_by("-id")[:8]),
        "link": reverse("audit:event_list"),
        "empty": _("No events yet."),
    }

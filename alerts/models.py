from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from utilities.querysets import RestrictedQuerySet


class NotificationQuerySet(RestrictedQuerySet):
    def _restrict(self, user, action):
        # A notification belongs to its recipient alone, whatever their role.
        return self.filter(recipient=user)

    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """One item in a user's notification area. The text names what happened and an object reference,
    never a survivor's or suspect's personal data (those stay behind the link)."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(_("event"), max_length=60, db_index=True)
    message = models.CharField(_("message"), max_length=300)
    link = models.CharField(_("link"), max_length=300, blank=True)
    urgent = models.BooleanField(_("urgent"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.message

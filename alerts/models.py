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
    rule = models.ForeignKey("alerts.AlertRule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.message


class AlertRule(models.Model):
    """Who is alerted on which event (issue #3). Defaults follow the unit's SOP; administrators edit them."""

    event = models.CharField(_("event"), max_length=60, db_index=True)
    target_roles = models.JSONField(_("roles alerted"), default=list, blank=True)
    target_assignee = models.BooleanField(_("alert the assigned investigator"), default=False)
    target_users = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("named users"), blank=True, related_name="+")
    urgent = models.BooleanField(_("urgent: must be acknowledged"), default=False)
    send_email = models.BooleanField(_("also send an email"), default=True)
    escalate_after_minutes = models.PositiveIntegerField(_("escalate if not acknowledged after (minutes)"), null=True, blank=True)
    escalate_to_roles = models.JSONField(_("escalate to roles"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")
        ordering = ["event", "id"]

    def __str__(self) -> str:
        return self.event

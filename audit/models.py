"""The append-only audit log (issue #2).

Rows outlive their subjects (NetBox's ObjectChange): the actor is kept as a copied name and a plain id
without a foreign-key constraint, so deleting a user never has to touch (and could not touch) the log.
Sensitive values are never stored: only which fields changed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.fields.json import KeyTransform
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from utilities.querysets import RestrictedQuerySet

SIGN_IN_ACTIONS = (
    "auth.login",
    "auth.login_failed",
    "auth.mfa_verified",
    "auth.mfa_failed",
    "auth.logout",
    "auth.session_expired",
    "auth.account_locked",
)


class AuditEventQuerySet(RestrictedQuerySet):
    def _restrict(self, user, action):
        if action == "view" and user.has_perm("audit.view_log"):
            return self
        if action == "view":
            # Everyone sees their own sign-ins, including failed attempts on their account (issue #2).
            mine = models.Q(actor_id=user.pk) | models.Q(object_type="accounts.user", object_id=str(user.pk))
            return self.filter(mine, action__in=SIGN_IN_ACTIONS)
        return self.none()  # nobody changes the audit log


class AuditEvent(models.Model):
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    agency_id = models.BigIntegerField(_("agency id"), null=True, blank=True)
    agency_name = models.CharField(_("agency"), max_length=200, blank=True)
    roles = models.CharField(_("roles"), max_length=300, blank=True)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    object_type = models.CharField(_("object type"), max_length=80, blank=True, db_index=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True, db_index=True)
    request_id = models.CharField(_("request id"), max_length=32, blank=True, db_index=True)
    client_ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    changed_fields = models.JSONField(_("changed fields"), default=list, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["actor", "at"]),
            models.Index(fields=["object_type", "object_id"]),
            # The case timeline reads victim-care events by the case they name (cases/timeline.py): without this,
            # every case page scanned the whole log (0.5 s at 1.7 million rows).
            models.Index(
                KeyTransform("case_id", "details"),
                name="audit_care_event_case_idx",
                condition=models.Q(object_type__startswith="care."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name or '-'} {self.action}"

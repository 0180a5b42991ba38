"""Four-eyes approval of the riskiest actions (issue #10).

A request names what it concerns by object type and id only (no personal data); the requester's reason and
the approver's note are encrypted. An approved request is spent by the action it allows, once, by its
requester, before it expires. Nobody approves their own request."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from approvals.choices import Kind, Status
from utilities.crypto import EncryptedTextField
from utilities.querysets import RestrictedQuerySet


class ApprovalRequestQuerySet(RestrictedQuerySet):
    def _restrict(self, user, action: str):
        # Approvers see (and decide) every request; everyone else sees only their own.
        if user.has_perm("approvals.approve"):
            return self if action in {"view", "decide"} else self.filter(requested_by=user)
        if action == "decide":
            return self.none()
        return self.filter(requested_by=user)

    def live(self):
        """Requests that may still be decided or used: pending or approved, not past their expiry."""
        return self.filter(status__in=[Status.PENDING, Status.APPROVED], expires_at__gt=timezone.now())


class ApprovalRequest(models.Model):
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    reason = EncryptedTextField(_("reason"))
    # What the request concerns: an object type ("cases.person") and id, and ids only in ``parameters``.
    target_type = models.CharField(_("object type"), max_length=60, blank=True)
    target_id = models.CharField(_("object id"), max_length=40, blank=True)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), on_delete=models.PROTECT, related_name="+",
        null=True, blank=True,
    )  # fmt: skip
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = EncryptedTextField(_("decision note"), blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = ApprovalRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["kind", "target_type", "target_id", "status"])]
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")

    def __str__(self) -> str:
        return f"A-{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("approvals:detail", args=[self.pk])

    @property
    def reference(self) -> str:
        return f"A-{self.pk:05d}" if self.pk else ""

    @property
    def is_expired(self) -> bool:
        return self.status == Status.EXPIRED or (
            self.status in {Status.PENDING, Status.APPROVED} and self.expires_at <= timezone.now()
        )

    @property
    def shown_status(self) -> str:
        return Status.EXPIRED if self.is_expired else self.status

    def get_shown_status_display(self) -> str:
        return Status(self.shown_status).label

    def target_url(self) -> str:
        """The page of what the request concerns (its ids only; the page checks access itself)."""
        try:
            if self.kind == Kind.BULK_EXPORT_HTCDS:
                return reverse("exchange:htcds_export")
            if self.kind == Kind.MERGE_PERSONS:
                return reverse("people:merge", args=[int(self.target_id), int(self.parameters["other_person_id"])])
            if self.kind == Kind.CONSENT_OVERRIDE:
                return reverse("referrals:referral_detail", args=[int(self.target_id)])
            if self.kind == Kind.COURT_FILE_REVEAL:
                return reverse("investigations:court_file", args=[int(self.target_id)])
            if self.kind == Kind.PRIMERO_CONSENT_OVERRIDE:
                return reverse("integrations:primero_send", args=[int(self.target_id)])
        except (KeyError, TypeError, ValueError, NoReverseMatch):
            return ""
        return ""

    def target_label(self) -> str:
        if self.kind == Kind.BULK_EXPORT_HTCDS:
            return str(_("HTCDS export"))
        if self.kind == Kind.MERGE_PERSONS:
            return _("Person records #%(a)s and #%(b)s") % {
                "a": self.target_id,
                "b": self.parameters.get("other_person_id"),
            }
        if self.kind == Kind.CONSENT_OVERRIDE:
            return _("Referral #%(id)s") % {"id": self.target_id}
        if self.kind == Kind.PRIMERO_CONSENT_OVERRIDE:
            return _("Referral #%(id)s, to Primero") % {"id": self.target_id}
        return _("Court file of case #%(id)s") % {"id": self.target_id}

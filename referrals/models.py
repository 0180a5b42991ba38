"""Referrals of survivors to service providers (issue #5).

A referral carries a SNAPSHOT of exactly what the sender chose to share, taken when it was sent and stored
encrypted. The provider's pages read that snapshot and nothing else: never the case, its reference, the other
people in it or anything the sender did not tick.

Who sees a referral (``Referral.objects.visible_to``): on the unit's side, whoever may see the survivor's link
to the case (``CasePerson.objects.visible_to``); on the provider's side, the staff of the addressed agency
holding ``referrals.respond``, once it is sent. Everybody else gets 404.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from care.choices import ServiceType
from referrals.choices import (
    ACK_TARGET,
    ANSWER_TARGET,
    AWAITING_ACK,
    AWAITING_ANSWER,
    EventKind,
    ReferralStatus,
    Side,
    Urgency,
)
from utilities.crypto import EncryptedTextField
from utilities.querysets import RestrictedQuerySet


def side_of(user) -> str | None:
    """Which side of referrals ``user`` is on: the unit's, a provider's, or neither."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.in_home_unit:
        return Side.UNIT
    if user.has_perm("referrals.respond"):
        return Side.PROVIDER
    return None


class ReferralQuerySet(RestrictedQuerySet):
    """Actions: "view"; "change" (the unit: send, withdraw, write in the thread); "respond" (the provider)."""

    def _restrict(self, user, action):
        from cases.models import CasePerson

        side = side_of(user)
        if side == Side.UNIT:
            if action == "view":
                return self.filter(case_person__in=CasePerson.objects.visible_to(user, "view").values("pk"))
            if action == "change" and user.has_perm("referrals.send"):
                return self.filter(case_person__in=CasePerson.objects.visible_to(user, "change").values("pk"))
        elif side == Side.PROVIDER and action in {"view", "respond"}:
            return self.filter(provider_id=user.agency_id).exclude(status=ReferralStatus.DRAFT)
        return self.none()

    def overdue(self, now=None):
        """Sent referrals past their acknowledgement or answer target."""
        now = now or timezone.now()
        late = models.Q()
        for urgency in Urgency:
            late |= models.Q(urgency=urgency, status__in=AWAITING_ACK, sent_at__lt=now - ACK_TARGET[urgency])
            late |= models.Q(urgency=urgency, status__in=AWAITING_ANSWER, sent_at__lt=now - ANSWER_TARGET[urgency])
        return self.filter(late)


class Referral(models.Model):
    reference = models.CharField(_("reference"), max_length=20, unique=True, null=True, blank=True)
    case_person = models.ForeignKey(
        "cases.CasePerson", verbose_name=_("survivor"), on_delete=models.PROTECT, related_name="referrals"
    )
    provider = models.ForeignKey(
        "directory.Agency", verbose_name=_("provider"), on_delete=models.PROTECT, related_name="referrals_received"
    )
    needs = models.JSONField(_("needs"), default=list)
    care_needs = models.ManyToManyField(
        "care.Need", verbose_name=_("needs in the care record"), blank=True, related_name="referrals"
    )
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE)
    status = models.CharField(
        _("status"), max_length=20, choices=ReferralStatus.choices, default=ReferralStatus.DRAFT, db_index=True
    )
    # What the sender chose (field codes, the name to show, the notes and the safe contact typed for it).
    shared_fields = models.JSONField(_("shared fields"), default=list)
    shared_name = EncryptedTextField(_("name shown to the provider"), blank=True)
    safety_notes = EncryptedTextField(_("safety notes"), blank=True)
    safe_contact = EncryptedTextField(_("phone of a safe contact"), blank=True)
    # Exactly what the provider sees, frozen when sent (JSON, encrypted).
    snapshot_data = EncryptedTextField(blank=True, editable=False)
    consent_overridden = models.BooleanField(_("sent without recorded consent"), default=False)
    override_reason = EncryptedTextField(_("reason for sending without consent"), blank=True)
    decline_reason = EncryptedTextField(_("reason for declining"), blank=True)
    outcome = EncryptedTextField(_("outcome"), blank=True)
    withdrawal_reason = EncryptedTextField(_("reason for withdrawal"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True, db_index=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    declined_at = models.DateTimeField(_("declined"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    # Escalation steps already taken (0 none, 1 the sender, 2 leadership), so each is alerted once.
    ack_escalation = models.PositiveSmallIntegerField(default=0, editable=False)
    answer_escalation = models.PositiveSmallIntegerField(default=0, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.reference or f"#{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("referrals:referral_detail", args=[self.pk])

    def get_portal_url(self) -> str:
        return reverse("referrals:portal_detail", args=[self.pk])

    @property
    def snapshot(self) -> dict:
        return json.loads(self.snapshot_data) if self.snapshot_data else {}

    @property
    def ack_due_at(self):
        return self.sent_at + ACK_TARGET[Urgency(self.urgency)] if self.sent_at else None

    @property
    def answer_due_at(self):
        return self.sent_at + ANSWER_TARGET[Urgency(self.urgency)] if self.sent_at else None

    def ack_overdue(self, now=None) -> bool:
        return self.status in AWAITING_ACK and self.ack_due_at is not None and (now or timezone.now()) > self.ack_due_at

    def answer_overdue(self, now=None) -> bool:
        return (
            self.status in AWAITING_ANSWER
            and self.answer_due_at is not None
            and (now or timezone.now()) > self.answer_due_at
        )

    @property
    def is_overdue(self) -> bool:
        return self.ack_overdue() or self.answer_overdue()


class ReferralEvent(models.Model):
    """One step of the referral's timeline: a change of status or an update from the provider."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    side = models.CharField(max_length=10, choices=Side.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = EncryptedTextField(blank=True)
    # Whether the provider's timeline shows the note (a withdrawal's or override's reason stays with the unit).
    note_shared = models.BooleanField(default=False)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]


class ReferralService(models.Model):
    """A service the provider reports having delivered under the referral."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="services")
    service_type = models.CharField(_("service"), max_length=20, choices=ServiceType.choices)
    delivered_on = models.DateField(_("date (from)"), default=timezone.localdate)
    ended_on = models.DateField(_("until"), null=True, blank=True)
    details = EncryptedTextField(_("what was provided"), blank=True)
    outcome = EncryptedTextField(_("outcome"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("service reported")
        verbose_name_plural = _("services reported")
        ordering = ["delivered_on", "id"]


class ReferralMessage(models.Model):
    """One message of the referral's secure thread, with at most one attachment (encrypted on disk)."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="messages")
    side = models.CharField(max_length=10, choices=Side.choices)
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = EncryptedTextField(_("message"), blank=True)
    stored_name = models.CharField(max_length=32, blank=True, editable=False)
    original_name = EncryptedTextField(_("file name"), blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    @property
    def has_attachment(self) -> bool:
        return bool(self.stored_name)


class ThreadRead(models.Model):
    """How far each user has read a thread: the first delivery of each message to a reader is audited."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_message_id = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["referral", "user"], name="unique_referral_thread_read")]

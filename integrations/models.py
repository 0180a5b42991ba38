"""Outgoing webhooks and Primero connections (issue #9).

A webhook carries event types and ids only, never personal data (``integrations.events.emit``). Its secret
and a Primero account's password are stored encrypted. Deliveries keep their status, attempts, response code
and a short error; never a response body."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from integrations.choices import PRIMERO_MODULES, AttemptOutcome, DeliveryStatus, SubmissionStatus, WebhookEvent
from utilities.crypto import EncryptedTextField


class Webhook(models.Model):
    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("address (URL)"), max_length=500)
    secret = EncryptedTextField(_("signing secret"), editable=False)
    events = models.JSONField(_("events"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("integrations:webhook_detail", args=[self.pk])

    def event_labels(self) -> list[str]:
        labels = dict(WebhookEvent.choices)
        return [str(labels.get(code, code)) for code in self.events]


class WebhookDelivery(models.Model):
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(_("delivery id"), default=uuid.uuid4, unique=True, editable=False)
    event_type = models.CharField(_("event"), max_length=50)
    object_type = models.CharField(_("object type"), max_length=50, blank=True)
    object_id = models.CharField(_("object id"), max_length=50, blank=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True, db_index=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    last_error = models.CharField(_("error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]


class PrimeroConnection(models.Model):
    """A partner's Primero instance (CPIMS+ or GBVIMS+) and the account Beacon uses there."""

    name = models.CharField(_("name"), max_length=100)
    agency = models.ForeignKey(
        "directory.Agency",
        verbose_name=_("partner running it"),
        on_delete=models.PROTECT,
        related_name="primero_connections",
    )
    base_url = models.URLField(_("Primero address"), max_length=300)
    username = models.CharField(_("Primero user name"), max_length=100)
    password = EncryptedTextField(_("Primero password"))
    module_id = models.CharField(_("module"), max_length=50, choices=PRIMERO_MODULES, default=PRIMERO_MODULES[0][0])
    recipient = models.CharField(
        _("Primero user receiving referrals"),
        max_length=100,
        help_text=_("The user name in Primero that referrals are addressed to (transitioned_to)."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("Primero connection")
        verbose_name_plural = _("Primero connections")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class PrimeroSubmission(models.Model):
    """One attempt to send a Beacon referral to a Primero instance, and what came of it."""

    referral = models.ForeignKey("referrals.Referral", on_delete=models.PROTECT, related_name="primero_submissions")
    connection = models.ForeignKey(PrimeroConnection, on_delete=models.PROTECT, related_name="submissions")
    status = models.CharField(
        _("status"), max_length=10, choices=SubmissionStatus.choices, default=SubmissionStatus.PENDING
    )
    remote_case_id = models.CharField(_("Primero case id"), max_length=64, blank=True)
    remote_referral_id = models.CharField(_("Primero referral id"), max_length=64, blank=True)
    case_created = models.BooleanField(_("case created in Primero"), default=False)
    error = models.CharField(_("error"), max_length=300, blank=True)
    consent_overridden = models.BooleanField(_("sent without recorded consent"), default=False)
    override_reason = EncryptedTextField(_("reason for sending without consent"), blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Automatic retries (issue #9): how many attempts, when the next is due (while one runs: until when it is
    # leased to its worker) and the last HTTP status.
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True, db_index=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    # What a retry needs so as never to send twice: the case id Beacon chose before creating the case (sent
    # again, Primero answers 409 if the lost attempt created it), the referrals the case already had before
    # Beacon posted its own, and whether a referral POST may have reached Primero (a retry then looks for it
    # before posting again).
    planned_case_id = models.UUIDField(null=True, blank=True, editable=False)
    referral_baseline = models.JSONField(default=list, blank=True, editable=False)
    referral_posted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("Primero submission")
        verbose_name_plural = _("Primero submissions")
        ordering = ["-created_at", "-id"]

    @property
    def will_retry(self) -> bool:
        return self.status == SubmissionStatus.RETRYING


class PrimeroAttempt(models.Model):
    """One attempt of a Primero submission (issue #9): the officer's own, then the worker's retries. The
    number is unique per submission, so two workers can never both make the same attempt."""

    submission = models.ForeignKey(PrimeroSubmission, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=AttemptOutcome.choices, default=AttemptOutcome.SENDING
    )
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text=_("Empty for the worker's automatic retries."),
    )  # fmt: skip

    class Meta:
        verbose_name = _("Primero send attempt")
        verbose_name_plural = _("Primero send attempts")
        ordering = ["submission", "number"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "number"], name="integrations_primero_attempt_once")
        ]

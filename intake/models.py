from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from intake.choices import AgeGroup, Channel, Priority, ReporterRelationship, Sex, Status, Urgency
from utilities.crypto import EncryptedTextField
from utilities.querysets import RestrictedQuerySet


class ReportQuerySet(RestrictedQuerySet):
    def _restrict(self, user, action):
        if action == "view":
            if user.has_perm("intake.view_all_reports"):
                return self
            # An investigator sees what is assigned to them; whoever recorded a report sees it too.
            return self.filter(models.Q(assignee=user) | models.Q(created_by=user))
        if action == "triage" and user.has_perm("intake.triage"):
            return self
        if action == "assign" and user.has_perm("intake.assign"):
            return self
        if action == "screen":
            if user.has_perm("screening.screen_any"):
                return self
            if user.has_perm("screening.screen"):
                return self.filter(assignee=user)
            return self.none()
        if action == "decide" and user.has_perm("screening.decide"):
            return self
        if action == "acknowledge":
            return self.filter(assignee=user)
        if action == "change":
            if user.has_perm("intake.triage"):
                return self
            return self.filter(models.Q(assignee=user) | models.Q(created_by=user)) if user.has_perm("intake.create_report") else self.none()
        return self.none()


class Report(models.Model):
    reference = models.CharField(_("reference"), max_length=20, unique=True, null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    received_at = models.DateTimeField(_("received"))
    referring_agency = models.ForeignKey(
        "directory.Agency", verbose_name=_("referring agency"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    referring_other = models.CharField(_("referred by (other, e.g. foreign counterpart)"), max_length=200, blank=True)

    reporter_anonymous = models.BooleanField(_("reporter is anonymous"), default=False)
    reporter_name = EncryptedTextField(_("reporter's name"), blank=True)
    reporter_phone = EncryptedTextField(_("reporter's phone"), blank=True)
    reporter_phone_index = models.CharField(max_length=32, blank=True, db_index=True, editable=False)
    reporter_email = EncryptedTextField(_("reporter's email"), blank=True)
    reporter_relationship = models.CharField(
        _("reporter is"), max_length=20, choices=ReporterRelationship.choices, default=ReporterRelationship.UNKNOWN
    )

    victim_count = models.PositiveSmallIntegerField(_("number of possible victims"), null=True, blank=True)
    victim_sex = models.CharField(_("sex of possible victims"), max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    victim_age_group = models.CharField(_("age"), max_length=10, choices=AgeGroup.choices, default=AgeGroup.UNKNOWN)
    victim_approx_age = models.PositiveSmallIntegerField(_("approximate age"), null=True, blank=True)
    victim_nationality = models.CharField(_("nationality"), max_length=60, blank=True)
    victim_language = models.CharField(_("language"), max_length=60, blank=True)
    exploitation = models.JSONField(_("suspected exploitation"), default=list, blank=True)
    named_persons = EncryptedTextField(_("names mentioned (victims, suspects)"), blank=True)
    named_person_index = models.JSONField(default=list, blank=True, editable=False)

    location_text = EncryptedTextField(_("places"), blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    incident_from = models.DateField(_("from"), null=True, blank=True)
    incident_to = models.DateField(_("to"), null=True, blank=True)

    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE)
    child_involved = models.BooleanField(_("a child is involved"), default=False)
    immediate_danger = models.BooleanField(_("someone is in immediate danger"), default=False)
    medical_need = models.BooleanField(_("someone needs medical care"), default=False)
    narrative = EncryptedTextField(_("what was reported"), blank=True)

    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, null=True, blank=True)
    triaged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    triaged_at = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("investigator"), null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_reports"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    ack_due_at = models.DateTimeField(_("acknowledge by"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    screening_due_at = models.DateTimeField(_("screen by"), null=True, blank=True)
    ack_overdue_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)
    screening_overdue_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_reason = models.CharField(_("reason for closing"), max_length=300, blank=True)

    public_code_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = ReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return self.reference or f"#{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("intake:report_detail", args=[self.pk])

    @property
    def is_urgent(self) -> bool:
        return self.urgency == Urgency.URGENT or self.immediate_danger or self.child_involved


class ReportAddition(models.Model):
    """More information added later: by the anonymous reporter through their code, or an officer's note."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="additions")
    text = EncryptedTextField(_("information"))
    from_public = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


def _attachment_name() -> str:
    return uuid.uuid4().hex


class ReportAttachment(models.Model):
    """A file sent with a report. Stored encrypted, under a generated name, never served directly."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="attachments")
    stored_name = models.CharField(max_length=32, default=_attachment_name, unique=True, editable=False)
    original_name = EncryptedTextField(_("file name"))
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    from_public = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)


class ReportLink(models.Model):
    """Two reports an officer judged to concern the same situation."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="links_from")
    other = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="links_to")
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["report", "other"], name="unique_report_link")]


class PublicSubmissionThrottle(models.Model):
    """Submissions of the public form per client address (rate limit); addresses kept as keyed hashes."""

    address_hash = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

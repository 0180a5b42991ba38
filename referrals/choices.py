"""Choices and targets of the referrals domain (issue #5)."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _


class ReferralStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# Referrals the provider has not yet answered (accepted or declined).
AWAITING_ACK = {ReferralStatus.SENT}
AWAITING_ANSWER = {ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED}
OPEN = {ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED, ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS}
CLOSED = {ReferralStatus.DECLINED, ReferralStatus.COMPLETED, ReferralStatus.WITHDRAWN}

STATUS_BADGE = {
    ReferralStatus.DRAFT: "text-bg-light border",
    ReferralStatus.SENT: "text-bg-primary",
    ReferralStatus.ACKNOWLEDGED: "text-bg-info",
    ReferralStatus.ACCEPTED: "text-bg-success",
    ReferralStatus.DECLINED: "text-bg-danger",
    ReferralStatus.IN_PROGRESS: "text-bg-success",
    ReferralStatus.COMPLETED: "text-bg-secondary",
    ReferralStatus.WITHDRAWN: "text-bg-secondary",
}


class Urgency(models.TextChoices):
    ROUTINE = "routine", _("Routine")
    PRIORITY = "priority", _("Priority")
    URGENT = "urgent", _("Urgent")


# Target times from sending (issue #5): the provider acknowledges within ACK_TARGET and accepts or declines
# within ANSWER_TARGET. Past a target the sending officer is alerted; past ESCALATION_FACTOR times the target,
# the unit's leadership.
ACK_TARGET = {
    Urgency.URGENT: timedelta(hours=2),
    Urgency.PRIORITY: timedelta(hours=8),
    Urgency.ROUTINE: timedelta(hours=24),
}
ANSWER_TARGET = {
    Urgency.URGENT: timedelta(hours=8),
    Urgency.PRIORITY: timedelta(hours=24),
    Urgency.ROUTINE: timedelta(hours=72),
}
ESCALATION_FACTOR = 2
LEADERSHIP_ROLES = ("head_of_investigations", "director")

# Message attachments: images and PDF only (checked by content), at most this size.
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENT_STORE = "referral-attachments"


class Side(models.TextChoices):
    UNIT = "unit", _("Unit")
    PROVIDER = "provider", _("Provider")


class EventKind(models.TextChoices):
    CREATED = "created", _("Draft created")
    SENT = "sent", _("Sent")
    CONSENT_OVERRIDDEN = "consent_overridden", _("Sent without recorded consent")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    STARTED = "started", _("Services started")
    COMPLETED = "completed", _("Completed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    UPDATE = "update", _("Update from the provider")
    SERVICE = "service", _("Service delivered")


# What the sender may share (issue #5). The minimum is ticked by default; the extras only when chosen. Needs
# and urgency are always shared: a referral without them means nothing to the provider.
class SharedField(models.TextChoices):
    NAME = "name", _("First name or alias")
    AGE = "age", _("Age")
    SEX = "sex", _("Sex")
    LANGUAGES = "languages", _("Languages")
    SAFETY_NOTES = "safety_notes", _("Safety notes")
    FULL_NAME = "full_name", _("Full name")
    BIRTH_DATE = "birth_date", _("Date of birth")
    NATIONALITY = "nationality", _("Nationality")
    GENDER = "gender", _("Gender")
    INTERPRETER = "interpreter", _("Needs an interpreter")
    SAFE_CONTACT = "safe_contact", _("Phone of a safe contact")


MINIMUM_FIELDS = [SharedField.NAME, SharedField.AGE, SharedField.SEX, SharedField.LANGUAGES, SharedField.SAFETY_NOTES]
EXTRA_FIELDS = [f for f in SharedField if f not in MINIMUM_FIELDS]

"""Choices of the cooperation domain (issue #9)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    OUTGOING = "outgoing", _("Outgoing (we asked)")
    INCOMING = "incoming", _("Incoming (we were asked)")


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    RECEIVED = "received", _("Received")
    UNDER_REVIEW = "under_review", _("Under review")
    ANSWERED = "answered", _("Answered")
    DECLINED = "declined", _("Declined")
    CLOSED = "closed", _("Closed")


# Requests still waiting for the other side (outgoing) or for us (incoming): the timers count these.
OPEN_STATUSES = (Status.SENT, Status.RECEIVED, Status.UNDER_REVIEW)


class Urgency(models.TextChoices):
    ROUTINE = "routine", _("Routine")
    PRIORITY = "priority", _("Priority")
    URGENT = "urgent", _("Urgent (risk to life or imminent movement)")


class MessageKind(models.TextChoices):
    REQUEST = "request", _("Request")
    ACKNOWLEDGEMENT = "acknowledgement", _("Acknowledgement")
    REPLY = "reply", _("Reply")
    DECLINE = "decline", _("Decline")


class Delivery(models.TextChoices):
    """Where an outgoing message stands; incoming messages are always "delivered"."""

    PENDING = "pending", _("Waiting to be delivered")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Delivery failed")


# What a requesting unit may ask for; the answering unit ticks which of them it discloses.
class AskedItem(models.TextChoices):
    IDENTITY = "identity", _("Identity and identity documents of a person")
    CRIMINAL_RECORD = "criminal_record", _("Criminal record or previous investigations")
    TRAVEL = "travel", _("Travel and border-crossing records")
    PHONE = "phone", _("Telephone subscriber or communications data")
    FINANCIAL = "financial", _("Financial or company records")
    VICTIM_STATUS = "victim_status", _("Whether a person is a recognised victim and their safe return")
    WITNESS = "witness", _("Hearing a witness or taking a statement")
    OTHER = "other", _("Other assistance (described in the request)")

"""Choices of the investigation and prosecution domain (issue #6)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ActionKind(models.TextChoices):
    INTERVIEW = "interview", _("Interview")
    SURVEILLANCE = "surveillance", _("Surveillance")
    SEARCH = "search", _("Search")
    OPERATION = "operation", _("Operation")
    REQUEST = "request", _("Request to another agency or country")
    FINANCIAL = "financial", _("Financial enquiry")
    OTHER = "other", _("Other")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class CustodyStatus(models.TextChoices):
    AT_LARGE = "at_large", _("At large")
    IN_CUSTODY = "in_custody", _("In custody")
    ON_BAIL = "on_bail", _("On bail")
    REMANDED = "remanded", _("Remanded in custody")
    RELEASED = "released", _("Released without charge")
    SERVING = "serving", _("Serving a sentence")


class MLAStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    ANSWERED = "answered", _("Answered")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ChargeOutcome(models.TextChoices):
    PENDING = "pending", _("Pending")
    CONVICTION = "conviction", _("Conviction")
    ACQUITTAL = "acquittal", _("Acquittal")
    WITHDRAWN = "withdrawn", _("Withdrawn / discontinued")


class AppealStatus(models.TextChoices):
    NONE = "none", _("No appeal")
    LODGED = "lodged", _("Appeal lodged")
    DISMISSED = "dismissed", _("Appeal dismissed")
    ALLOWED = "allowed", _("Appeal allowed")


class OrderKind(models.TextChoices):
    PROTECTION = "protection", _("Protection order")
    RESTRAINT = "restraint", _("Restraint of assets")
    FORFEITURE = "forfeiture", _("Forfeiture of assets")
    CHILDREN = "children", _("Order concerning children")
    OTHER = "other", _("Other order")


class Agreement(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNDECIDED = "undecided", _("Undecided")


class SpecialMeasure(models.TextChoices):
    SCREEN = "screen", _("Screen")
    VIDEO_LINK = "video_link", _("Video link")
    CLOSED_COURT = "closed_court", _("Closed court")
    SUPPORT_PERSON = "support_person", _("Support person")
    INTERPRETER = "interpreter", _("Interpreter")
    PRE_RECORDED = "pre_recorded", _("Pre-recorded evidence")


class CourtFileStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


EVENTS = {
    "arrested": "investigation.suspect_arrested",
    "charged": "investigation.charge_laid",
    "hearing": "investigation.hearing_soon",
    "order": "investigation.order_expiring",
    "broken": "investigation.evidence_broken",
    "inactive": "investigation.case_inactive",
}
HEARING_REMINDER_DAYS = 7
ORDER_ALERT_DAYS = 14
INACTIVE_DAYS = 30

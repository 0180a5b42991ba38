from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    HOTLINE = "hotline", _("Hotline call")
    WALK_IN = "walk_in", _("Walk-in")
    EMAIL_LETTER = "email_letter", _("Email or letter")
    AGENCY_REFERRAL = "agency_referral", _("Referral from an agency")
    PUBLIC_FORM = "public_form", _("Public web form")
    OPERATION = "operation", _("Patrol or operation")
    IMPORT = "import", _("Imported record")  # HTCDS import (issue #8): the case came from another system's file


class ReporterRelationship(models.TextChoices):
    SELF = "self", _("The person concerned")
    FAMILY = "family", _("Family member")
    FRIEND = "friend", _("Friend or acquaintance")
    EMPLOYER = "employer", _("Employer or co-worker")
    PROFESSIONAL = "professional", _("Professional (police, health, social work...)")
    PUBLIC = "public", _("Member of the public")
    UNKNOWN = "unknown", _("Unknown")


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    MIXED = "mixed", _("Mixed group")
    UNKNOWN = "unknown", _("Unknown")


class AgeGroup(models.TextChoices):
    CHILD = "child", _("Child (under 18)")
    ADULT = "adult", _("Adult")
    MIXED = "mixed", _("Children and adults")
    UNKNOWN = "unknown", _("Unknown")


class Exploitation(models.TextChoices):
    """Suspected forms of exploitation, mapped to HTCDS ``vic_TypeOfExploitation`` values on export."""

    SEXUAL = "sexual", _("Sexual exploitation")
    FORCED_LABOUR = "forced_labour", _("Forced labour")
    DOMESTIC_SERVITUDE = "domestic_servitude", _("Domestic servitude")
    FORCED_CRIMINALITY = "forced_criminality", _("Forced criminal activity")
    BEGGING = "begging", _("Forced begging")
    FORCED_MARRIAGE = "forced_marriage", _("Forced marriage")
    ORGAN_REMOVAL = "organ_removal", _("Removal of organs")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Not yet known")


class Urgency(models.TextChoices):
    ROUTINE = "routine", _("Routine")
    PRIORITY = "priority", _("Priority")
    URGENT = "urgent", _("Urgent")


class Priority(models.IntegerChoices):
    CRITICAL = 1, _("Critical")
    HIGH = 2, _("High")
    MEDIUM = 3, _("Medium")
    LOW = 4, _("Low")


class Status(models.TextChoices):
    """The SOP route map (issue #3). Transitions are in ``intake.workflow.TRANSITIONS``."""

    RECEIVED = "received", _("Received")
    TRIAGED = "triaged", _("Triaged")
    ASSIGNED = "assigned", _("Assigned")
    UNDER_SCREENING = "under_screening", _("Under screening")
    DECIDED = "decided", _("Decided")
    CASE_OPENED = "case_opened", _("Case opened")
    CLOSED = "closed", _("Closed")

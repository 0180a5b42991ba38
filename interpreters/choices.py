from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class VettingStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    VETTED = "vetted", _("Vetted")
    REFUSED = "refused", _("Refused")
    SUSPENDED = "suspended", _("Suspended")


class WorkMode(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    REMOTE = "remote", _("Remote")
    BOTH = "both", _("Remote and in person")


class BookingKind(models.TextChoices):
    INTERVIEW = "interview", _("Interview")
    COURT = "court", _("Court date")
    OTHER = "other", _("Other")

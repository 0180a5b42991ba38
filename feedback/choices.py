from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Prefer not to say")


class AgeBand(models.TextChoices):
    CHILD = "0-17", _("0-17")
    B18 = "18-24", _("18-24")
    B25 = "25-34", _("25-34")
    B35 = "35+", _("35 and over")
    UNKNOWN = "unknown", _("Unknown")


class Channel(models.TextChoices):
    PAPER = "paper", _("Paper, keyed in by staff")
    TABLET = "tablet", _("Tablet")

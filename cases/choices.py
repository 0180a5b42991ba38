from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseStatus(models.TextChoices):
    """HTCDS 2.0 ``cas_Status``."""

    ACTIVE = "Active", _("Active")
    FOLLOW_UP = "FollowUp", _("Follow-up")
    CLOSED = "Closed", _("Closed")
    CLOSED_REFERRED = "ClosedReferred", _("Closed, referred")


class TraffickingStatus(models.TextChoices):
    """HTCDS 2.0 ``vic_TraffickingStatus``."""

    POSSIBLE = "PossibleVictimOfTrafficking", _("Possible victim of trafficking")
    ACTUAL = "ActualVictimOfTrafficking", _("Victim of trafficking")
    NOT_A_VICTIM = "NotAVictimOfTrafficking", _("Not a victim of trafficking")


class PersonRole(models.TextChoices):
    VICTIM = "victim", _("Victim / survivor")
    SUSPECT = "suspect", _("Suspect")
    WITNESS = "witness", _("Witness")
    REPORTER = "reporter", _("Reporter")
    GUARDIAN = "guardian", _("Parent or guardian")
    FAMILY = "family", _("Family member")


class TeamRole(models.TextChoices):
    OWNER = "owner", _("Case owner")
    INVESTIGATOR = "investigator", _("Investigator")
    CARE = "care", _("Victim care officer")

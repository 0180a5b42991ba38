from django.db import models
from django.utils.translation import gettext_lazy as _


class Recommendation(models.TextChoices):
    VICTIM = "victim", _("Victim of trafficking")
    POSSIBLE = "possible", _("Possible victim")
    NOT_TRAFFICKING = "not_trafficking", _("Not trafficking")


class Outcome(models.TextChoices):
    VICTIM = "victim_identified", _("Victim identified")
    POSSIBLE = "possible_victim", _("Possible victim")
    NOT_TRAFFICKING = "not_trafficking", _("Not trafficking")
    REFERRED = "referred_elsewhere", _("Referred to another agency")


class AgeBasis(models.TextChoices):
    DOCUMENT = "document", _("Identity document")
    STATED = "stated", _("Stated by the person")
    ESTIMATED = "estimated", _("Estimated by the officer")
    UNKNOWN = "unknown", _("Unknown")


class DecidingOrganisation(models.TextChoices):
    """HTCDS 2.0 ``vic_TraffickingStatusDecisionMakingOrg``."""

    POLICE = "Police", _("Police")
    NGO = "NGO", _("NGO")
    COURT = "CourtOrProsecution", _("Court or prosecution")
    NON_POLICE_GOVERNMENT = "NonPoliceGovernmentalOrganization", _("Non-police governmental organisation")
    OTHER = "Other", _("Other")


# Outcome -> HTCDS ``vic_TraffickingStatus``.
HTCDS_STATUS = {
    Outcome.VICTIM: "ActualVictimOfTrafficking",
    Outcome.POSSIBLE: "PossibleVictimOfTrafficking",
    Outcome.NOT_TRAFFICKING: "NotAVictimOfTrafficking",
    Outcome.REFERRED: "NotAVictimOfTrafficking",
}

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganisationType(models.TextChoices):
    """IOM HTCDS 2.0 ``org_Type`` value names, exactly as in shared/standards/htcds (issue #2).

    ``x_InternationalOrganisation`` and ``x_Other`` are Beacon extensions (HTCDS has no value for IOM, UNHCR
    and the like); HTCDS exports map them to NGO and leave the extension in an ``x_`` column.
    """

    NGO = "NGO", _("Non-governmental organisation")
    LAW_ENFORCEMENT = "LawEnforcement", _("Law enforcement")
    HEALTH = "HealthServiceOrganisation", _("Health service organisation")
    CENTRAL_GOVERNMENT = "CentralGovernmentOrganisation", _("Central government organisation")
    LOCAL_GOVERNMENT = "LocalGovernmentOrganisation", _("Local government organisation")
    IMMIGRATION = "ImmigrationService", _("Immigration service")
    LEGAL = "LegalService", _("Legal service")
    BUSINESS = "CorporateBusiness", _("Corporate business")
    SCHOOL = "SchoolOrCollege", _("School or college")
    INTERNATIONAL = "x_InternationalOrganisation", _("International organisation")
    OTHER = "x_Other", _("Other")


class AgencyKind(models.TextChoices):
    """What the agency is to the unit; finer than the HTCDS type and used for defaults and filters."""

    CTU = "ctu", _("Counter-trafficking unit")
    POLICE = "police", _("Police")
    IMMIGRATION = "immigration", _("Immigration")
    LABOUR = "labour", _("Labour inspection")
    CHILD_PROTECTION = "child_protection", _("Child protection")
    MINISTRY = "ministry", _("Ministry")
    PROSECUTION = "prosecution", _("Prosecution")
    SHELTER = "shelter", _("Shelter")
    CLINIC = "clinic", _("Clinic or hospital")
    NGO = "ngo", _("NGO")
    LEGAL_AID = "legal_aid", _("Legal aid")
    INTERNATIONAL = "international", _("International organisation")
    FAITH_BASED = "faith_based", _("Faith-based organisation")
    OTHER = "other", _("Other")

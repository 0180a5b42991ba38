"""Choices of the victim care domain (issue #4). HTCDS value names are kept exactly where the standard has them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class NeedType(models.TextChoices):
    SHELTER = "shelter", _("Shelter")
    FOOD_NFI = "food_nfi", _("Food and non-food items")
    MEDICAL = "medical", _("Medical")
    SRH = "srh", _("Sexual and reproductive health")
    MHPSS = "mhpss", _("Mental health and psychosocial support")
    LEGAL_AID = "legal_aid", _("Legal aid")
    INTERPRETATION = "interpretation", _("Interpretation")
    EDUCATION = "education", _("Education")
    VOCATIONAL = "vocational", _("Vocational training")
    LIVELIHOOD = "livelihood", _("Livelihood")
    FAMILY_TRACING = "family_tracing", _("Family tracing")
    REPATRIATION = "repatriation", _("Repatriation")
    RESETTLEMENT = "resettlement", _("Resettlement")
    CHILD_PROTECTION = "child_protection", _("Child protection")
    DOCUMENTATION = "documentation", _("Documentation")
    OTHER = "other", _("Other")


class NeedPriority(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class NeedStatus(models.TextChoices):
    IDENTIFIED = "identified", _("Identified")
    IN_PROGRESS = "in_progress", _("In progress")
    MET = "met", _("Met")
    NO_LONGER_NEEDED = "no_longer_needed", _("No longer needed")


NEED_CLOSED = {NeedStatus.MET, NeedStatus.NO_LONGER_NEEDED}


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


# Days until the next review of a safety risk assessment, by level (issue #4). The officer may set an earlier
# date, never a later one: a critical risk must not wait three months because of a typing slip.
RISK_REVIEW_DAYS = {RiskLevel.CRITICAL: 7, RiskLevel.HIGH: 14, RiskLevel.MEDIUM: 30, RiskLevel.LOW: 90}

# Bootstrap classes for the level badge; the level's name is always written too (colour is never the only cue).
RISK_BADGE = {
    RiskLevel.LOW: "text-bg-success",
    RiskLevel.MEDIUM: "text-bg-warning",
    RiskLevel.HIGH: "text-bg-danger",
    RiskLevel.CRITICAL: "text-bg-dark border border-2 border-danger",
}


class PlanKind(models.TextChoices):
    CARE = "care", _("Individual care plan")
    TRANSITION = "transition", _("Transition plan")


class PlanType(models.TextChoices):
    """HTCDS 2.0 ``spl_Type``."""

    EDUCATION = "Education", _("Education")
    FINANCIAL = "Financial", _("Financial")
    HEALTH = "Health", _("Health")
    LABOUR_REHAB = "LabourExploitationRehabilitation", _("Labour exploitation rehabilitation")
    LEGAL = "Legal", _("Legal")
    LIVELIHOOD = "Livelihood", _("Livelihood")
    RIGHTS_TRAINING = "RightsBasedTraining", _("Rights-based training")
    SEXUAL_REHAB = "SexualExploitationRehabilitation", _("Sexual exploitation rehabilitation")
    SOCIAL_CARE = "SocialCare", _("Social care")


class GoalStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACHIEVED = "achieved", _("Achieved")
    DROPPED = "dropped", _("Dropped")


class ActionStatus(models.TextChoices):
    TODO = "todo", _("To do")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class ServiceType(models.TextChoices):
    ACCOMMODATION = "accommodation", _("Accommodation (shelter stay)")
    COUNSELLING = "counselling", _("Counselling session")
    MEDICAL = "medical", _("Medical care")
    SRH = "srh", _("Sexual and reproductive health")
    LEGAL_AID = "legal_aid", _("Legal aid")
    INTERPRETATION = "interpretation", _("Interpretation")
    DIRECT_ASSISTANCE = "direct_assistance", _("Direct assistance (items)")
    VOCATIONAL = "vocational", _("Vocational training")
    EDUCATION = "education", _("Education")
    FAMILY_TRACING = "family_tracing", _("Family tracing")
    REPATRIATION = "repatriation", _("Repatriation")
    RESETTLEMENT = "resettlement", _("Resettlement")


class ImmigrationStatusKind(models.TextChoices):
    NATIONAL = "national", _("National of Trinidad and Tobago")
    RESIDENT = "resident", _("Lawful resident")
    VISITOR = "visitor", _("Lawful visitor")
    MINISTERS_PERMIT = "ministers_permit", _("On a Minister's permit")
    WORK_PERMIT = "work_permit", _("On a work permit")
    ASYLUM_SEEKER = "asylum_seeker", _("Asylum seeker")
    REFUGEE = "refugee", _("Recognised refugee")
    IRREGULAR = "irregular", _("Irregular / undocumented")
    PENDING = "pending", _("Application pending")
    UNKNOWN = "unknown", _("Unknown")


class DocumentKind(models.TextChoices):
    MINISTERS_PERMIT = "ministers_permit", _("Minister's permit")
    WORK_PERMIT = "work_permit", _("Work permit")
    VISA = "visa", _("Visa")
    ASYLUM_CERTIFICATE = "asylum_certificate", _("Asylum-seeker certificate")
    REFUGEE_CERTIFICATE = "refugee_certificate", _("Refugee certificate")
    RESIDENCE_PERMIT = "residence_permit", _("Residence permit")
    TRAVEL_DOCUMENT = "travel_document", _("Emergency travel document")
    PASSPORT = "passport", _("Passport")
    OTHER = "other", _("Other")


class GuardianRelationship(models.TextChoices):
    PARENT = "parent", _("Parent")
    RELATIVE = "relative", _("Other relative")
    LEGAL_GUARDIAN = "legal_guardian", _("Legal guardian")
    APPOINTED = "appointed", _("Guardian appointed by the Children's Authority or court")
    FOSTER = "foster", _("Foster carer")
    OTHER = "other", _("Other")


class AgeMethod(models.TextChoices):
    DOCUMENT = "document", _("Identity or civil document")
    INTERVIEW = "interview", _("Interview (age-assessment interview)")
    PSYCHOSOCIAL = "psychosocial", _("Psychosocial assessment")
    MEDICAL = "medical", _("Medical examination")
    MULTIDISCIPLINARY = "multidisciplinary", _("Multidisciplinary assessment")
    OTHER = "other", _("Other")


class AgeResult(models.TextChoices):
    UNDER_18 = "under_18", _("Under 18")
    ADULT = "adult", _("18 or over")
    UNDETERMINED = "undetermined", _("Could not be determined (treated as a child)")


class ConsentPurpose(models.TextChoices):
    """What a consent is for. Other domains ask ``care.consent.has_consent(link, purpose, ...)`` with these."""

    SERVICES = "services", _("Receiving services")
    SHARING = "sharing", _("Sharing information with a named agency")
    COURT = "court", _("Participation in court proceedings")
    CONTACT = "contact", _("Being contacted")
    DATA_PROCESSING = "data_processing", _("Processing of personal data")


class ConsentMethod(models.TextChoices):
    WRITTEN = "written", _("Written (signed)")
    VERBAL = "verbal", _("Verbal")
    THUMBPRINT = "thumbprint", _("Thumbprint")
    GUARDIAN = "guardian", _("By parent or guardian")


class WithdrawalMethod(models.TextChoices):
    WRITTEN = "written", _("In writing")
    VERBAL = "verbal", _("Verbally")
    GUARDIAN = "guardian", _("By parent or guardian")
    THROUGH_REPRESENTATIVE = "representative", _("Through a lawyer or representative")

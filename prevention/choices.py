from django.db import models
from django.utils.translation import gettext_lazy as _


class EventKind(models.TextChoices):
    AWARENESS_CAMPAIGN = "awareness_campaign", _("Awareness campaign")
    COMMUNITY_OUTREACH = "community_outreach", _("Community outreach")
    SCHOOL_SESSION = "school_session", _("School session")
    PUBLIC_EVENT = "public_event", _("Public event")
    MEDIA_APPEARANCE = "media_appearance", _("Media appearance")
    INFORMATION_KITS = "information_kits", _("Information-kit distribution")


class AudienceType(models.TextChoices):
    GENERAL_PUBLIC = "general_public", _("General public")
    STUDENTS = "students", _("Students")
    PARENTS_TEACHERS = "parents_teachers", _("Parents and teachers")
    MIGRANTS = "migrants", _("Migrants")
    WORKERS = "workers", _("Workers and employers")
    OFFICIALS = "officials", _("Officials and front-line staff")
    OTHER = "other", _("Other")


class Subject(models.TextChoices):
    IDENTIFICATION = "identification", _("Identification and screening")
    VICTIM_CARE = "victim_care", _("Victim care")
    CASE_MANAGEMENT = "case_management", _("Case management")
    CHILD_TRAFFICKING = "child_trafficking", _("Child trafficking")
    PSYCHOLOGICAL_FIRST_AID = "psychological_first_aid", _("Psychological first aid")
    OTHER = "other", _("Other")


class ParticipantSex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    UNKNOWN = "unknown", _("Unknown")

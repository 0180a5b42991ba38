"""Prevention (issue #13): outreach events and trainings, with the training-of-trainers register.

Participants are trainees, not survivors: their names are stored plainly but shown only to users holding
``prevention.record``; reports carry aggregates only.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.choices import OrganisationType
from prevention.choices import AudienceType, EventKind, ParticipantSex, Subject

SCORE = [MinValueValidator(0), MaxValueValidator(100)]

# (field name, sex, age band) of the people-reached counts on an outreach event.
REACH_FIELDS = [
    (f"reached_{sex}_{age}", sex, age) for sex in ("female", "male", "unknown") for age in ("minor", "adult", "unknown")
]


class OutreachEvent(models.Model):
    kind = models.CharField(_("kind"), max_length=30, choices=EventKind.choices)
    title = models.CharField(_("title"), max_length=200)
    date = models.DateField(_("date"))
    place = models.CharField(_("place"), max_length=300, blank=True)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    area_code = models.CharField(_("area code"), max_length=40, blank=True)
    partners = models.ManyToManyField("directory.Agency", blank=True, related_name="+", verbose_name=_("partners"))
    languages = models.JSONField(_("languages"), default=list, blank=True)
    audience = models.CharField(_("audience"), max_length=30, choices=AudienceType.choices, blank=True)
    reached_female_minor = models.PositiveIntegerField(_("female, 0-17"), default=0)
    reached_female_adult = models.PositiveIntegerField(_("female, 18+"), default=0)
    reached_female_unknown = models.PositiveIntegerField(_("female, age unknown"), default=0)
    reached_male_minor = models.PositiveIntegerField(_("male, 0-17"), default=0)
    reached_male_adult = models.PositiveIntegerField(_("male, 18+"), default=0)
    reached_male_unknown = models.PositiveIntegerField(_("male, age unknown"), default=0)
    reached_unknown_minor = models.PositiveIntegerField(_("sex unknown, 0-17"), default=0)
    reached_unknown_adult = models.PositiveIntegerField(_("sex unknown, 18+"), default=0)
    reached_unknown_unknown = models.PositiveIntegerField(_("sex and age unknown"), default=0)
    materials_count = models.PositiveIntegerField(_("materials distributed"), default=0)
    materials_kind = models.CharField(_("kind of materials"), max_length=200, blank=True)
    hotline_calls = models.PositiveIntegerField(_("hotline calls attributed"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["-date", "-pk"]
        verbose_name = _("outreach event")
        verbose_name_plural = _("outreach events")

    def __str__(self) -> str:
        return self.title

    @property
    def people_reached(self) -> int:
        return sum(getattr(self, name) for name, _sex, _age in REACH_FIELDS)


class Course(models.Model):
    title = models.CharField(_("title"), max_length=200, unique=True)
    subject = models.CharField(_("subject"), max_length=30, choices=Subject.choices)
    pass_mark = models.PositiveSmallIntegerField(
        _("post-test threshold"), default=70, validators=SCORE,
        help_text=_("Participants scoring at least this on the post-test are counted as able to apply the knowledge."),
    )  # fmt: skip
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["title"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")

    def __str__(self) -> str:
        return self.title


class TrainingSession(models.Model):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions", verbose_name=_("course"))
    date = models.DateField(_("date"))
    place = models.CharField(_("place"), max_length=300, blank=True)
    facilitators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("facilitators")
    )
    other_facilitators = models.CharField(_("other facilitators"), max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["-date", "-pk"]
        verbose_name = _("training session")
        verbose_name_plural = _("training sessions")

    def __str__(self) -> str:
        return f"{self.course} ({self.date:%Y-%m-%d})"


class Participant(models.Model):
    session = models.ForeignKey(
        TrainingSession, on_delete=models.CASCADE, related_name="participants", verbose_name=_("session")
    )
    name = models.CharField(_("name"), max_length=200)
    agency = models.ForeignKey(
        "directory.Agency", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("agency")
    )
    organisation = models.CharField(_("organisation (if not in the directory)"), max_length=200, blank=True)
    org_type = models.CharField(_("organisation type"), max_length=40, choices=OrganisationType.choices, blank=True)
    sex = models.CharField(_("sex"), max_length=10, choices=ParticipantSex.choices, default=ParticipantSex.UNKNOWN)
    attended = models.BooleanField(_("attended"), default=True)
    certificate_issued = models.BooleanField(_("certificate issued"), default=False)
    pre_score = models.PositiveSmallIntegerField(_("pre-test score"), null=True, blank=True, validators=SCORE)
    post_score = models.PositiveSmallIntegerField(_("post-test score"), null=True, blank=True, validators=SCORE)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")

    def __str__(self) -> str:
        return self.name

    @property
    def agency_type(self) -> str:
        """The HTCDS organisation type: the directory's when linked, else the one recorded."""
        return self.agency.org_type if self.agency_id else (self.org_type or OrganisationType.OTHER)


class TrainerCertification(models.Model):
    """Who may train others (training of trainers): a user or a former participant."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, null=True, blank=True, related_name="certifications",
        verbose_name=_("participant"),
    )  # fmt: skip
    subjects = models.JSONField(_("subjects"), default=list)
    valid_until = models.DateField(_("valid until"))

    class Meta:
        ordering = ["valid_until", "pk"]
        verbose_name = _("trainer certification")
        verbose_name_plural = _("trainer certifications")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, participant__isnull=True)
                | models.Q(user__isnull=True, participant__isnull=False),
                name="prevention_certification_one_holder",
            )
        ]

    def __str__(self) -> str:
        return str(self.user or self.participant)

    def is_expired(self, today=None) -> bool:
        return self.valid_until < (today or timezone.localdate())

    def subject_labels(self) -> list[str]:
        labels = dict(Subject.choices)
        return [str(labels.get(s, s)) for s in self.subjects]

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from screening.choices import AgeBasis, DecidingOrganisation, Outcome, Recommendation
from utilities.crypto import EncryptedTextField
from utilities.querysets import RestrictedQuerySet


class ScreeningInstrument(models.Model):
    version = models.PositiveIntegerField(_("version"), unique=True)
    name = models.CharField(_("name"), max_length=120)
    definition = models.JSONField(_("indicators"))
    is_current = models.BooleanField(_("current"), default=False)
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["is_current"], condition=models.Q(is_current=True), name="one_current_instrument")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def indicators(self, element: str) -> list[tuple[str, str]]:
        lang = "es" if (get_language() or "en").startswith("es") else "en"
        return [(item["code"], item.get(lang) or item["en"]) for item in self.definition.get(element, [])]


class ScreeningQuerySet(RestrictedQuerySet):
    def _restrict(self, user, action):
        from intake.models import Report

        return self.filter(report__in=Report.objects.visible_to(user, "view"))


class Screening(models.Model):
    report = models.ForeignKey("intake.Report", on_delete=models.PROTECT, related_name="screenings")
    instrument = models.ForeignKey(ScreeningInstrument, on_delete=models.PROTECT, related_name="screenings")
    person_label = models.CharField(_("person (pseudonym)"), max_length=60, help_text=_("A pseudonym such as 'Victim A'; the identity is recorded in the case."))
    person_age = models.PositiveSmallIntegerField(_("age"), null=True, blank=True)
    age_basis = models.CharField(_("age is based on"), max_length=12, choices=AgeBasis.choices, default=AgeBasis.UNKNOWN)
    answers = models.JSONField(_("indicators found"), default=dict)
    evidence = EncryptedTextField(_("evidence (JSON per indicator)"), blank=True)
    act_met = models.BooleanField(default=False)
    means_met = models.BooleanField(default=False)
    purpose_met = models.BooleanField(default=False)
    is_child = models.BooleanField(default=False)
    recommendation = models.CharField(max_length=20, choices=Recommendation.choices)
    missing = models.JSONField(default=list, blank=True)
    screened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    screened_at = models.DateTimeField(auto_now_add=True)

    objects = ScreeningQuerySet.as_manager()

    class Meta:
        ordering = ["-screened_at", "-id"]


class Decision(models.Model):
    report = models.ForeignKey("intake.Report", on_delete=models.PROTECT, related_name="decisions")
    screening = models.OneToOneField(Screening, on_delete=models.PROTECT, related_name="decision")
    outcome = models.CharField(_("decision"), max_length=20, choices=Outcome.choices)
    recommendation = models.CharField(_("Beacon's recommendation"), max_length=20, choices=Recommendation.choices)
    disagrees = models.BooleanField(_("differs from the recommendation"), default=False)
    rationale = EncryptedTextField(_("rationale"))
    deciding_org = models.CharField(
        _("deciding organisation (HTCDS)"), max_length=40, choices=DecidingOrganisation.choices, default=DecidingOrganisation.NON_POLICE_GOVERNMENT
    )
    referred_to = models.ForeignKey("directory.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_at"]

"""Statistics (issue #8). Counts are computed from the records on demand (stats/dataset.py); what is stored
here is what the records cannot tell: population figures for rates per 100,000 (SDG 16.2.2)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PopulationSex(models.TextChoices):
    TOTAL = "total", _("Total")
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class PopulationAge(models.TextChoices):
    TOTAL = "total", _("Total")
    CHILD = "0-17", _("0 to 17 years")
    ADULT = "18+", _("18 years or over")


class PopulationFigure(models.Model):
    """The resident population of the instance's country in a year, by sex and age group (national
    statistics office estimates), entered by an analyst."""

    year = models.PositiveSmallIntegerField(_("year"))
    sex = models.CharField(_("sex"), max_length=10, choices=PopulationSex.choices, default=PopulationSex.TOTAL)
    age = models.CharField(_("age"), max_length=10, choices=PopulationAge.choices, default=PopulationAge.TOTAL)
    population = models.PositiveIntegerField(_("population"))
    source = models.CharField(_("source"), max_length=200, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("population figure")
        verbose_name_plural = _("population figures")
        ordering = ["-year", "sex", "age"]
        constraints = [models.UniqueConstraint(fields=["year", "sex", "age"], name="one_population_figure")]

    def __str__(self) -> str:
        return f"{self.year} {self.sex} {self.age}: {self.population}"


class ReportRunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class ReportRunFormat(models.TextChoices):
    SCREEN = "html", _("On screen")
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"
    PDF = "pdf", "PDF"


class ReportRun(models.Model):
    """A statistical report generated in the background because it is large (issue #8): its parameters
    (measure, dimensions, filters, dates: codes only, never personal data), progress, and the produced file,
    stored encrypted. Only the person who asked for it may see or download it."""

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    params = models.JSONField(default=dict)
    format = models.CharField(max_length=4, choices=ReportRunFormat.choices, default=ReportRunFormat.SCREEN)
    status = models.CharField(max_length=10, choices=ReportRunStatus.choices, default=ReportRunStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    stored_name = models.CharField(max_length=32, blank=True)
    size = models.PositiveIntegerField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("statistical report run")
        verbose_name_plural = _("statistical report runs")
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"report run {self.pk} ({self.status})"

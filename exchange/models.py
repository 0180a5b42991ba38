"""Records of the HTCDS exchange (issue #8): import jobs (progress, counts, row errors; never a personal value)
and the ids other systems know Beacon's records by, so re-importing a file updates and never duplicates."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from utilities.querysets import RestrictedQuerySet


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Imported")
    REFUSED = "refused", _("Refused: nothing imported")
    FAILED = "failed", _("Failed: nothing imported")


class ImportJobQuerySet(RestrictedQuerySet):
    def _restrict(self, user, action):
        # A job's errors describe someone's file row by row: only the person who uploaded it sees them.
        if not user.has_perm("exchange.import_htcds"):
            return self.none()
        return self.filter(created_by=user)


class ImportJob(models.Model):
    """One HTCDS import. The uploaded file is kept encrypted only until the job has run. ``errors`` holds
    line, column and reason of each bad cell; reasons name picklist codes at most, never a cell's text."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    file_format = models.CharField(max_length=4)
    size = models.PositiveIntegerField(default=0)
    stored_name = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    phase = models.CharField(max_length=10, blank=True)  # "checking" or "writing" while running
    progress = models.PositiveSmallIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    cases_created = models.PositiveIntegerField(default=0)
    ignored_columns = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("exchange:htcds_import_status", args=[self.pk])

    @property
    def is_pending(self) -> bool:
        return self.status in {JobStatus.QUEUED, JobStatus.RUNNING}


class ExternalRecord(models.Model):
    """The ``x_ExternalId`` of a person in a case: from the file that imported it, or given at its first
    export (a random id, so two Beacon installations never hand out the same one)."""

    external_id = models.CharField(max_length=200, unique=True)
    case_person = models.OneToOneField("cases.CasePerson", on_delete=models.CASCADE, related_name="external_record")
    created_at = models.DateTimeField(auto_now_add=True)


class ExternalCase(models.Model):
    """The ``x_CaseId`` a case was imported under: later rows with the same id join the same case."""

    external_id = models.CharField(max_length=200, unique=True)
    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="external_case")
    created_at = models.DateTimeField(auto_now_add=True)

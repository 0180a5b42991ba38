"""Retention rules, legal holds, retention runs and the weekly access digest (issue #10).

Nothing here holds personal data: runs and digests keep ids, counts and staff user names; a hold's reason is
encrypted because it may describe the court proceedings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from retention.choices import PERIOD_FROM, RecordType, RetentionAction
from utilities.crypto import EncryptedTextField


class RetentionRule(models.Model):
    record_type = models.CharField(_("records"), max_length=30, choices=RecordType.choices, unique=True)
    period_months = models.PositiveSmallIntegerField(_("kept for (months)"))
    action = models.CharField(
        _("then"), max_length=10, choices=RetentionAction.choices, default=RetentionAction.ANONYMISE
    )
    is_active = models.BooleanField(_("active"), default=False)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("retention rule")
        verbose_name_plural = _("retention rules")
        ordering = ["id"]

    def __str__(self) -> str:
        return str(self.get_record_type_display())

    @property
    def period_from(self):
        return PERIOD_FROM.get(self.record_type, "")


class LegalHoldQuerySet(models.QuerySet):
    def active(self):
        return self.filter(lifted_at__isnull=True)


class LegalHold(models.Model):
    """Stops retention for one case while it is (or may be) before a court."""

    case = models.ForeignKey("cases.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="legal_holds")
    reason = EncryptedTextField(_("reason"))
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    placed_at = models.DateTimeField(_("placed"), auto_now_add=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True)

    objects = LegalHoldQuerySet.as_manager()

    class Meta:
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
        ordering = ["-placed_at", "-id"]


class RetentionRun(models.Model):
    """One pass of the retention job: counts per rule, never what the records said."""

    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    counts = models.JSONField(_("counts per rule"), default=dict, blank=True)

    class Meta:
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")
        ordering = ["-started_at", "-id"]


class RetainedMark(models.Model):
    """Which records retention has already anonymised, so a later run neither redoes nor recounts them."""

    record_type = models.CharField(max_length=30)  # "cases.person", "cases.case", "intake.report", ... (policy.MARK_*)
    object_id = models.PositiveBigIntegerField()
    run = models.ForeignKey(RetentionRun, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["record_type", "object_id"], name="unique_retained_mark")]


class AccessDigest(models.Model):
    """The weekly digest of unusual access for the Director (issue #10): staff names, counts, case
    references; nothing about survivors."""

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    period_start = models.DateTimeField(_("from"))
    period_end = models.DateTimeField(_("to"))
    findings = models.JSONField(_("findings"), default=dict, blank=True)

    class Meta:
        verbose_name = _("access digest")
        verbose_name_plural = _("access digests")
        ordering = ["-created_at", "-id"]

    @property
    def finding_count(self) -> int:
        return sum(len(self.findings.get(key, [])) for key in ("heavy_readers", "out_of_hours", "break_glass"))

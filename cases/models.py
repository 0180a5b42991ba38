"""The case as opened by a screening decision (issue #3). The case record issue (#4) completes it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from cases.choices import CaseStatus, PersonRole, TeamRole, TraffickingStatus
from utilities.crypto import EncryptedTextField
from utilities.querysets import RestrictedQuerySet


class CaseQuerySet(RestrictedQuerySet):
    def _restrict(self, user, action):
        if user.has_perm("cases.view_all"):
            return self if action in {"view", "change"} else self.none()
        if action in {"view", "change"}:
            return self.filter(models.Q(owner=user) | models.Q(team__user=user)).distinct()
        return self.none()


class Case(models.Model):
    reference = models.CharField(_("reference"), max_length=20, unique=True, null=True, blank=True)
    report = models.ForeignKey("intake.Report", on_delete=models.PROTECT, related_name="cases")
    decision = models.OneToOneField("screening.Decision", on_delete=models.PROTECT, related_name="case")
    status = models.CharField(_("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.ACTIVE, db_index=True)
    trafficking_status = models.CharField(_("trafficking status"), max_length=40, choices=TraffickingStatus.choices)
    deciding_org = models.CharField(_("deciding organisation"), max_length=40)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="owned_cases")
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-opened_at", "-id"]

    def __str__(self) -> str:
        return self.reference or f"#{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("cases:case_detail", args=[self.pk])


class CaseMember(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="team")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="case_memberships")
    role = models.CharField(max_length=20, choices=TeamRole.choices)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "user"], name="unique_case_member")]


class CasePerson(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="persons")
    role = models.CharField(_("role"), max_length=20, choices=PersonRole.choices)
    pseudonym = models.CharField(_("pseudonym"), max_length=60)
    full_name = EncryptedTextField(_("name"), blank=True)
    age = models.PositiveSmallIntegerField(_("age"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=10, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["role", "pseudonym"]

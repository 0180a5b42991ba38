"""Choices of the retention domain (issue #10)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RecordType(models.TextChoices):
    CASE_VICTIMS = "case_victims", _("Closed cases: identities of victims and other people, and case narratives")
    CASE_SUSPECTS = "case_suspects", _("Closed cases: identities of suspects")
    REPORTS_NO_CASE = "reports_no_case", _("Reports closed without a case")
    REFERRAL_THREADS = "referral_threads", _("Message threads of finished referrals")


class RetentionAction(models.TextChoices):
    ANONYMISE = "anonymise", _("Anonymise (statistics kept)")
    DELETE = "delete", _("Delete")


# Deleting is offered only where nothing counted depends on the rows: a case's people and profiles feed every
# statistic, so cases are only ever anonymised (issue #10).
ALLOWED_ACTIONS: dict[str, tuple[str, ...]] = {
    RecordType.CASE_VICTIMS: (RetentionAction.ANONYMISE,),
    RecordType.CASE_SUSPECTS: (RetentionAction.ANONYMISE,),
    RecordType.REPORTS_NO_CASE: (RetentionAction.ANONYMISE, RetentionAction.DELETE),
    RecordType.REFERRAL_THREADS: (RetentionAction.ANONYMISE, RetentionAction.DELETE),
}

# What the period is counted from, shown next to each rule.
PERIOD_FROM: dict[str, object] = {
    RecordType.CASE_VICTIMS: _("after the case was closed"),
    RecordType.CASE_SUSPECTS: _("after the case was closed"),
    RecordType.REPORTS_NO_CASE: _("after the report's last change"),
    RecordType.REFERRAL_THREADS: _("after the referral's last activity"),
}

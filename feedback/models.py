"""Survivor feedback on services received (issue #13, part 3).

A response is anonymous by construction: no link to a person, a case, a referral or the staff member who
keyed it in, no timestamp finer than the month; the respondent is described only by sex, age band and area.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from care.choices import ServiceType
from feedback.choices import AgeBand, Channel, Sex
from utilities.crypto import EncryptedTextField


class SurveyResponse(models.Model):
    service_type = models.CharField(_("service"), max_length=20, choices=ServiceType.choices)
    provider = models.ForeignKey(
        "directory.Agency", verbose_name=_("provider"), on_delete=models.PROTECT, related_name="+"
    )
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction (1-5)"), choices=[(n, str(n)) for n in range(1, 6)])
    respected = models.BooleanField(_("felt treated with respect and dignity"))
    felt_safe = models.BooleanField(_("felt safe"))
    comments = EncryptedTextField(_("comments"), blank=True)
    sex = models.CharField(_("sex"), max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    age_band = models.CharField(_("age band"), max_length=8, choices=AgeBand.choices, default=AgeBand.UNKNOWN)
    area = models.CharField(_("area"), max_length=100, blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    # The month only: an exact time could be matched against who was at the office that day.
    month = models.CharField(_("month"), max_length=7)

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")


class TabletToken(models.Model):
    """A one-time code a staff member generates to open one survey on a tablet. Only its hash is stored."""

    token_hash = models.CharField(max_length=64, unique=True)
    service_type = models.CharField(_("service"), max_length=20, choices=ServiceType.choices)
    provider = models.ForeignKey(
        "directory.Agency", verbose_name=_("provider"), on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField(_("expires at"))
    used = models.BooleanField(_("used"), default=False)

    class Meta:
        verbose_name = _("tablet survey code")
        verbose_name_plural = _("tablet survey codes")

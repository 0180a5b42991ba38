"""The vetted interpreter roster and who was booked where (issue #13, part 2)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from interpreters.choices import BookingKind, VettingStatus, WorkMode
from utilities.crypto import EncryptedTextField


class Interpreter(models.Model):
    name = models.CharField(_("name"), max_length=200)
    contact = EncryptedTextField(_("contact details"), blank=True)
    languages = models.JSONField(_("languages (ISO 639 codes)"), default=list)
    dialects = models.CharField(_("dialects"), max_length=300, blank=True)
    vetting_status = models.CharField(
        _("vetting status"), max_length=12, choices=VettingStatus.choices, default=VettingStatus.PENDING
    )
    vetting_expires = models.DateField(_("vetting expires on"), null=True, blank=True)
    agreement_on_file = models.BooleanField(_("confidentiality agreement on file"), default=False)
    agreement_signed_on = models.DateField(_("confidentiality agreement signed on"), null=True, blank=True)
    availability = models.TextField(_("availability"), blank=True)
    work_mode = models.CharField(
        _("remote or in person"), max_length=12, choices=WorkMode.choices, default=WorkMode.IN_PERSON
    )
    areas = models.CharField(_("areas covered"), max_length=300, blank=True)
    conflicts = EncryptedTextField(
        _("conflicts of interest"), blank=True, help_text=_("Declared links to communities or persons.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("interpreter")
        verbose_name_plural = _("interpreters")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def anonymous_id(self) -> str:
        """What the regional share shows instead of the name (issue #13)."""
        return f"INT-{self.pk:04d}"

    def booking_refusal(self, on: datetime.date | None = None) -> str | None:
        """Why this interpreter may not be booked for ``on``; None when they may."""
        on = on or timezone.localdate()
        if self.vetting_status != VettingStatus.VETTED:
            return _g("%(name)s is not vetted (status: %(status)s).") % {
                "name": self.name,
                "status": self.get_vetting_status_display(),
            }
        if self.vetting_expires is None or self.vetting_expires < on:
            return _g("The vetting of %(name)s has expired or has no expiry date.") % {"name": self.name}
        if not self.agreement_on_file or self.agreement_signed_on is None:
            return _g("%(name)s has no confidentiality agreement on file.") % {"name": self.name}
        return None

    @property
    def bookable(self) -> bool:
        return self.booking_refusal() is None


class Booking(models.Model):
    interpreter = models.ForeignKey(
        Interpreter, verbose_name=_("interpreter"), on_delete=models.PROTECT, related_name="bookings"
    )
    kind = models.CharField(_("for"), max_length=12, choices=BookingKind.choices, default=BookingKind.INTERVIEW)
    purpose = EncryptedTextField(_("purpose"))
    case_reference = models.CharField(_("case reference"), max_length=40, blank=True)
    date = models.DateField(_("date"))
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("booked by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("interpreter booking")
        verbose_name_plural = _("interpreter bookings")
        ordering = ["-date", "-pk"]

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from directory.choices import AgencyKind, OrganisationType
from utilities.querysets import RestrictedQuerySet


class AgencyQuerySet(RestrictedQuerySet):
    def _restrict(self, user, action):
        if action == "view":
            # The list of agencies is the referral map: every signed-in user may read it.
            return self
        if user.has_perm("directory.manage_agencies"):
            return self
        return self.none()


class Agency(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    org_type = models.CharField(_("HTCDS organisation type"), max_length=40, choices=OrganisationType.choices)
    kind = models.CharField(_("kind"), max_length=30, choices=AgencyKind.choices, default=AgencyKind.OTHER)
    is_home_unit = models.BooleanField(
        _("this instance's counter-trafficking unit"),
        default=False,
        help_text=_("Data held by the home unit is 'inside the unit'; every other agency is outside it."),
    )
    country = models.CharField(_("country (ISO 3166-1 alpha-2)"), max_length=2, default="TT")
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    authorised_for_referrals = models.BooleanField(
        _("authorised to receive referrals"), default=False,
        help_text=_("Only authorised service providers appear in referral pathways and can receive referrals."),
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AgencyQuerySet.as_manager()

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_home_unit"], condition=models.Q(is_home_unit=True), name="one_home_unit"
            )
        ]

    def __str__(self) -> str:
        return self.short_name or self.name

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from care.choices import NeedType
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
        _("authorised to receive referrals"),
        default=False,
        help_text=_("Only authorised service providers appear in referral pathways and can receive referrals."),
    )
    # The service directory (issue #5). Eligibility lists are empty for "any".
    serves_adults = models.BooleanField(_("serves adults"), default=True)
    serves_children = models.BooleanField(_("serves children"), default=False)
    sexes = models.JSONField(_("sexes accepted"), default=list, blank=True, help_text=_("Empty: any."))
    nationalities = models.JSONField(
        _("nationalities accepted (ISO 3166-1 alpha-2)"), default=list, blank=True, help_text=_("Empty: any.")
    )
    languages = models.JSONField(_("languages spoken (ISO 639)"), default=list, blank=True)
    opening_hours = models.CharField(_("opening hours"), max_length=300, blank=True)
    open_24_7 = models.BooleanField(_("open 24 hours, 7 days"), default=False)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )  # fmt: skip
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )  # fmt: skip
    # Terms of reference: an encrypted PDF under a generated name (utilities.storage, kind "directory").
    terms_stored_name = models.CharField(max_length=32, blank=True, editable=False)
    terms_size = models.PositiveIntegerField(null=True, blank=True, editable=False)
    terms_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    terms_uploaded_at = models.DateTimeField(null=True, blank=True, editable=False)
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

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    def service_types(self) -> list[str]:
        return [s.service_type for s in self.services.all()]

    def service(self, service_type: str):
        """This agency's Service of ``service_type`` (from the prefetched services when there are), or None."""
        return next((s for s in self.services.all() if s.service_type == service_type), None)


# Services whose free capacity decides whether a provider can take someone now (issue #5): a shelter with
# no free bed is not proposed.
CAPACITY_BOUND = frozenset({NeedType.SHELTER})


class Service(models.Model):
    """One service an agency offers, with its capacity where it has one (shelter beds)."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="services")
    service_type = models.CharField(_("service"), max_length=30, choices=NeedType.choices)
    capacity_total = models.PositiveIntegerField(_("capacity (total)"), null=True, blank=True)
    capacity_free = models.PositiveIntegerField(_("capacity (free)"), null=True, blank=True)
    capacity_updated_at = models.DateTimeField(_("capacity updated at"), null=True, blank=True)
    capacity_updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["agency__name", "service_type"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "service_type"], name="one_service_of_a_type_per_agency"),
            models.CheckConstraint(
                condition=models.Q(capacity_free__isnull=True)
                | models.Q(capacity_total__isnull=True)
                | models.Q(capacity_free__lte=models.F("capacity_total")),
                name="free_capacity_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency} · {self.get_service_type_display()}"

    @property
    def capacity_bound(self) -> bool:
        return self.service_type in CAPACITY_BOUND

    @property
    def has_capacity(self) -> bool:
        return self.capacity_total is not None or self.capacity_free is not None


class Contact(models.Model):
    """A staff contact point of an agency (not survivor data)."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=120)
    role = models.CharField(_("role"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("contact point")
        verbose_name_plural = _("contact points")
        ordering = ["agency__name", "name", "pk"]

    def __str__(self) -> str:
        return self.name


class Pathway(models.Model):
    """The referral pathway of one need: which authorised providers, in which steps (issue #5)."""

    need_type = models.CharField(_("need"), max_length=30, choices=NeedType.choices, unique=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("referral pathway")
        verbose_name_plural = _("referral pathways")
        ordering = ["need_type"]

    def __str__(self) -> str:
        return str(self.get_need_type_display())


class PathwayStep(models.Model):
    """One provider at one step of a pathway. Several providers may share a step (then the nearest comes
    first); steps are numbered 1, 2, 3... without gaps."""

    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="steps")
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="pathway_steps")
    step = models.PositiveSmallIntegerField(_("step"), validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("pathway step")
        verbose_name_plural = _("pathway steps")
        ordering = ["pathway", "step", "agency__name"]
        constraints = [models.UniqueConstraint(fields=["pathway", "agency"], name="provider_once_per_pathway")]

    def __str__(self) -> str:
        return f"{self.pathway} {self.step}: {self.agency}"

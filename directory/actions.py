"""Every change to the agency and service directory (issues #2, #5): atomic, audited in the same
transaction, edits refused when the record changed since the form was loaded."""

from __future__ import annotations

import hashlib
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import log as audit
from directory.models import Agency, Contact, Pathway, PathwayStep, Service
from directory.visibility import can_update_capacity
from geo.assign import refresh_area
from utilities.locking import StaleVersion, check_version
from utilities.storage import store_encrypted

AGENCY_FIELDS = ("name", "short_name", "org_type", "kind", "country", "phone", "email", "address", "is_active")

# What the service-directory edit page changes (the agency's identity stays on the agency form).
PROFILE_FIELDS = (
    "phone", "email", "address", "serves_adults", "serves_children", "sexes", "nationalities", "languages",
    "opening_hours", "open_24_7", "latitude", "longitude",
)  # fmt: skip

CONTACT_FIELDS = ("name", "role", "phone", "email")

TERMS_MAX_BYTES = 10 * 1024 * 1024


def _require(actor, code: str) -> None:
    if actor is not None and not actor.has_perm(code):
        raise PermissionDenied


@transaction.atomic
def create_agency(*, actor, **fields) -> Agency:
    agency = Agency(**fields)
    agency.full_clean()
    agency.save()
    refresh_area(agency)  # the map's stored area, in this transaction (issue #11)
    audit.record("directory.agency_created", actor=actor, obj=agency, changed_fields=fields.keys())
    return agency


@transaction.atomic
def update_agency(agency: Agency, *, actor, version: int, **fields) -> Agency:
    check_version(Agency, agency.pk, version)
    before = audit.snapshot(agency, AGENCY_FIELDS)
    for name, value in fields.items():
        setattr(agency, name, value)
    agency.full_clean()
    agency.version += 1
    agency.save()
    refresh_area(agency, fields)  # the map's stored area, when a coordinate changed (issue #11)
    audit.record(
        "directory.agency_updated", actor=actor, obj=agency, changed_fields=audit.changed(agency, before, AGENCY_FIELDS)
    )
    return agency


# --- the service directory (issue #5) ---------------------------------------------------------------------


def _sync_services(agency: Agency, service_types) -> tuple[list[str], list[str]]:
    wanted = list(dict.fromkeys(service_types))
    current = set(agency.services.values_list("service_type", flat=True))
    added = [s for s in wanted if s not in current]
    removed = sorted(current - set(wanted))
    for service_type in added:
        Service.objects.create(agency=agency, service_type=service_type)
    if removed:
        agency.services.filter(service_type__in=removed).delete()
        # A provider no longer offering a service leaves that service's pathway.
        PathwayStep.objects.filter(agency=agency, pathway__need_type__in=removed).delete()
        for pathway in Pathway.objects.filter(need_type__in=removed):
            _renumber(pathway)
    return added, removed


@transaction.atomic
def update_provider(agency: Agency, *, actor, version: int, services=None, **fields) -> Agency:
    """Change the provider's services, eligibility, languages, hours, contact details and location."""
    _require(actor, "directory.manage_services")
    check_version(Agency, agency.pk, version)
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    before = audit.snapshot(agency, PROFILE_FIELDS)
    for name, value in fields.items():
        setattr(agency, name, value)
    agency.full_clean()
    changed = audit.changed(agency, before, PROFILE_FIELDS)
    details = {}
    if services is not None:
        added, removed = _sync_services(agency, services)
        if added or removed:
            changed.append("services")
            details = {"services_added": added, "services_removed": removed}
    agency.version += 1
    agency.save()
    refresh_area(agency, fields)  # the map's stored area, when a coordinate changed (issue #11)
    audit.record("directory.provider_updated", actor=actor, obj=agency, changed_fields=changed, details=details)
    return agency


@transaction.atomic
def set_referral_authorisation(agency: Agency, *, actor, version: int, authorised: bool) -> Agency:
    """Authorise a provider to receive referrals, or withdraw the authorisation (leaving every pathway)."""
    _require(actor, "directory.manage_services")
    check_version(Agency, agency.pk, version)
    if agency.authorised_for_referrals == authorised:
        return agency
    agency.authorised_for_referrals = authorised
    agency.version += 1
    agency.save(update_fields=["authorised_for_referrals", "version", "updated_at"])
    if not authorised:
        pathways = list(Pathway.objects.filter(steps__agency=agency))
        PathwayStep.objects.filter(agency=agency).delete()
        for pathway in pathways:
            _renumber(pathway)
    audit.record(
        "directory.referral_authorisation_changed", actor=actor, obj=agency,
        changed_fields=["authorised_for_referrals"], details={"authorised": authorised},
    )  # fmt: skip
    return agency


@transaction.atomic
def update_capacity(service: Service, *, actor, version: int, total: int | None, free: int | None) -> Service:
    """Record a service's capacity (beds total and free). The provider's own staff may update theirs."""
    if actor is not None and not can_update_capacity(actor, service.agency):
        raise PermissionDenied
    check_version(Service, service.pk, version)
    if total is not None and free is not None and free > total:
        raise ValidationError({"free": _("There cannot be more free places than places in total.")})
    before = audit.snapshot(service, ("capacity_total", "capacity_free"))
    service.capacity_total, service.capacity_free = total, free
    service.capacity_updated_at = timezone.now()
    service.capacity_updated_by = actor if actor is not None and actor.is_authenticated else None
    service.version += 1
    service.save()
    audit.record(
        "directory.capacity_updated", actor=actor, obj=service.agency,
        changed_fields=audit.changed(service, before, ("capacity_total", "capacity_free")),
        details={"service": service.service_type, "service_id": service.pk},
    )  # fmt: skip
    return service


@transaction.atomic
def add_contact(agency: Agency, *, actor, **fields) -> Contact:
    _require(actor, "directory.manage_services")
    contact = Contact(agency=agency, **fields)
    contact.full_clean()
    contact.save()
    audit.record(
        "directory.contact_added",
        actor=actor,
        obj=agency,
        changed_fields=fields.keys(),
        details={"contact_id": contact.pk},
    )
    return contact


@transaction.atomic
def update_contact(contact: Contact, *, actor, version: int, **fields) -> Contact:
    _require(actor, "directory.manage_services")
    check_version(Contact, contact.pk, version)
    before = audit.snapshot(contact, CONTACT_FIELDS)
    for name, value in fields.items():
        setattr(contact, name, value)
    contact.full_clean()
    contact.version += 1
    contact.save()
    audit.record(
        "directory.contact_updated", actor=actor, obj=contact.agency,
        changed_fields=audit.changed(contact, before, CONTACT_FIELDS), details={"contact_id": contact.pk},
    )  # fmt: skip
    return contact


@transaction.atomic
def remove_contact(contact: Contact, *, actor, version: int) -> None:
    _require(actor, "directory.manage_services")
    check_version(Contact, contact.pk, version)
    agency, pk = contact.agency, contact.pk
    contact.delete()
    audit.record("directory.contact_removed", actor=actor, obj=agency, details={"contact_id": pk})


@transaction.atomic
def upload_terms_of_reference(agency: Agency, *, actor, version: int, data: bytes) -> Agency:
    """Store the provider's terms of reference (a PDF), encrypted, replacing any earlier one."""
    from intake.filetypes import sniff

    _require(actor, "directory.manage_services")
    check_version(Agency, agency.pk, version)
    if len(data) > TERMS_MAX_BYTES:
        raise ValidationError(_("The file is too large."))
    if sniff(data[:64]) != "application/pdf":
        raise ValidationError(_("The terms of reference must be a PDF document."))
    name = uuid.uuid4().hex
    store_encrypted("directory", name, data)
    agency.terms_stored_name, agency.terms_size = name, len(data)
    agency.terms_sha256 = hashlib.sha256(data).hexdigest()
    agency.terms_uploaded_at = timezone.now()
    agency.version += 1
    agency.save()
    audit.record(
        "directory.terms_uploaded", actor=actor, obj=agency, changed_fields=["terms_of_reference"],
        details={"sha256": agency.terms_sha256, "size": agency.terms_size},
    )  # fmt: skip
    return agency


# --- referral pathways ------------------------------------------------------------------------------------


def _renumber(pathway: Pathway) -> None:
    """Close gaps: steps 1, 3, 4 become 1, 2, 3 (providers sharing a step keep sharing it)."""
    numbers = sorted(set(pathway.steps.values_list("step", flat=True)))
    mapping = {old: new for new, old in enumerate(numbers, start=1)}
    for entry in pathway.steps.all():
        if entry.step != mapping[entry.step]:
            entry.step = mapping[entry.step]
            entry.save(update_fields=["step"])


def _touch(pathway: Pathway) -> None:
    pathway.version += 1
    pathway.save()


@transaction.atomic
def add_pathway_step(need_type: str, *, actor, version: int, agency: Agency, step: int | None = None) -> PathwayStep:
    """Put an authorised provider offering the need's service into the need's pathway, at ``step`` (default: a
    new last step). The pathway is created with its first provider (a form for a new pathway carries version 1)."""
    _require(actor, "directory.manage_services")
    pathway, created = Pathway.objects.get_or_create(need_type=need_type)
    if not created:
        check_version(Pathway, pathway.pk, version)
    elif int(version) != 1:
        raise StaleVersion()
    if not (agency.authorised_for_referrals and agency.is_active):
        raise ValidationError(_("Only active providers authorised for referrals can be in a pathway."))
    if not agency.services.filter(service_type=pathway.need_type).exists():
        raise ValidationError(_("%(agency)s does not offer this service.") % {"agency": agency})
    if pathway.steps.filter(agency=agency).exists():
        raise ValidationError(_("%(agency)s is already in this pathway.") % {"agency": agency})
    last = max(pathway.steps.values_list("step", flat=True), default=0)
    step = last + 1 if step is None else max(1, min(int(step), last + 1))
    entry = PathwayStep.objects.create(pathway=pathway, agency=agency, step=step)
    _touch(pathway)
    audit.record(
        "directory.pathway_step_added", actor=actor, obj=pathway,
        details={"need_type": pathway.need_type, "agency_id": agency.pk, "step": step},
    )  # fmt: skip
    return entry


@transaction.atomic
def move_pathway_step(entry: PathwayStep, *, actor, version: int, direction: str) -> PathwayStep:
    """Move a provider one step earlier ("up") or later ("down"). Moving onto a step shared with others
    joins them; moving past the last step alone changes nothing."""
    _require(actor, "directory.manage_services")
    pathway = entry.pathway
    check_version(Pathway, pathway.pk, version)
    if direction not in {"up", "down"}:
        raise ValueError(direction)
    alone = not pathway.steps.filter(step=entry.step).exclude(pk=entry.pk).exists()
    if direction == "up":
        # Alone on its step: it swaps with the step before; sharing a step: it gets a step of its own before.
        if entry.step == 1 and alone:
            return entry
        if alone:
            pathway.steps.filter(step=entry.step - 1).update(step=entry.step)
            entry.step -= 1
        else:
            pathway.steps.filter(step__gte=entry.step).exclude(pk=entry.pk).update(step=F("step") + 1)
    else:
        last = max(pathway.steps.values_list("step", flat=True))
        if entry.step == last and alone:
            return entry
        if alone:
            pathway.steps.filter(step=entry.step + 1).update(step=entry.step)
            entry.step += 1
        else:
            pathway.steps.filter(step__gt=entry.step).update(step=F("step") + 1)
            entry.step += 1
    entry.save(update_fields=["step"])
    _renumber(pathway)
    entry.refresh_from_db()
    _touch(pathway)
    audit.record(
        "directory.pathway_step_moved", actor=actor, obj=pathway,
        details={"need_type": pathway.need_type, "agency_id": entry.agency_id, "direction": direction, "step": entry.step},
    )  # fmt: skip
    return entry


@transaction.atomic
def remove_pathway_step(entry: PathwayStep, *, actor, version: int) -> None:
    _require(actor, "directory.manage_services")
    pathway = entry.pathway
    check_version(Pathway, pathway.pk, version)
    agency_id = entry.agency_id
    entry.delete()
    _renumber(pathway)
    _touch(pathway)
    audit.record(
        "directory.pathway_step_removed", actor=actor, obj=pathway,
        details={"need_type": pathway.need_type, "agency_id": agency_id},
    )  # fmt: skip

from __future__ import annotations

from django.db import transaction

from audit import log as audit
from directory.models import Agency
from utilities.locking import check_version

AGENCY_FIELDS = ("name", "short_name", "org_type", "kind", "country", "phone", "email", "address", "is_active")


@transaction.atomic
def create_agency(*, actor, **fields) -> Agency:
    agency = Agency(**fields)
    agency.full_clean()
    agency.save()
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
    audit.record("directory.agency_updated", actor=actor, obj=agency, changed_fields=audit.changed(agency, before, AGENCY_FIELDS))
    return agency

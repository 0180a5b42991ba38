"""Who may see where a provider is (issue #5).

The directory is readable by every signed-in user, but a shelter's address and map location could lead a
trafficker to the people it hides. They are shown only to unit staff who place people there (holders of
``directory.manage_services`` or ``referrals.send``, both effective only inside the home unit) and to the
shelter's own staff. Everyone else sees the organisation, its phone and its hours. Every page, export,
print-out and map asks this one function.
"""

from __future__ import annotations

from care.choices import NeedType
from directory.choices import AgencyKind


def location_is_sensitive(agency) -> bool:
    """A shelter's whereabouts are sensitive: an agency of kind shelter, or one offering shelter."""
    return agency.kind == AgencyKind.SHELTER or NeedType.SHELTER in agency.service_types()


def can_see_location(user, agency) -> bool:
    """May ``user`` see ``agency``'s street address and map location?"""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if not location_is_sensitive(agency):
        return True
    if user.has_perm("directory.manage_services") or user.has_perm("referrals.send"):
        return True
    return bool(user.agency_id) and user.agency_id == agency.pk


def can_update_capacity(user, agency) -> bool:
    """Unit staff with ``directory.manage_services`` update any provider's capacity; a provider's own staff
    (role service_provider_staff) update only their own agency's."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.has_perm("directory.manage_services"):
        return True
    return user.agency_id == agency.pk and "service_provider_staff" in user.role_codes

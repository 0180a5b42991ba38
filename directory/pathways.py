"""Which authorised providers fit a need (issue #5). Interface used by referrals: ``propose_providers``.

Order: the need's referral pathway step by step; within a step, providers speaking one of the person's
languages first, then the nearest (when ``near`` is given), then by name. Providers offering the service but
not in the pathway come after every pathway step, marked so. Providers the person is not eligible for (age,
sex, nationality) and capacity-bound services with no free place (a shelter with no bed) are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from care.choices import NeedType
from directory.isocodes import language_code, language_name

EARTH_RADIUS_KM = 6371.0088
UNKNOWN_SEXES = {"", "unknown"}


@dataclass
class ProviderProposal:
    agency: object
    reasons: list = field(default_factory=list)
    distance_km: float | None = None
    # Pathway step (1, 2...), None when the provider offers the service but is not in the pathway.
    step: int | None = None
    speaks_language: bool = False


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (float(a[0]), float(a[1]), float(b[0]), float(b[1])))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _person(case_person):
    """Accept a CasePerson (``.person``) or a Person."""
    if case_person is None:
        return None
    return getattr(case_person, "person", None) or case_person


def _need_label(need_type: str) -> str:
    try:
        return str(NeedType(need_type).label).lower()
    except ValueError:
        return need_type


def _distance_text(km: float) -> str:
    if km < 10:
        return _("%(km)s km away") % {"km": f"{km:.1f}"}
    return _("%(km)s km away") % {"km": f"{km:.0f}"}


def _capacity_text(service, need_type: str) -> str:
    free = service.capacity_free
    if need_type == NeedType.SHELTER:
        return ngettext("%(n)d bed free", "%(n)d beds free", free) % {"n": free}
    return ngettext("%(n)d place free", "%(n)d places free", free) % {"n": free}


def propose_providers(
    need_type: str, *, case_person=None, near: tuple[float, float] | None = None, limit: int = 5
) -> list[ProviderProposal]:
    """Authorised providers for ``need_type`` (care.choices.NeedType values), in pathway order, filtered by
    the person's eligibility (age, sex, nationality), language and free capacity, nearest first within a step."""
    from directory.models import CAPACITY_BOUND, Agency, PathwayStep

    person = _person(case_person)
    age = person.age_on(timezone.localdate()) if person is not None else None
    sex = (getattr(person, "sex", "") or "") if person is not None else ""
    nationalities = {c.upper() for c in (getattr(person, "nationalities", None) or [])}
    languages = [c for c in (language_code(code) for code in (getattr(person, "languages", None) or [])) if c]
    need = _need_label(need_type)
    steps = dict(PathwayStep.objects.filter(pathway__need_type=need_type).values_list("agency_id", "step"))

    providers = (
        Agency.objects.filter(is_active=True, authorised_for_referrals=True, services__service_type=need_type)
        .prefetch_related("services")
        .distinct()
    )
    proposals = []
    for agency in providers:
        service = agency.service(need_type)
        step = steps.get(agency.pk)
        reasons = []
        if step is not None:
            reasons.append(_("in the pathway for %(need)s, step %(step)d") % {"need": need, "step": step})
        else:
            reasons.append(_("offers %(need)s but is not in the pathway") % {"need": need})

        # Eligibility: age decides child or adult; an unknown age filters nothing but is said.
        if age is not None:
            child = age < 18
            if child and not agency.serves_children or not child and not agency.serves_adults:
                continue
            reasons.append(_("takes children") if child else _("takes adults"))
        elif person is not None:
            reasons.append(_("age not recorded: check the provider takes this person"))
        if agency.sexes and sex not in UNKNOWN_SEXES and sex not in agency.sexes:
            continue
        accepted = {c.upper() for c in agency.nationalities or []}
        if accepted and nationalities:
            matching = sorted(accepted & nationalities)
            if not matching:
                continue
            reasons.append(_("accepts nationals of %(codes)s") % {"codes": ", ".join(matching)})

        # Capacity: a capacity-bound service with no free place cannot take anyone now.
        if need_type in CAPACITY_BOUND and service is not None:
            if service.capacity_free == 0:
                continue
            if service.capacity_free is None:
                reasons.append(_("free capacity not reported"))
        if service is not None and service.capacity_free is not None:
            reasons.append(_capacity_text(service, need_type))

        spoken = {language_code(c) for c in agency.languages or []}
        common = [c for c in languages if c in spoken]
        if common:
            reasons.append(_("speaks %(languages)s") % {"languages": ", ".join(language_name(c) for c in common)})
        elif languages:
            reasons.append(_("does not list the person's languages: an interpreter may be needed"))

        distance = None
        if near is not None and agency.has_location:
            distance = haversine_km(near, (agency.latitude, agency.longitude))
            reasons.append(_distance_text(distance))
        proposals.append(ProviderProposal(agency, reasons, distance, step, bool(common)))

    def order(p: ProviderProposal):
        return (
            p.step is None,
            p.step or 0,
            not p.speaks_language,
            p.distance_km is None,
            p.distance_km or 0.0,
            p.agency.name.lower(),
        )

    proposals.sort(key=order)
    return proposals[:limit] if limit else proposals

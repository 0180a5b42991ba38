"""Fictional service directory for the demo agencies (issue #5): services, eligibility, languages, hours,
contact points, capacity, map locations and referral pathways. Coordinates are invented points on Trinidad
(lat 10.0-10.85, lon -61.9 to -60.9) and Tobago (around 11.2, -60.7); phone numbers use the 555 range.

``seed_directory()`` is idempotent: an agency that already lists services, a service whose capacity was
reported and a pathway that exists are left as they are (they may have been edited since).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from care.choices import NeedType as N
from directory import actions
from directory.models import Agency, Pathway

WEEKDAYS = "Mon-Fri 08:00-16:00"

# short name: profile. "capacity" is {service: (total, free)}; "contacts" are (name, role, phone, email).
PROVIDERS: dict[str, dict] = {
    "Safe Harbour": {
        "services": [N.SHELTER, N.FOOD_NFI, N.MHPSS],
        "adults": True,
        "children": False,
        "sexes": ["female"],
        "languages": ["en", "es"],
        "hours": "",
        "open_24_7": True,
        "at": ("10.671200", "-61.509800"),
        "phone": "+1 868 555 0110",
        "address": "(fictional) 14 Harbour Lane, Port of Spain",
        "capacity": {N.SHELTER: (12, 3)},
        "contacts": [
            ("Sharon Alexander", "Shelter Coordinator", "+1 868 555 0111", "coordinator@safeharbour.example.org")
        ],
    },
    "Blue Basin": {
        "services": [N.SHELTER, N.FOOD_NFI, N.CHILD_PROTECTION],
        "adults": True,
        "children": True,
        "sexes": ["female"],
        "languages": ["en", "es", "fr"],
        "hours": "",
        "open_24_7": True,
        "at": ("10.712400", "-61.553100"),
        "phone": "+1 868 555 0120",
        "address": "(fictional) 3 Basin Road, Diego Martin",
        "capacity": {N.SHELTER: (8, 2)},
        "contacts": [("Beverly Sealy", "Refuge Manager", "+1 868 555 0121", "manager@bluebasin.example.org")],
    },
    "CATT": {
        "services": [N.CHILD_PROTECTION, N.SHELTER, N.MHPSS, N.FAMILY_TRACING],
        "adults": False,
        "children": True,
        "sexes": [],
        "languages": ["en", "es"],
        "hours": "Hotline always open; offices " + WEEKDAYS,
        "open_24_7": True,
        "at": ("10.654300", "-61.513900"),
        "phone": "+1 868 555 0130",
        "address": "(fictional) Children's Authority office, Port of Spain",
        "capacity": {N.SHELTER: (20, 5)},
        "contacts": [("Kevin Noel", "Child Protection Officer", "+1 868 555 0131", "duty@catt.example.org")],
    },
    "NWRHA": {
        "services": [N.MEDICAL, N.SRH, N.MHPSS],
        "adults": True,
        "children": True,
        "sexes": [],
        "languages": ["en", "es"],
        "hours": "Emergency department always open; clinics " + WEEKDAYS,
        "open_24_7": True,
        "at": ("10.659800", "-61.512600"),
        "phone": "+1 868 555 0140",
        "address": "(fictional) General Hospital annex, Port of Spain",
        "capacity": {},
        "contacts": [("Dr. Asha Persad", "Medical Social Worker", "+1 868 555 0141", "socialwork@nwrha.example.org")],
    },
    "Legal Aid": {
        "services": [N.LEGAL_AID, N.DOCUMENTATION],
        "adults": True,
        "children": True,
        "sexes": [],
        "languages": ["en"],
        "hours": WEEKDAYS,
        "open_24_7": False,
        "at": ("10.652100", "-61.507300"),
        "phone": "+1 868 555 0150",
        "address": "(fictional) 22 Justice Street, Port of Spain",
        "capacity": {},
        "contacts": [("Marlon Hosein", "Attorney-at-law", "+1 868 555 0151", "intake@legalaid.example.org")],
    },
    "Pathways": {
        "services": [N.MHPSS, N.INTERPRETATION, N.VOCATIONAL],
        "adults": True,
        "children": True,
        "sexes": [],
        "languages": ["en", "es"],
        "hours": "Mon-Sat 09:00-17:00",
        "open_24_7": False,
        "at": ("11.182700", "-60.738400"),
        "phone": "+1 868 555 0160",
        "address": "(fictional) 5 Bay Road, Scarborough, Tobago",
        "capacity": {},
        "contacts": [("Lisa Mendez", "Counsellor", "+1 868 555 0161", "counselling@pathways.example.org")],
    },
    "SJCO": {
        "services": [N.FOOD_NFI, N.INTERPRETATION, N.EDUCATION, N.VOCATIONAL],
        "adults": True,
        "children": True,
        "sexes": [],
        "languages": ["en", "es"],
        "hours": "Mon-Fri 09:00-18:00",
        "open_24_7": False,
        "at": ("10.516800", "-61.411200"),
        "phone": "+1 868 555 0170",
        "address": "(fictional) Parish hall, Chaguanas",
        "capacity": {},
        "contacts": [("Fr. Joseph Rivas", "Outreach Coordinator", "+1 868 555 0171", "outreach@sjco.example.org")],
    },
    "IOM": {
        "services": [N.REPATRIATION, N.FAMILY_TRACING, N.INTERPRETATION, N.MEDICAL, N.FOOD_NFI],
        "adults": True,
        "children": True,
        "sexes": [],
        "languages": ["en", "es", "fr", "pt"],
        "hours": WEEKDAYS,
        "open_24_7": False,
        "at": ("10.663500", "-61.521700"),
        "phone": "+1 868 555 0180",
        "address": "(fictional) IOM office, Port of Spain",
        "capacity": {},
        "contacts": [("Ana Gomes", "Protection Officer", "+1 868 555 0181", "protection@iom.example.org")],
    },
    "UNHCR": {
        "services": [N.LEGAL_AID, N.DOCUMENTATION, N.INTERPRETATION],
        "adults": True,
        "children": True,
        "sexes": [],
        "languages": ["en", "es"],
        "hours": WEEKDAYS,
        "open_24_7": False,
        "at": ("10.661900", "-61.519000"),
        "phone": "+1 868 555 0190",
        "address": "(fictional) UN House, Port of Spain",
        "capacity": {},
        "contacts": [],
    },
    "MSDFS": {
        "services": [N.FOOD_NFI, N.LIVELIHOOD],
        "adults": True,
        "children": True,
        "sexes": [],
        "languages": ["en"],
        "hours": WEEKDAYS,
        "open_24_7": False,
        "at": ("10.279800", "-61.463400"),
        "phone": "+1 868 555 0200",
        "address": "(fictional) Social services office, San Fernando",
        "capacity": {},
        "contacts": [],
    },
}

AUTHORISED = ["Safe Harbour", "Blue Basin", "NWRHA", "Pathways", "SJCO", "IOM", "CATT", "Legal Aid"]

# need: steps, each a list of short names sharing the step.
PATHWAYS: dict[str, list[list[str]]] = {
    N.SHELTER: [["Safe Harbour", "Blue Basin"], ["CATT"]],
    N.MEDICAL: [["NWRHA"], ["IOM"]],
    N.MHPSS: [["Pathways"], ["NWRHA"], ["Safe Harbour"]],
    N.LEGAL_AID: [["Legal Aid"]],
    N.INTERPRETATION: [["IOM"], ["SJCO", "Pathways"]],
    N.CHILD_PROTECTION: [["CATT"], ["Blue Basin"]],
    N.REPATRIATION: [["IOM"]],
}


def _fresh(agency: Agency) -> Agency:
    return Agency.objects.get(pk=agency.pk)


@transaction.atomic
def seed_directory() -> int:
    """Fill the demo agencies' directory entries and pathways; returns how many records it changed."""
    agencies = {a.short_name: a for a in Agency.objects.filter(short_name__in=list(PROVIDERS))}
    changed = 0
    for short, p in PROVIDERS.items():
        agency = agencies.get(short)
        if agency is None or agency.services.exists():
            continue
        agency = actions.update_provider(
            agency, actor=None, version=agency.version, services=p["services"],
            serves_adults=p["adults"], serves_children=p["children"], sexes=p["sexes"], nationalities=[],
            languages=p["languages"], opening_hours=p["hours"], open_24_7=p["open_24_7"],
            latitude=Decimal(p["at"][0]), longitude=Decimal(p["at"][1]), phone=p["phone"],
            email=agency.email, address=p["address"],
        )  # fmt: skip
        changed += 1
        if short in AUTHORISED:
            actions.set_referral_authorisation(
                _fresh(agency), actor=None, version=_fresh(agency).version, authorised=True
            )
        for service in agency.services.filter(service_type__in=list(p["capacity"]), capacity_updated_at__isnull=True):
            total, free = p["capacity"][service.service_type]
            actions.update_capacity(service, actor=None, version=service.version, total=total, free=free)
        if not agency.contacts.exists():
            for name, role, phone, email in p["contacts"]:
                actions.add_contact(agency, actor=None, name=name, role=role, phone=phone, email=email)
    agencies = {a.short_name: a for a in Agency.objects.filter(short_name__in=list(PROVIDERS))}
    for need, steps in PATHWAYS.items():
        if Pathway.objects.filter(need_type=need).exists():
            continue
        for number, names in enumerate(steps, start=1):
            for short in names:
                agency = agencies.get(short)
                if agency is None or not agency.authorised_for_referrals or need not in agency.service_types():
                    continue
                pathway = Pathway.objects.filter(need_type=need).first()
                actions.add_pathway_step(
                    need, actor=None, version=pathway.version if pathway else 1, agency=agency, step=number
                )
                changed += 1
    return changed

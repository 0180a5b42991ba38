"""Constructed case records with chosen facts, for statistics tests (tests/factories.py) and the demo's
history (beacon/demo_stats.py), issue #8.

The route from report to case is tested in tests/test_intake.py; statistics need dozens of victims with
chosen sex, age, nationality and forms, so these builders write the same rows the actions write, directly,
without the screening walk. Names are encrypted and indexed like any other person's. Never used on live data.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time

from django.db import models
from django.utils import timezone

from cases import search
from cases.choices import CaseStatus, PersonRole, TeamRole, TraffickingStatus
from cases.models import Case, CaseMember, CasePerson, Person, Place, SuspectProfile, VictimProfile
from geo.assign import refresh_area
from intake.models import Report
from screening.models import Decision, Screening, ScreeningInstrument

_serial = itertools.count(1)


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(10, 0)))


def make_case(
    *,
    owner,
    opened_on: date | None = None,
    status: str = CaseStatus.ACTIVE,
    trafficking_status: str = TraffickingStatus.ACTUAL,
    channel: str = "hotline",
    narrative: str = "Constructed record.",
) -> Case:
    """A case with its report, screening and decision, opened on ``opened_on``."""
    opened_on = opened_on or timezone.localdate()
    n = next(_serial)
    report = Report.objects.create(
        channel=channel,
        received_at=_aware(opened_on),
        narrative=narrative,
        created_by=owner,
        status="case_opened",
    )
    # The current checklist (a data migration installs it; a flushed test database may have lost it).
    instrument = ScreeningInstrument.objects.filter(is_current=True).first() or ScreeningInstrument.objects.create(
        version=(ScreeningInstrument.objects.aggregate(m=models.Max("version"))["m"] or 0) + 1,
        name="Constructed records",
        definition={},
        is_current=True,
    )
    screening = Screening.objects.create(
        report=report, instrument=instrument, person_label=f"Victim {n}", recommendation="victim", screened_by=owner
    )
    decision = Decision.objects.create(
        report=report,
        screening=screening,
        outcome="victim_identified",
        recommendation="victim",
        deciding_org="Police",
        decided_by=owner,
    )
    case = Case.objects.create(
        report=report, decision=decision, status=status, trafficking_status=trafficking_status, deciding_org="Police", owner=owner
    )
    Case.objects.filter(pk=case.pk).update(opened_at=_aware(opened_on), reference=f"C-{opened_on:%Y}-{case.pk:05d}")
    case.refresh_from_db()
    CaseMember.objects.create(case=case, user=owner, role=TeamRole.OWNER)
    return case


def make_person(*, sex: str = "unknown", birth_year: int | None = None, nationalities=(), given_names: str = "", family_names: str = "", estimated_age=None, age_estimated_on=None, **extra) -> Person:
    person = Person(
        sex=sex,
        birth_year=birth_year,
        nationalities=list(nationalities),
        given_names=given_names or f"Given{next(_serial)}",
        family_names=family_names or "Constructed",
        estimated_age=estimated_age,
        age_estimated_on=age_estimated_on,
        **extra,
    )
    person.save()
    search.index_person(person)
    return person


def add_victim(
    case: Case,
    *,
    sex: str = "female",
    birth_year: int | None = None,
    age: int | None = None,
    nationalities=("TT",),
    types=("SexualExploitation",),
    registered_on: date | None = None,
    status: str = TraffickingStatus.ACTUAL,
    recruitment=(),
    person: Person | None = None,
    **person_fields,
) -> CasePerson:
    """A victim on ``case``. ``age`` (at registration) sets the birth year when ``birth_year`` is not given."""
    registered_on = registered_on or case.opened_at.date()
    if birth_year is None and age is not None:
        birth_year = registered_on.year - age
    person = person or make_person(sex=sex, birth_year=birth_year, nationalities=nationalities, **person_fields)
    link = CasePerson.objects.create(case=case, person=person, role=PersonRole.VICTIM, pseudonym=f"Victim {next(_serial)}")
    VictimProfile.objects.create(
        case_person=link,
        trafficking_status=status,
        registered_on=registered_on,
        exploitation_types=list(types),
        recruitment_methods=list(recruitment),
    )
    return link


def add_suspect(
    case: Case, *, sex: str = "male", birth_year: int | None = None, nationalities=("TT",), recorded_on: date | None = None, **person_fields
) -> CasePerson:
    """A suspect on ``case``, recorded on ``recorded_on`` (default: the day the case opened)."""
    person = make_person(sex=sex, birth_year=birth_year, nationalities=nationalities, **person_fields)
    link = CasePerson.objects.create(case=case, person=person, role=PersonRole.SUSPECT, pseudonym=f"Suspect {next(_serial)}")
    CasePerson.objects.filter(pk=link.pk).update(created_at=_aware(recorded_on or case.opened_at.date()))
    SuspectProfile.objects.create(case_person=link)
    return link


def add_place(case: Case, *, kind: str = "Exploitation", latitude=None, longitude=None, country: str = "TT") -> Place:
    place = Place.objects.create(case=case, kind=kind, latitude=latitude, longitude=longitude, country=country)
    refresh_area(place)
    return place

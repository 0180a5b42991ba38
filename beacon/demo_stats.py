"""Demo history for statistics (issue #8): five years of fictional closed and active cases with victims of
varied sex, age, nationality and forms of exploitation, located in the demo areas, with suspects, charges,
convictions and services, plus illustrative population figures. A recent rise of labour exploitation in
one area gives the "emerging patterns" something to find. Idempotent: nothing is added twice."""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.utils import timezone

MARKER = "Demo history record (fictional)."
# Narratives are encrypted (no lookup by value): the history's reports carry this plain marker instead.
HISTORY_SOURCE = "Demo history (fictional)"

# Fictional places: town centres of the demo areas.
TOWNS = [
    ("10.6549", "-61.5019"),  # Port of Spain
    ("10.2797", "-61.4589"),  # San Fernando
    ("10.5167", "-61.4111"),  # Chaguanas
    ("10.6370", "-61.2820"),  # Arima
    ("10.1742", "-61.6842"),  # Point Fortin
    ("10.5869", "-61.1306"),  # Sangre Grande
    ("10.4225", "-61.4592"),  # Couva
    ("10.6522", "-61.3886"),  # Tunapuna
    ("11.1833", "-60.7333"),  # Scarborough
]
NATIONALITIES = ["VE"] * 9 + ["TT"] * 4 + ["GY"] * 3 + ["CO"] * 2 + ["DO", "CN", "JM", "NG"]
FORMS = [["SexualExploitation"]] * 6 + [["ForcedLabour"]] * 4 + [["ChildLabour"], ["ForcedBegging"], ["ForcedLabour", "SexualExploitation"]]
RECRUITMENT = [["SocialMedia"], ["JobOffer"], ["FamilyMember"], [], []]

# Illustrative population figures (not official statistics).
POPULATION = {("total", "total"): 1_368_000, ("female", "total"): 688_000, ("male", "total"): 680_000,
              ("total", "0-17"): 301_000, ("total", "18+"): 1_067_000, ("female", "0-17"): 148_000,
              ("female", "18+"): 540_000, ("male", "0-17"): 153_000, ("male", "18+"): 527_000}  # fmt: skip


def seed_statistics(users: dict) -> int:
    from beacon import synthetic as s
    from care.models import CarePlan, ServiceDelivery
    from geo.assign import assign_all
    from intake.models import Report
    from investigations.models import Charge
    from stats.models import PopulationFigure

    created = 0
    for year in range(2021, timezone.localdate().year + 1):
        for (sex, age), value in POPULATION.items():
            _obj, new = PopulationFigure.objects.get_or_create(
                year=year, sex=sex, age=age, defaults={"population": value, "source": "Illustrative demo figure, not official"}
            )
            created += new
    if Report.objects.filter(referring_other=HISTORY_SOURCE).exists():
        return created
    rng = random.Random(2026)  # noqa: S311  # nosec B311 - fictional demo data, not security
    owner, care = users["investigator"], users["care"]
    today = timezone.localdate()
    start = date(today.year - 5, 1, 1)
    span = (today - start).days - 120
    for n in range(70):
        opened = start + timedelta(days=rng.randrange(span))
        recent_rise = False
        if n >= 60:  # the rise: labour exploitation in Couva in the last three months
            opened = today - timedelta(days=rng.randrange(10, 85))
            recent_rise = True
        status = "Closed" if opened < today - timedelta(days=540) else "Active"
        case = s.make_case(owner=owner, opened_on=opened, status=status, narrative=MARKER)
        Report.objects.filter(pk=case.report_id).update(referring_other=HISTORY_SOURCE)
        lat, lon = TOWNS[6] if recent_rise else rng.choice(TOWNS)
        s.add_place(case, latitude=lat, longitude=lon)
        for _v in range(rng.choice([1, 1, 1, 2, 2, 3, 4])):
            types = ["ForcedLabour"] if recent_rise else rng.choice(FORMS)
            child = rng.random() < 0.22
            victim = s.add_victim(
                case,
                sex=rng.choice(["female"] * 6 + ["male"] * 4 if not recent_rise else ["male"] * 3 + ["female"]),
                age=rng.randrange(12, 18) if child else rng.randrange(18, 46),
                nationalities=[rng.choice(NATIONALITIES)],
                types=types,
                registered_on=opened,
                status="ActualVictimOfTrafficking" if rng.random() < 0.85 else "PossibleVictimOfTrafficking",
                recruitment=rng.choice(RECRUITMENT),
                given_names="Demo",
                family_names=f"History {n}",
            )
            for _k in range(rng.randrange(0, 4)):
                day = min(opened + timedelta(days=rng.randrange(1, 200)), today)
                ServiceDelivery.objects.create(
                    case_person=victim, service_type=rng.choice(["counselling", "counselling", "medical", "legal_aid", "direct_assistance"]),
                    delivered_on=day, provider_other="Demo provider", recorded_by=care,
                )  # fmt: skip
            if status == "Closed" and rng.random() < 0.5:
                CarePlan.objects.create(
                    case_person=victim, kind="transition", plan_type="Health", objectives="Demo plan.",
                    start_on=opened + timedelta(days=30), actual_end_date=min(opened + timedelta(days=300), today), recorded_by=care,
                )  # fmt: skip
            created += 1
        if rng.random() < 0.6:
            suspect = s.add_suspect(case, sex=rng.choice(["male", "male", "female"]), birth_year=rng.randrange(1960, 2000),
                                    nationalities=[rng.choice(NATIONALITIES)], given_names="Demo", family_names=f"Suspect {n}")  # fmt: skip
            if rng.random() < 0.6:
                laid = min(opened + timedelta(days=rng.randrange(20, 200)), today)
                convicted = laid < today - timedelta(days=400) and rng.random() < 0.5
                Charge.objects.create(
                    case=case, suspect=suspect, offence="Trafficking in persons", statute="Trafficking in Persons Act 2011, s.16",
                    laid_on=laid, outcome="conviction" if convicted else "pending",
                    outcome_on=laid + timedelta(days=300) if convicted else None,
                    sentence="Demo sentence: 12 years" if convicted else "", created_by=owner,
                )  # fmt: skip
    assign_all()
    return created

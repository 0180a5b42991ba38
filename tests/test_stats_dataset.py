"""The counting engine behind every statistic (issue #8), on constructed data with known answers."""

from __future__ import annotations

from datetime import date

from care.models import CarePlan, ServiceDelivery
from investigations.models import Charge
from stats import dataset
from tests import factories as f
from tests.base import BeaconTestCase


def as_dict(rows, *dims):
    return {tuple(r[d] for d in dims): r["n"] for r in rows}


class CountingTests(BeaconTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        owner = cls.users["investigator"]
        # 2025: three victims in one case (two girls, one adult woman), one man in another case.
        cls.c1 = f.make_case(owner=owner, opened_on=date(2025, 3, 10))
        f.add_victim(cls.c1, sex="female", age=15, nationalities=["VE"], types=["SexualExploitation"])
        f.add_victim(cls.c1, sex="female", age=16, nationalities=["VE", "CO"], types=["SexualExploitation"])
        f.add_victim(cls.c1, sex="female", age=30, nationalities=["TT"], types=["ForcedLabour", "SexualExploitation"])
        cls.c2 = f.make_case(owner=owner, opened_on=date(2025, 8, 1))
        cls.man = f.add_victim(cls.c2, sex="male", age=40, nationalities=["GY"], types=["ForcedLabour"])
        # The same man again in a 2026 case: one person, counted once in a year, once per year.
        cls.c3 = f.make_case(owner=owner, opened_on=date(2026, 1, 5))
        f.add_victim(cls.c3, person=cls.man.person, registered_on=date(2026, 1, 5), types=["ForcedLabour"])
        # A victim with no known age and a possible (not confirmed) status.
        f.add_victim(cls.c3, sex="unknown", nationalities=[], types=[], status="PossibleVictimOfTrafficking")
        # Suspects: two, one charged in 2025 and convicted in 2026.
        cls.s1 = f.add_suspect(cls.c1, sex="male", birth_year=1980)
        cls.s2 = f.add_suspect(cls.c2, sex="female", birth_year=1990)
        Charge.objects.create(
            case=cls.c1, suspect=cls.s1, offence="Trafficking", statute="TIP Act s.16", laid_on=date(2025, 5, 1),
            outcome="conviction", outcome_on=date(2026, 2, 1), created_by=owner,
        )  # fmt: skip
        Charge.objects.create(case=cls.c1, suspect=cls.s1, offence="Harbouring", statute="s.17", laid_on=date(2025, 6, 1), created_by=owner)

    def test_victims_by_sex_and_age_in_a_year(self):
        rows = dataset.count("victims", ["sex", "age_broad"], date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
        self.assertEqual(as_dict(rows, "sex", "age_broad"), {("female", "0-17"): 2, ("female", "18+"): 1, ("male", "18+"): 1})

    def test_a_person_in_two_cases_is_counted_once_per_group(self):
        self.assertEqual(dataset.total("victims"), 6 - 1)  # six links, five people
        by_year = as_dict(dataset.count("victims", ["year"]), "year")
        self.assertEqual(by_year, {(2025,): 4, (2026,): 2})

    def test_forms_of_exploitation_follow_glotip(self):
        rows = dataset.count("victims", ["form"], date_to=date(2025, 12, 31))
        # The woman exploited both sexually and for labour counts under "other forms" (mixed).
        self.assertEqual(as_dict(rows, "form"), {("sexual",): 2, ("other",): 1, ("labour",): 1})

    def test_nationality_is_the_first_citizenship(self):
        rows = dataset.count("victims", ["nationality"], date_to=date(2025, 12, 31))
        self.assertEqual(as_dict(rows, "nationality"), {("VE",): 2, ("TT",): 1, ("GY",): 1})

    def test_filters_and_unknowns(self):
        self.assertEqual(dataset.total("victims", {"status": ["ActualVictimOfTrafficking"]}), 4)
        rows = dataset.count("victims", ["age_broad"], {"sex": ["unknown"]})
        self.assertEqual(as_dict(rows, "age_broad"), {("unknown",): 1})
        self.assertEqual(dataset.total("victims", {"age_broad": ["unknown"]}), 1)

    def test_finer_age_bands(self):
        rows = dataset.count("victims", ["age_band"], date_to=date(2025, 12, 31))
        self.assertEqual(as_dict(rows, "age_band"), {("9-17",): 2, ("30-38",): 1, ("39-47",): 1})

    def test_time_dimensions(self):
        rows = dataset.count("cases", ["quarter"])
        self.assertEqual(as_dict(rows, "quarter"), {(20251,): 1, (20253,): 1, (20261,): 1})
        self.assertEqual(dataset.label("quarter", 20253), "2025 Q3")
        self.assertEqual(dataset.label("month", 202508), "2025-08")

    def test_prosecuted_and_convicted_are_persons_dated_by_first_event(self):
        self.assertEqual(as_dict(dataset.count("prosecuted", ["year", "sex"]), "year", "sex"), {(2025, "male"): 1})
        self.assertEqual(as_dict(dataset.count("convicted", ["year"]), "year"), {(2026,): 1})
        self.assertEqual(dataset.total("suspects"), 2)

    def test_services_and_plans(self):
        victim = self.man
        owner = self.users["care"]
        for day in (date(2025, 9, 1), date(2025, 9, 8)):
            ServiceDelivery.objects.create(case_person=victim, service_type="counselling", delivered_on=day, provider_other="NGO", recorded_by=owner)
        CarePlan.objects.create(case_person=victim, kind="transition", plan_type="Health", objectives="x", start_on=date(2025, 9, 1), actual_end_date=date(2025, 12, 1), recorded_by=owner)
        self.assertEqual(dataset.total("services", {"service_type": ["counselling"]}), 2)
        self.assertEqual(dataset.total("survivors_served", {"service_type": ["counselling"]}), 1)
        self.assertEqual(as_dict(dataset.count("transition_plans_completed", ["sex"]), "sex"), {("male",): 1})

    def test_unknown_dimension_is_refused(self):
        with self.assertRaises(KeyError):
            dataset.count("reports", ["nationality"])

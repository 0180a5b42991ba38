"""The anonymised CTDC export (issue #8): the k-anonymity guarantee on random tables, the codebook's coding,
what never leaves the unit (names, dates), the page, its permission, the audit row and the command."""

from __future__ import annotations

import csv
import io
import random
import re
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path

from django.core.management import CommandError, call_command
from django.test import SimpleTestCase, override_settings
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.models import AuditEvent
from cases.choices import ControlMethod, ExploitationType, ForcedLabourIndustry, Gender, SexExploitationType
from cases.models import Place, VictimProfile
from exchange import ctdc
from tests import factories as f
from tests.base import BeaconTestCase

AGE_VALUES = {
    "",
    "0--8",
    "9--17",
    "18--20",
    "21--23",
    "24--26",
    "27--29",
    "30--38",
    "39--47",
    "48+",
    "0--17",
    "18--29",
    "30+",
    "18+",
}
YEAR = re.compile(r"^\d{4}(-\d{4})?$")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}")


def groups(rows, columns):
    return Counter(tuple(r[c] for c in columns) for r in rows)


def assert_k_anonymous(test, result: ctdc.Result, k: int) -> None:
    """The property the issue asks for: no combination of quasi-identifiers occurs fewer than k times; and,
    because rare values of the other variables are withheld, not even with any one of them added."""
    for key, n in groups(result.rows, ctdc.QUASI_IDENTIFIERS).items():
        test.assertGreaterEqual(n, k, f"class {key} has {n} < {k} records")
    for column in ctdc.OTHER_COLUMNS:
        for key, n in groups(result.rows, (*ctdc.QUASI_IDENTIFIERS, column)).items():
            test.assertGreaterEqual(n, k, f"{column}: group {key} has {n} < {k} records")
    test.assertEqual(result.records + result.suppressed, result.eligible)


# --- random tables (hypothesis, derandomised) -----------------------------------------------------------------

# Skewed like a unit's real data: most victims share a few values, a few are rare.
raw_victim = st.fixed_dictionaries(
    {
        "year": st.sampled_from([2021, 2022, 2023, 2023, 2024, 2024, 2024]),
        "age": st.one_of(st.none(), st.sampled_from([19, 19, 22, 25, 16, 34]), st.integers(0, 80)),
        "gender_code": st.sampled_from([Gender.FEMININE] * 4 + [Gender.MASCULINE] * 2 + list(Gender)),
        "sex": st.sampled_from(["female", "male", "intersex", "unknown"]),
        "nationalities": st.lists(
            st.sampled_from(["VE", "VE", "VE", "TT", "TT", "CO", "GY", "NG", "CN", "JM", "ZZ"]), max_size=2
        ),
        "exploitation_country": st.sampled_from(["TT", "TT", "TT", "TT", "VE", "BR", ""]),
        "months": st.one_of(st.none(), st.integers(0, 60)),
        "exploitation_types": st.lists(st.sampled_from(list(ExploitationType)), max_size=2, unique=True),
        "sexual_exploitation_types": st.lists(st.sampled_from(list(SexExploitationType)), max_size=2, unique=True),
        "forced_labour_industry": st.sampled_from(
            ["", "", ForcedLabourIndustry.A, ForcedLabourIndustry.F, ForcedLabourIndustry.T, ForcedLabourIndustry.C]
        ),
        "methods_of_control": st.lists(st.sampled_from(list(ControlMethod)), max_size=4, unique=True),
        "relationship": st.sampled_from(["", "Familial", "Acquainted", "Unaquainted"]),
    }
)
tables = st.lists(raw_victim.map(lambda raw: ctdc.code_record(**raw)), max_size=160)


class KAnonymityPropertyTests(SimpleTestCase):
    @settings(derandomize=True, max_examples=60, deadline=None)
    @given(tables, st.sampled_from([2, 3, 5, 11, 20]))
    def test_every_class_has_at_least_k_records(self, records, k):
        result = ctdc.anonymise(records, k)
        assert_k_anonymous(self, result, k)
        self.assertLessEqual(result.suppressed, result.eligible)
        for row in result.rows:
            self.assertEqual(list(row), list(ctdc.COLUMNS))
            self.assertIn(row["ageBroad"], AGE_VALUES)
            self.assertRegex(row["yearOfRegistration"], YEAR)

    @settings(derandomize=True, max_examples=25, deadline=None)
    @given(tables, st.sampled_from([2, 11]))
    def test_deterministic_whatever_the_input_order(self, records, k):
        shuffled = list(records)
        random.Random(8).shuffle(shuffled)
        self.assertEqual(ctdc.anonymise(records, k).rows, ctdc.anonymise(shuffled, k).rows)

    @settings(derandomize=True, max_examples=25, deadline=None)
    @given(tables)
    def test_without_suppression_limit_generalising_goes_as_far_as_needed(self, records):
        result = ctdc.anonymise(records, 11, suppression_limit=0)
        assert_k_anonymous(self, result, 11)


def random_table(seed: int, size: int) -> list[dict[str, str]]:
    """A larger skewed table than hypothesis builds, so many classes survive and the property is tested on
    tables with real structure."""
    rnd = random.Random(seed)
    pick = rnd.choice
    return [
        ctdc.code_record(
            year=pick([2022, 2023, 2023, 2024, 2024, 2024]),
            age=pick([None, 15, 19, 19, 19, 22, 22, 27, 33, 45, 60, rnd.randint(0, 80)]),
            gender_code=pick([Gender.FEMININE] * 6 + [Gender.MASCULINE] * 3 + [Gender.NON_CONFORMING, Gender.UNKNOWN]),
            sex=pick(["female", "male", "unknown"]),
            nationalities=[pick(["VE"] * 6 + ["TT"] * 3 + ["CO", "GY", "CN", "NG", "DO"])],
            exploitation_country=pick(["TT"] * 8 + ["VE", "GY", ""]),
            months=pick([None, None, 2, 8, 15, 40]),
            exploitation_types=pick(
                [["SexualExploitation"]] * 5
                + [["ForcedLabour"]] * 3
                + [["ForcedLabour", "SexualExploitation"], ["OrganRemoval"], []]
            ),
            sexual_exploitation_types=pick([[], ["Prostitution"], ["Prostitution"], ["Pornography"]]),
            forced_labour_industry=pick(
                ["", "", ForcedLabourIndustry.A, ForcedLabourIndustry.T, ForcedLabourIndustry.B]
            ),
            methods_of_control=rnd.sample(
                ["DebtBondage", "FalsePromises", "PhysicalAbuse", "WithholdsDocuments", "PsychoactiveSubstance"],
                rnd.randint(0, 3),
            ),
            relationship=pick(["", "", "Familial", "Acquainted", "Unaquainted"]),
        )
        for _i in range(size)
    ]


class LargerRandomTablesTests(SimpleTestCase):
    def test_k_anonymity_on_larger_random_tables(self):
        kept_detail = 0
        for seed in range(6):
            records = random_table(seed, 300 + 150 * seed)
            for k in (2, 5, 11, 25):
                with self.subTest(seed=seed, k=k):
                    result = ctdc.anonymise(records, k)
                    assert_k_anonymous(self, result, k)
                    kept_detail += any(r["citizenship"] == "VEN" for r in result.rows)
                    self.assertGreater(result.classes, 1)
        self.assertGreater(kept_detail, 0, "some exports keep exact citizenship: generalisation is local")


class KAnonymityTests(SimpleTestCase):
    def victim(self, **raw):
        base = {
            "year": 2024,
            "age": 19,
            "gender_code": Gender.FEMININE,
            "nationalities": ["VE"],
            "exploitation_country": "TT",
            "exploitation_types": ["SexualExploitation"],
        }
        return ctdc.code_record(**{**base, **raw})

    def test_a_table_already_k_anonymous_is_left_alone(self):
        records = [self.victim() for _ in range(11)] + [
            self.victim(gender_code=Gender.MASCULINE, age=40) for _ in range(12)
        ]
        result = ctdc.anonymise(records, 11)
        self.assertEqual((result.records, result.suppressed, result.classes, result.smallest_class), (23, 0, 2, 11))
        self.assertEqual(result.steps, [])
        self.assertEqual(sorted(r["ageBroad"] for r in result.rows), ["18--20"] * 11 + ["39--47"] * 12)

    def test_an_outlier_is_suppressed_within_the_limit_and_reported(self):
        records = [self.victim() for _ in range(30)] + [self.victim(nationalities=["CN"], age=52)]
        result = ctdc.anonymise(records, 11)
        self.assertEqual((result.eligible, result.records, result.suppressed), (31, 30, 1))
        self.assertNotIn("CHN", {r["citizenship"] for r in result.rows})
        self.assertTrue(all(r["citizenship"] == "VEN" for r in result.rows), "the others keep their detail")

    def test_small_classes_are_generalised_step_by_step(self):
        # Ten Venezuelan and ten Colombian women aged 18-20 and 24-26: neither group reaches k=11 alone; at
        # sub-region level (South America) and broader age (18--29) they make one class of 20.
        records = [self.victim() for _ in range(10)] + [self.victim(nationalities=["CO"], age=25) for _ in range(10)]
        result = ctdc.anonymise(records, 11, suppression_limit=0)
        assert_k_anonymous(self, result, 11)
        self.assertEqual(result.suppressed, 0)
        self.assertEqual({(r["citizenship"], r["ageBroad"]) for r in result.rows}, {("South America", "18--29")})
        self.assertEqual(
            [(s.hierarchy, s.level, s.records) for s in result.steps], [("age", 1, 20), ("citizenship", 1, 20)]
        )
        self.assertEqual(result.generalised, 40)

    def test_rare_values_of_other_variables_are_withheld(self):
        records = [self.victim(methods_of_control=["DebtBondage"]) for _ in range(12)]
        records += [
            self.victim(methods_of_control=["WithholdsDocuments"], forced_labour_industry=ForcedLabourIndustry.B)
        ]
        result = ctdc.anonymise(records, 11)
        self.assertEqual(result.records, 13)
        self.assertEqual(sum(r["meansWithholdDocs"] == "1" for r in result.rows), 0)
        # 12 of 13 have debt bondage; the one without would stand out, so the variable is withheld for all.
        self.assertEqual(sum(r["meansDebtBondageEarnings"] == "1" for r in result.rows), 0)
        self.assertEqual(result.blanked, {"meansDebtBondageEarnings": 12, "meansWithholdDocs": 1})
        assert_k_anonymous(self, result, 11)

    def test_k_below_two_is_refused(self):
        with self.assertRaises(ValueError):
            ctdc.anonymise([], 1)

    def test_empty_input(self):
        result = ctdc.anonymise([], 11)
        self.assertEqual((result.records, result.suppressed, result.classes, result.smallest_class), (0, 0, 0, 0))


class CodingTests(SimpleTestCase):
    def test_codebook_columns(self):
        self.assertEqual(len(ctdc.COLUMNS), 27)
        self.assertEqual(
            ctdc.COLUMNS[:6],
            ("yearOfRegistration", "gender", "ageBroad", "citizenship", "CountryOfExploitation", "traffickMonths"),
        )
        self.assertEqual(ctdc.COLUMNS[-1], "recruiterRelationOther")

    def test_age_bands_follow_the_codebook(self):
        cases = {
            None: "",
            0: "0--8",
            8: "0--8",
            9: "9--17",
            17: "9--17",
            18: "18--20",
            29: "27--29",
            30: "30--38",
            47: "39--47",
            48: "48+",
            90: "48+",
        }
        for age, band in cases.items():
            self.assertEqual(ctdc.age_broad(age), band, age)

    def test_gender_from_htcds_gender_else_sex(self):
        self.assertEqual(ctdc.gender(Gender.FEMININE, "male"), "Woman")
        self.assertEqual(ctdc.gender(Gender.MASCULINE, ""), "Man")
        self.assertEqual(ctdc.gender(Gender.TRANS_FEMININE, "male"), "Trans/Transgender/NonConforming")
        self.assertEqual(ctdc.gender(Gender.UNKNOWN, "female"), "Woman")
        self.assertEqual(ctdc.gender(Gender.UNKNOWN, "intersex"), "")

    def test_record_in_codebook_terms(self):
        row = ctdc.code_record(
            year=2024,
            age=12,
            gender_code=Gender.UNKNOWN,
            sex="male",
            nationalities=["VE", "CO"],
            exploitation_country="TT",
            months=13,
            exploitation_types=["ForcedBegging", "ForcedMarriage"],
            sexual_exploitation_types=["Pornography"],
            forced_labour_industry=ForcedLabourIndustry.T,
            methods_of_control=["TakesEarnings", "ThreatsLawEnforcement", "RestrictsMedicalCare"],
            relationship="Familial",
        )
        ones = {c for c, v in row.items() if v == "1"}
        self.assertEqual(
            ones,
            {
                "meansDebtBondageEarnings",
                "meansThreats",
                "meansDenyBasicNeeds",
                "isForcedLabour",
                "isSexualExploit",
                "isOtherExploit",
                "typeOfLabourDomesticWork",
                "typeOfSexPornography",
                "recruiterRelationFamily",
            },
        )
        self.assertEqual(
            {c: row[c] for c in ctdc.COLUMNS[:6]},
            {
                "yearOfRegistration": "2024",
                "gender": "Man",
                "ageBroad": "9--17",
                "citizenship": "VEN",
                "CountryOfExploitation": "TTO",
                "traffickMonths": "13--24 (1-2 yrs)",
            },
        )
        self.assertEqual(set(row.values()), {"", "1", "2024", "Man", "9--17", "VEN", "TTO", "13--24 (1-2 yrs)"})

    def test_generalisation_hierarchies(self):
        h = ctdc.HIERARCHIES
        self.assertEqual([h["age"].recode("21--23", lvl) for lvl in range(4)], ["21--23", "18--29", "18+", ""])
        self.assertEqual([h["age"].recode("9--17", lvl) for lvl in range(4)], ["9--17", "0--17", "0--17", ""])
        self.assertEqual(
            [h["citizenship"].recode("VEN", lvl) for lvl in range(4)], ["VEN", "South America", "Americas", ""]
        )
        self.assertEqual(
            [h["exploitation_country"].recode("TTO", lvl) for lvl in range(4)], ["TTO", "Caribbean", "Americas", ""]
        )
        self.assertEqual([h["year"].recode("2023", lvl) for lvl in range(3)], ["2023", "2022-2023", "2020-2024"])
        self.assertEqual([h["gender"].recode("Woman", lvl) for lvl in range(2)], ["Woman", ""])


# --- Beacon's data ------------------------------------------------------------------------------------------

NAMES = ("Quintessa", "Vandermolen-Oyelaran")
REGISTERED = date(2023, 7, 19)


class ExportDataTests(BeaconTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        owner = cls.users["investigator"]
        cls.case = f.make_case(owner=owner, opened_on=date(2023, 7, 1))
        # Fourteen Venezuelan women aged 19 in 2023, sexually exploited in Trinidad and Tobago, with
        # distinctive names and registration dates that must never leave Beacon.
        for i in range(14):
            link = f.add_victim(
                cls.case,
                sex="female",
                age=19,
                nationalities=["VE"],
                registered_on=date(2023, 7, 19 - i % 3),
                given_names=f"{NAMES[0]}{i}",
                family_names=NAMES[1],
                birth_date="2004-02-03",
            )
            VictimProfile.objects.filter(case_person=link).update(
                methods_of_control=["DebtBondage", "FalsePromises"], sexual_exploitation_types=["Prostitution"]
            )
        cls.first = link
        Place.objects.create(
            case=cls.case, kind="Exploitation", country="TT", date_from=date(2022, 5, 1), city="Chaguanas"
        )
        # One Chinese man of 60 in 2024: alone in his class, suppressed.
        cls.other = f.make_case(owner=owner, opened_on=date(2024, 2, 1))
        f.add_victim(
            cls.other,
            sex="male",
            age=60,
            nationalities=["CN"],
            types=["ForcedLabour"],
            given_names="Bartholomew",
            family_names="Xiangqiu",
        )
        # Not a victim after all: never exported. Suspects are never exported either.
        f.add_victim(cls.other, sex="female", age=30, nationalities=["GY"], status="NotAVictimOfTrafficking")
        f.add_suspect(cls.case, given_names="Suspectname", family_names="Trafficker")
        # The first Venezuelan woman again as a victim in the 2024 case: still one record.
        f.add_victim(cls.other, person=cls.first.person, registered_on=date(2024, 2, 1), types=["ForcedLabour"])

    def test_records_read_from_beacon(self):
        records = ctdc.victim_records()
        self.assertEqual(len(records), 15)  # 14 women once each + the man
        women = [r for r in records if r["citizenship"] == "VEN"]
        self.assertEqual(len(women), 14)
        self.assertEqual({r["yearOfRegistration"] for r in women}, {"2023"})
        self.assertEqual({r["ageBroad"] for r in women}, {"18--20"})
        self.assertEqual({r["gender"] for r in women}, {"Woman"})
        self.assertEqual({r["CountryOfExploitation"] for r in women}, {"TTO"})
        self.assertEqual({r["traffickMonths"] for r in women}, {"13--24 (1-2 yrs)"})  # May 2022 to July 2023
        self.assertEqual(
            {(r["isSexualExploit"], r["isForcedLabour"], r["typeOfSexProstitution"]) for r in women}, {("1", "", "1")}
        )
        self.assertEqual({r["meansDebtBondageEarnings"] + r["meansFalsePromises"] for r in women}, {"11"})
        man = next(r for r in records if r["citizenship"] == "CHN")
        self.assertEqual(
            (man["yearOfRegistration"], man["ageBroad"], man["gender"], man["CountryOfExploitation"]),
            ("2024", "48+", "Man", "TTO"),
        )

    def test_year_filter(self):
        self.assertEqual(len(ctdc.victim_records(year_from=2024)), 1)
        self.assertEqual(len(ctdc.victim_records(year_to=2023)), 14)
        self.assertEqual(len(ctdc.victim_records(year_from=2025)), 0)

    def test_export_is_k_anonymous_and_counts_add_up(self):
        result = ctdc.build()
        self.assertEqual(result.k, 11)
        self.assertEqual((result.eligible, result.records, result.suppressed), (15, 14, 1))
        assert_k_anonymous(self, result, 11)

    def test_nothing_identifying_in_the_file(self):
        text = "".join(ctdc.to_csv(ctdc.build(k=2)))
        for secret in (
            *NAMES,
            "Bartholomew",
            "Xiangqiu",
            "Suspectname",
            "Chaguanas",
            "2004",
            "2023-07-19",
            "19/07/2023",
            "Victim ",
        ):
            self.assertNotIn(secret, text)
        self.assertIsNone(DATE.search(text), "no exact date")
        rows = list(csv.DictReader(io.StringIO(text)))
        self.assertEqual(tuple(rows[0]), ctdc.COLUMNS)
        for row in rows:
            self.assertRegex(row["yearOfRegistration"], YEAR)
            self.assertIn(row["ageBroad"], AGE_VALUES)


@override_settings(CTDC_K_ANONYMITY=11)
class ExportPageTests(BeaconTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        case = f.make_case(owner=cls.users["investigator"], opened_on=date(2024, 3, 1))
        for _i in range(12):
            f.add_victim(
                case,
                sex="female",
                age=22,
                nationalities=["VE"],
                given_names="Zephyrine",
                family_names="Okonkwo-Lindqvist",
            )
        f.add_victim(case, sex="male", age=70, nationalities=["NG"])

    def test_who_may_use_it(self):
        url = reverse("exchange:ctdc")
        for name in ("director", "deputy", "analyst"):
            self.assertEqual(self.client_for(name).get(url).status_code, 200, name)
        for name in (
            "investigator",
            "hoi",
            "care",
            "intake",
            "auditor",
            "sysadmin",
            "nobody",
            "other_analyst",
            "other_director",
            "shelter",
        ):
            self.assertEqual(self.client_for(name).get(url).status_code, 403, name)
            self.assertEqual(
                self.client_for(name).post(reverse("exchange:ctdc_download"), {"k": 11}).status_code, 403, name
            )
        response = self.client.get(url)
        self.assertEqual(response.status_code, 302)
        self.assertIn("/accounts/login/", response["Location"])
        self.assertFalse(AuditEvent.objects.filter(action="exchange.ctdc_exported").exists())

    def test_page_shows_the_suppression_report(self):
        response = self.client_for("analyst").get(reverse("exchange:ctdc"))
        self.assertContains(response, '<dd class="col-sm-7" id="report-eligible">13</dd>', html=True)
        self.assertContains(response, '<dd class="col-sm-7" id="report-records">12</dd>', html=True)
        self.assertContains(response, '<dd class="col-sm-7" id="report-suppressed">1</dd>', html=True)
        self.assertContains(response, "Download 12 records (CSV)")
        self.assertNotContains(response, "Zephyrine")
        # Raising k to 13 puts everyone in one class of 13 after generalisation.
        response = self.client_for("analyst").get(reverse("exchange:ctdc"), {"k": 13})
        self.assertContains(response, '<dd class="col-sm-7" id="report-records">13</dd>', html=True)
        self.assertContains(response, "Age band")

    def test_k_cannot_be_lowered_below_the_units_setting(self):
        response = self.client_for("analyst").get(reverse("exchange:ctdc"), {"k": 3})
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "k may not be lower than 11.", status_code=400)
        response = self.client_for("analyst").post(reverse("exchange:ctdc_download"), {"k": 3})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(AuditEvent.objects.filter(action="exchange.ctdc_exported").exists())

    def test_download_is_audited(self):
        response = self.client_for("deputy").post(
            reverse("exchange:ctdc_download"), {"k": 11, "year_from": 2024, "year_to": 2024}
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "text/csv; charset=utf-8")
        self.assertIn("attachment;", response["Content-Disposition"])
        text = response.content.decode()
        self.assertNotIn("Zephyrine", text)
        rows = list(csv.DictReader(io.StringIO(text)))
        self.assertEqual(len(rows), 12)
        self.assertEqual(set(groups(rows, ctdc.QUASI_IDENTIFIERS).values()), {12})
        event = AuditEvent.objects.get(action="exchange.ctdc_exported")
        self.assertEqual(event.actor_id, self.deputy.pk)
        self.assertEqual(event.details, {"k": 11, "records": 12, "suppressed": 1})

    def test_download_needs_post(self):
        self.assertEqual(self.client_for("analyst").get(reverse("exchange:ctdc_download")).status_code, 405)


class ExportCommandTests(BeaconTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        case = f.make_case(owner=cls.users["investigator"], opened_on=date(2022, 3, 1))
        for _i in range(11):
            f.add_victim(
                case,
                sex="male",
                age=35,
                nationalities=["GY"],
                types=["ForcedLabour"],
                given_names="Percival",
                family_names="Ramkissoon-Abernethy",
            )
        f.add_victim(case, sex="female", age=8, nationalities=["JM"])

    def test_writes_the_file_and_prints_the_report(self):
        out = io.StringIO()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "ctdc.csv"
            call_command("export_ctdc", "--output", str(path), "--user", "analyst", stdout=out)
            text = path.read_text(encoding="utf-8")
        report = out.getvalue()
        self.assertIn("k = 11", report)
        self.assertIn("Eligible victims: 12", report)
        self.assertIn("Records exported: 11", report)
        self.assertIn("Records suppressed (in classes smaller than k): 1", report)
        self.assertIn(f"Wrote 11 records to {path}.", report)
        self.assertNotIn("Percival", text)
        rows = list(csv.DictReader(io.StringIO(text)))
        self.assertEqual(len(rows), 11)
        self.assertEqual({(r["citizenship"], r["ageBroad"], r["gender"]) for r in rows}, {("GUY", "30--38", "Man")})
        event = AuditEvent.objects.get(action="exchange.ctdc_exported")
        self.assertEqual((event.actor_id, event.details), (self.analyst.pk, {"k": 11, "records": 11, "suppressed": 1}))

    def test_csv_to_standard_output_and_report_to_standard_error(self):
        out, err = io.StringIO(), io.StringIO()
        call_command("export_ctdc", "--k", "12", "--year-from", "2022", "--year-to", "2022", stdout=out, stderr=err)
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        self.assertEqual(len(rows), 12)  # with k = 12 the girl joins the men's class once generalised
        self.assertIn("Records exported: 12", err.getvalue())
        self.assertIn("Generalised:", err.getvalue())
        self.assertEqual(
            AuditEvent.objects.get(action="exchange.ctdc_exported").details, {"k": 12, "records": 12, "suppressed": 0}
        )

    def test_refusals(self):
        with self.assertRaises(CommandError):
            call_command("export_ctdc", "--k", "1", stdout=io.StringIO())
        with self.assertRaises(CommandError):
            call_command("export_ctdc", "--user", "investigator", stdout=io.StringIO())
        with self.assertRaises(CommandError):
            call_command("export_ctdc", "--year-from", "2024", "--year-to", "2023", stdout=io.StringIO())
        self.assertFalse(AuditEvent.objects.filter(action="exchange.ctdc_exported").exists())

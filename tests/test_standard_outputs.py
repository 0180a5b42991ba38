"""The standard outputs (issue #8) on constructed data with known answers: UNODC GLOTIP, SDG 16.2.2 and the
TIP data call; the <5 rule; totals from the data, never from suppressed cells; the command and the page."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date
from pathlib import Path

from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from audit.models import AuditEvent
from care.models import ServiceDelivery
from investigations.models import Charge
from stats import standard
from stats.models import PopulationFigure
from tests import factories as f
from tests.base import BeaconTestCase


def cells(table):
    """{(indicator, dimension, category, sex, age): txtVALUE} from a GLOTIP table."""
    header, *rows = table
    idx = {name: i for i, name in enumerate(header)}
    return {
        (r[idx["Indicator"]], r[idx["Dimension"]], r[idx["Category"]], r[idx["Sex"]], r[idx["Age"]]): r[idx["txtVALUE"]]
        for r in rows
    }


class ConstructedYear(BeaconTestCase):
    """2025: 9 Venezuelan women (7 adults, 2 girls) sexually exploited, 6 Guyanese men in forced labour,
    1 Trinidadian boy exploited for labour and sexually ("other forms"), one possible victim who is not
    counted as detected, and a victim registered in 2024 who is not in 2025. Two suspects charged, one
    convicted, with a sentence recorded."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        owner = cls.users["investigator"]
        cls.case_a = f.make_case(owner=owner, opened_on=date(2025, 2, 1))
        for i in range(7):
            f.add_victim(cls.case_a, sex="female", age=25 + i, nationalities=["VE"], types=["SexualExploitation"])
        for age in (15, 16):
            f.add_victim(cls.case_a, sex="female", age=age, nationalities=["VE"], types=["SexualExploitation"])
        cls.case_b = f.make_case(owner=owner, opened_on=date(2025, 6, 1))
        cls.labourers = [
            f.add_victim(cls.case_b, sex="male", age=30 + i, nationalities=["GY"], types=["ForcedLabour"]) for i in range(6)
        ]
        f.add_victim(cls.case_b, sex="male", age=14, nationalities=["TT"], types=["ChildLabour", "SexualExploitation"])
        f.add_victim(cls.case_b, sex="female", age=20, nationalities=["CO"], status="PossibleVictimOfTrafficking")
        old = f.make_case(owner=owner, opened_on=date(2024, 5, 1))
        f.add_victim(old, sex="female", age=22, nationalities=["VE"])
        s1 = f.add_suspect(cls.case_a, sex="male", birth_year=1975)
        s2 = f.add_suspect(cls.case_b, sex="female", birth_year=1988)
        Charge.objects.create(case=cls.case_a, suspect=s1, offence="TIP", statute="s.16", laid_on=date(2025, 4, 1),
                              outcome="conviction", outcome_on=date(2025, 11, 1), sentence="15 years", created_by=owner)  # fmt: skip
        Charge.objects.create(case=cls.case_b, suspect=s2, offence="TIP", statute="s.16", laid_on=date(2025, 9, 1), created_by=owner)
        care = cls.users["care"]
        ServiceDelivery.objects.create(case_person=cls.labourers[0], service_type="counselling", delivered_on=date(2025, 7, 1), provider_other="NGO", recorded_by=care)
        ServiceDelivery.objects.create(case_person=cls.labourers[0], service_type="medical", delivered_on=date(2025, 7, 2), provider_other="Clinic", recorded_by=care)
        ServiceDelivery.objects.create(case_person=cls.labourers[1], service_type="medical", delivered_on=date(2025, 7, 2), provider_other="Clinic", recorded_by=care)


class GlotipTests(ConstructedYear):
    def test_detected_victims_by_sex_and_age(self):
        got = cells(standard.glotip_table(2025))
        key = lambda sex, age: ("Detected trafficking victims", "Total", "Total", sex, age)  # noqa: E731
        self.assertEqual(got[key("Female", "18 years or over")], "7")
        self.assertEqual(got[key("Female", "0 to 17 years")], "<5")  # 2 girls
        self.assertEqual(got[key("Female", "Total")], "9")
        self.assertEqual(got[key("Male", "18 years or over")], "6")
        self.assertEqual(got[key("Male", "0 to 17 years")], "<5")  # 1 boy
        self.assertEqual(got[key("Male", "Total")], "7")
        self.assertEqual(got[key("Total", "0 to 17 years")], "<5")  # 3 children: still <5
        self.assertEqual(got[key("Total", "18 years or over")], "13")
        # The total is computed from the data (16), not from the published cells.
        self.assertEqual(got[key("Total", "Total")], "16")
        self.assertEqual(got[key("Other", "Total")], "<5")  # zero is published as <5 too
        self.assertEqual(got[key("Unknown", "Unknown")], "<5")

    def test_by_form_of_exploitation(self):
        got = cells(standard.glotip_table(2025))
        form = lambda cat, sex, age: ("Detected trafficking victims", "by form of exploitation", cat, sex, age)  # noqa: E731
        self.assertEqual(got[form("Sexual exploitation", "Female", "Total")], "9")
        self.assertEqual(got[form("Sexual exploitation", "Total", "Total")], "9")
        self.assertEqual(got[form("Forced labour", "Male", "18 years or over")], "6")
        self.assertEqual(got[form("Other forms of exploitation", "Total", "Total")], "<5")

    def test_by_citizenship_uses_nationality_adjectives(self):
        got = cells(standard.glotip_table(2025))
        cit = lambda cat: ("Detected trafficking victims", "by citizenship", cat, "Total", "Total")  # noqa: E731
        self.assertEqual(got[cit("Venezuelan")], "9")
        self.assertEqual(got[cit("Guyanese")], "6")
        self.assertEqual(got[cit("Trinidadian")], "<5")
        self.assertNotIn(cit("Colombian"), got)  # only a possible victim: not detected

    def test_criminal_justice_indicators_and_offences(self):
        got = cells(standard.glotip_table(2025))
        self.assertEqual(got[("Persons prosecuted", "Total", "Total", "Total", "Total")], "<5")
        self.assertEqual(got[("Persons convicted", "Total", "Total", "Male", "Total")], "<5")
        self.assertEqual(got[("Offences of trafficking in persons", "Total", "Total", "Total", "Total")], "<5")
        rows = {(r.indicator, r.dimension, r.sex, r.age): r.value for r in standard.glotip_rows(2025)}
        self.assertEqual(rows[("Persons prosecuted", "Total", "Total", "Total")], 2)
        self.assertEqual(rows[("Persons convicted", "Total", "Male", "Total")], 1)
        self.assertEqual(rows[("Persons convicted", "Total", "Female", "Total")], 0)
        self.assertEqual(rows[("Persons brought into formal contact", "Total", "Total", "Total")], 2)
        self.assertEqual(rows[("Offences of trafficking in persons", "Total", "Total", "Total")], 2)

    def test_layout_and_country(self):
        table = standard.glotip_table(2025)
        self.assertEqual(table[0], standard.GLOTIP_COLUMNS)
        first = dict(zip(table[0], table[1], strict=True))
        self.assertEqual(first["Iso3_code"], "TTO")
        self.assertEqual(first["Country"], "Trinidad and Tobago")
        self.assertEqual(first["Region"], "Americas")
        self.assertEqual(first["Year"], "2025")
        self.assertEqual(first["Unit of measurement"], "Counts")
        for row in table[1:]:
            value = row[standard.GLOTIP_COLUMNS.index("txtVALUE")]
            self.assertTrue(value == "<5" or int(value) >= 5, value)

    def test_another_year_is_separate(self):
        got = cells(standard.glotip_table(2024))
        self.assertEqual(got[("Detected trafficking victims", "Total", "Total", "Total", "Total")], "<5")
        rows = {(r.indicator, r.dimension, r.category, r.sex, r.age): r.value for r in standard.glotip_rows(2024)}
        self.assertEqual(rows[("Detected trafficking victims", "Total", "Total", "Total", "Total")], 1)

    def test_command_writes_csv_and_xlsx_and_is_audited(self):
        out = io.StringIO()
        call_command("report", "glotip", "--year", "2025", stdout=out)
        parsed = list(csv.reader(io.StringIO(out.getvalue())))
        self.assertEqual(parsed[0], standard.GLOTIP_COLUMNS)
        self.assertIn("Venezuelan", {r[6] for r in parsed[1:]})
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "glotip.xlsx"
            call_command("report", "glotip", "--year", "2025", "--format", "xlsx", "--output", str(path), stderr=io.StringIO())
            ws = load_workbook(path).active
            self.assertEqual([c.value for c in ws[1]], standard.GLOTIP_COLUMNS)
            self.assertEqual(ws.max_row, len(parsed))
        self.assertEqual(AuditEvent.objects.filter(action="stats.standard_report").count(), 2)


class SdgAndTipTests(ConstructedYear):
    def test_sdg_rates_use_population_figures(self):
        PopulationFigure.objects.create(year=2025, sex="total", age="total", population=1_600_000)
        PopulationFigure.objects.create(year=2025, sex="female", age="total", population=800_000)
        rows = {(r.sex, r.age, r.form): r for r in standard.sdg_16_2_2(2025)}
        total = rows[("total", "total", "")]
        self.assertEqual(total.victims, 16)
        self.assertAlmostEqual(total.rate, 1.0)
        self.assertEqual(total.published_rate(), "1.00")
        women = rows[("female", "total", "")]
        self.assertEqual(women.victims, 9)
        self.assertEqual(women.published_rate(), "1.12")
        self.assertIsNone(rows[("male", "total", "")].rate)  # no population figure: no rate
        self.assertEqual(rows[("male", "total", "")].published_rate(), "n/a")
        girls = rows[("female", "0-17", "")]
        self.assertTrue(girls.suppressed)
        sexual = rows[("total", "total", "sexual")]
        self.assertEqual(sexual.victims, 9)

    def test_tip_summary(self):
        (row,) = standard.tip_summary([2025])
        self.assertEqual(
            row,
            {"year": 2025, "victims_identified": 16, "investigations": 2, "prosecutions": 2, "convictions": 1,
             "sentences": 1, "victims_assisted": 2},
        )  # fmt: skip
        table = standard.tip_table([2025])
        self.assertEqual(table[1], ["2025", "16", "<5", "<5", "<5", "<5", "<5"])


class StandardPageTests(ConstructedYear):
    def test_analyst_sees_the_year_with_chart_and_tables(self):
        response = self.client_for("analyst").get(reverse("stats:standard") + "?year=2025")
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        self.assertIn('id="glotip-total">16<', html)
        self.assertIn("<svg", html)
        self.assertIn("Venezuelan", html)
        self.assertTrue(AuditEvent.objects.filter(action="stats.standard_report", actor_id=self.users["analyst"].pk).exists())

    def test_downloads(self):
        client = self.client_for("director")
        response = client.get(reverse("stats:standard_download", args=["glotip", "csv"]) + "?year=2025")
        self.assertEqual(response.status_code, 200)
        self.assertIn("attachment", response["Content-Disposition"])
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        self.assertEqual(rows[0], standard.GLOTIP_COLUMNS)
        response = client.get(reverse("stats:standard_download", args=["tip", "xlsx"]) + "?year=2025")
        self.assertEqual(response.status_code, 200)
        ws = load_workbook(io.BytesIO(response.content)).active
        self.assertEqual(ws.cell(row=6, column=1).value, "2025")
        self.assertEqual(client.get(reverse("stats:standard_download", args=["nope", "csv"])).status_code, 404)

    def test_who_may_see_it(self):
        for name in ("investigator", "care", "intake", "shelter", "other_director", "hoi"):
            with self.subTest(name):
                self.assertEqual(self.client_for(name).get(reverse("stats:standard")).status_code, 403)
        response = self.client.get(reverse("stats:standard"))
        self.assertEqual(response.status_code, 302)

    def test_population_figures_are_entered_and_audited(self):
        client = self.client_for("analyst")
        data = {"year": 2025, "source": "CSO estimate", "pop_total_total": "1600000", "pop_female_total": "800000"}
        response = client.post(reverse("stats:population"), data)
        self.assertEqual(response.status_code, 302)
        self.assertEqual(PopulationFigure.objects.get(year=2025, sex="female", age="total").population, 800_000)
        self.assertTrue(AuditEvent.objects.filter(action="stats.population_set").exists())
        html = client.get(reverse("stats:standard") + "?year=2025").content.decode()
        self.assertIn("1.00", html)
        bad = client.post(reverse("stats:population"), {"year": 2025, "pop_total_total": "-5"})
        self.assertEqual(bad.status_code, 200)
        self.assertEqual(PopulationFigure.objects.get(year=2025, sex="total", age="total").population, 1_600_000)
        self.assertEqual(self.client_for("hoi").get(reverse("stats:population")).status_code, 403)

"""IOM HTCDS 2.0 import and export (issue #8): round trip, idempotency, row-by-row refusal, encryption and
search of imported people, permissions, the commands and the pages."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pyzipper
from django.core.management import ManagementUtility, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from accounts.models import Role, User
from approvals import actions as approvals
from approvals.choices import Kind as ApprovalKind
from approvals.models import ApprovalRequest
from audit.models import AuditEvent
from cases import search
from cases.models import Case, CasePerson, Identifier, Person, Place, SearchToken, SuspectProfile, VictimProfile
from exchange import actions, htcds
from exchange.htcds import COLUMNS, ImportRefused
from exchange.models import ExternalRecord, ImportJob
from intake.models import Report
from screening.models import Decision, Screening
from tests import factories
from tests.approval_helpers import approve
from tests.base import BeaconTestCase


def csv_bytes(rows: list[dict], columns=None) -> bytes:
    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return out.getvalue().encode()


def xlsx_bytes(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def victim_row(n: int, **extra) -> dict:
    return {
        "x_ExternalId": f"SRC-{n}", "x_RegistrationDate": f"2025-03-0{1 + n % 9}", "prs_FirstName": "María",
        "prs_SecondName": f"Pérez{n}", "prs_Birthdate": "2001-05-17", "prs_Gender": "Feminine", "prs_Citizenship": "VE",
        "prs_PrimaryLanguage": "es", "vic_TraffickingStatus": "ActualVictimOfTrafficking",
        "vic_TypeOfExploitation": "SexualExploitation", **extra,
    }  # fmt: skip


def wipe_cases() -> None:
    """Empty the case side of the database, as a fresh installation receiving the file would be."""
    Case.objects.all().delete()
    Person.objects.all().delete()
    Decision.objects.all().delete()
    Screening.objects.all().delete()
    Report.objects.all().delete()


def archive_password_and_link(page) -> tuple[str, str]:
    """The password and the one-time download address on the page that prepared an encrypted export."""
    html = page.content.decode()
    password = re.search(r'id="archive-password">([^<]+)<', html).group(1)
    return password, re.search(r'action="(/exchange/htcds/export/archive/[0-9a-f]+/)"', html).group(1)


def unzip(content: bytes, password: str) -> dict[str, bytes]:
    with pyzipper.AESZipFile(io.BytesIO(content)) as archive:
        archive.setpassword(password.encode())
        return {name: archive.read(name) for name in archive.namelist()}


def export_text(actor) -> str:
    rows, _count = actions.export_htcds(actor=actor, fmt="csv")
    return "".join(htcds.to_csv(rows))


class RoundTripTests(BeaconTestCase):
    def build(self):
        case = factories.make_case(owner=self.director)
        first = factories.add_victim(
            case, given_names="Ana Lucía", family_names="Gómez", sex="female", nationalities=("VE", "CO"),
            types=("ForcedLabour", "SexualExploitation"), registered_on=date(2024, 11, 3), recruitment=("ThroughOnlineSocialNetworks",),
            birth_date="1999-02-28", languages=["es", "en"], gender="Feminine",
        )  # fmt: skip
        VictimProfile.objects.filter(case_person=first).update(
            methods_of_control=["DebtBondage", "WithholdsDocuments"], forced_labour_industry="I_AccommodationAndFoodServiceActivities",
            sexual_exploitation_types=["Prostitution"], recruitment_websites=["Facebook"], relationship_to_trafficker="Acquainted",
            age_when_trafficked=17, vulnerabilities=["Poverty", "Migration"],
        )  # fmt: skip
        profile = VictimProfile.objects.get(case_person=first)
        profile.vulnerability_details = "Lost her job; =SUM(A1) written by a careless officer"
        profile.save()
        factories.add_victim(
            case,
            given_names="Kevin",
            family_names="Ramdass",
            sex="male",
            nationalities=("TT",),
            types=("ForcedBegging",),
            registered_on=date(2025, 1, 9),
        )
        suspect = factories.add_suspect(case, given_names="Carlos", family_names="Mendoza", nationalities=("VE",))
        SuspectProfile.objects.filter(case_person=suspect).update(
            roles_in_process=["RecruiterOrIntermediary", "Exploiter"], role_details="Ran the bar"
        )
        Place.objects.create(
            case=case,
            case_person=first,
            kind="Exploitation",
            city="Chaguanas",
            country="TT",
            latitude=Decimal("10.516700"),
            longitude=Decimal("-61.411100"),
            date_from=date(2024, 6, 1),
            description="Bar on the main road",
        )
        Identifier.objects.create(
            person=first.person, kind="id_document", document_type="national_id", value="V-12345678", index="x"
        )
        Identifier.objects.create(person=first.person, kind="phone", value="+58 412 555 0101", index="y")
        closed = factories.make_case(
            owner=self.director, status="Closed", trafficking_status="PossibleVictimOfTrafficking"
        )
        Case.objects.filter(pk=closed.pk).update(closure_reason="Returned home")
        factories.add_victim(
            closed,
            given_names="Grace",
            family_names="O'Neil",
            nationalities=("GY",),
            types=(),
            status="PossibleVictimOfTrafficking",
        )

    def test_export_then_import_into_an_empty_database_gives_the_same_records(self):
        self.build()
        first = export_text(self.director)
        self.assertEqual(len(list(csv.DictReader(io.StringIO(first)))), 4)
        wipe_cases()
        result = actions.import_htcds(first.encode(), actor=self.director)
        self.assertEqual((result.created, result.updated, result.cases_created), (4, 0, 2))
        self.assertEqual(export_text(self.director), first)

        ana = Person.objects.get(
            pk=search.search("Ana Lucia Gomez", Person.objects.visible_to(self.director))[0].person.pk
        )
        self.assertEqual(
            (ana.given_names, ana.family_names, ana.birth_date, ana.birth_year),
            ("Ana Lucía", "Gómez", "1999-02-28", 1999),
        )
        self.assertEqual(
            (ana.sex, ana.gender, ana.nationalities, ana.languages), ("female", "Feminine", ["VE", "CO"], ["es", "en"])
        )
        link = ana.case_links.get()
        profile = link.victim_profile
        self.assertEqual(profile.registered_on, date(2024, 11, 3))
        self.assertEqual(profile.exploitation_form, "other")  # derived on import
        self.assertEqual(profile.vulnerability_details, "Lost her job; =SUM(A1) written by a careless officer")
        self.assertEqual(profile.methods_of_control, ["DebtBondage", "WithholdsDocuments"])
        place = link.places.get()
        self.assertEqual(
            (place.city, place.latitude, place.longitude), ("Chaguanas", Decimal("10.516700"), Decimal("-61.411100"))
        )
        self.assertEqual(sorted(ana.identifiers.values_list("kind", flat=True)), ["id_document", "phone"])
        case = link.case
        self.assertEqual((case.owner, case.report.channel, case.deciding_org), (self.director, "import", "Police"))
        self.assertEqual(case.persons.count(), 3)
        self.assertEqual(SuspectProfile.objects.get().roles_in_process, ["RecruiterOrIntermediary", "Exploiter"])
        closed = Case.objects.get(status="Closed")
        self.assertEqual(
            (closed.closure_reason, closed.trafficking_status), ("Returned home", "PossibleVictimOfTrafficking")
        )

    def test_xlsx_round_trip(self):
        self.build()
        rows, _count = actions.export_htcds(actor=self.director, fmt="xlsx")
        data = htcds.to_xlsx(rows)
        before = export_text(self.director)
        wipe_cases()
        result = actions.import_htcds(data, actor=self.director)
        self.assertEqual(result.created, 4)
        self.assertEqual(export_text(self.director), before)

    def test_gender_falls_back_to_sex_on_export(self):
        case = factories.make_case(owner=self.director)
        factories.add_victim(case, sex="male")
        row = next(csv.DictReader(io.StringIO(export_text(self.director))))
        self.assertEqual(row["prs_Gender"], "Masculine")
        self.assertEqual(row["vic_TraffickingStatusDecisionMakingOrg"], "Police")
        self.assertEqual(row["x_PersonType"], "Victim")

    def test_export_is_audited_and_gives_stable_ids(self):
        case = factories.make_case(owner=self.director)
        factories.add_victim(case, gender="Feminine", age=19)  # a year of birth, no date
        first = export_text(self.director)
        self.assertEqual(first, export_text(self.director))
        self.assertEqual(AuditEvent.objects.filter(action="exchange.htcds_exported").count(), 2)
        event = AuditEvent.objects.filter(action="exchange.htcds_exported").last()
        self.assertEqual(event.details["rows"], 1)
        self.assertNotIn("Constructed", str(event.details))
        # Re-importing one's own export updates the same record instead of making a second one.
        result = actions.import_htcds(first.encode(), actor=self.director)
        self.assertEqual((result.created, result.unchanged), (0, 1))
        self.assertEqual(CasePerson.objects.count(), 1)
        self.assertEqual(Person.objects.get().birth_year, case.opened_at.year - 19)
        # A later file adding someone to that case (same x_CaseId) adds them to it.
        actions.import_htcds(csv_bytes([victim_row(7, x_CaseId=case.reference)]), actor=self.director)
        self.assertEqual(case.persons.count(), 2)
        self.assertEqual(Case.objects.count(), 1)


class ImportTests(BeaconTestCase):
    def test_import_twice_updates_and_never_duplicates(self):
        rows = [victim_row(1), victim_row(2), victim_row(3, x_CaseId="K-1"), victim_row(4, x_CaseId="K-1")]
        first = actions.import_htcds(csv_bytes(rows), actor=self.director)
        self.assertEqual((first.rows, first.created, first.cases_created), (4, 4, 3))
        self.assertEqual(Case.objects.get(external_case__external_id="K-1").persons.count(), 2)
        second = actions.import_htcds(csv_bytes(rows), actor=self.director)
        self.assertEqual((second.created, second.updated, second.unchanged), (0, 0, 4))
        self.assertEqual((Person.objects.count(), Case.objects.count()), (4, 3))
        rows[1]["vic_TypeOfExploitation"] = "ForcedLabour;ChildLabour"
        rows[1]["prs_SecondName"] = "Rodríguez"
        rows.append(victim_row(5, x_CaseId="K-1"))
        third = actions.import_htcds(csv_bytes(rows), actor=self.director)
        self.assertEqual((third.created, third.updated, third.unchanged), (1, 1, 3))
        link = ExternalRecord.objects.get(external_id="SRC-2").case_person
        self.assertEqual(link.victim_profile.exploitation_types, ["ForcedLabour", "ChildLabour"])
        self.assertEqual(link.victim_profile.exploitation_form, "labour")
        self.assertEqual(link.person.version, 2)
        self.assertEqual(
            search.search("Maria Rodriguez", Person.objects.visible_to(self.director))[0].person, link.person
        )
        self.assertEqual(Case.objects.get(external_case__external_id="K-1").persons.count(), 3)
        self.assertEqual(AuditEvent.objects.filter(action="exchange.htcds_imported").count(), 3)

    def test_imported_victims_count_in_statistics_by_registration_year(self):
        from stats import dataset, standard

        rows = [
            victim_row(1),
            victim_row(2),
            victim_row(3, x_RegistrationDate="", vic_TypeOfExploitation="ForcedLabour"),
        ]
        actions.import_htcds(csv_bytes(rows), actor=self.director)
        by_year = {r["year"]: r["n"] for r in dataset.count("victims", ["year"])}
        this_year = timezone.localdate().year  # no registration date: the day the imported case opened
        self.assertEqual(by_year, {2025: 2, this_year: 1} if this_year != 2025 else {2025: 3})
        cells = {(r.indicator, r.dimension, r.category, r.sex, r.age): r.value for r in standard.glotip_rows(2025)}
        self.assertEqual(cells[("Detected trafficking victims", "by citizenship", "Venezuelan", "Total", "Total")], 2)

    def test_control_characters_are_refused_not_stored(self):
        rows = [victim_row(1, x_ExternalId="SRC-\x00-1"), victim_row(2, prs_FirstName="Ana\x07")]
        with self.assertRaises(ImportRefused) as refused:  # sniffing aside: told it is CSV, as the fuzzer does
            actions.import_htcds(csv_bytes(rows), actor=self.director, fmt="csv")
        found = {(e.line, e.column) for e in refused.exception.errors}
        self.assertEqual(found, {(2, "x_ExternalId"), (3, "prs_FirstName")})
        self.assertEqual(Person.objects.count(), 0)

    def test_every_bad_row_is_reported_and_nothing_is_written(self):
        rows = [
            victim_row(1),
            victim_row(2, prs_Gender="Female"),
            victim_row(3, prs_Birthdate="17/05/2001"),
            victim_row(4, prs_Citizenship="VE;XX"),
            victim_row(5, prs_PrimaryLanguage="klingon"),
            victim_row(6, vic_TypeOfExploitation="SexualExploitation;forcedlabour"),
            victim_row(7, x_ExternalId=""),
            victim_row(1),
            victim_row(9, vic_AgeWhenTrafficked="200"),
            victim_row(10, hte_Type="Exploitation", hte_Latitude="10.5"),
            victim_row(11, x_PersonType="Perpetrator"),
            victim_row(12, x_RegistrationDate="2999-01-01"),
            victim_row(13, prs_Email="not an email"),
        ]
        people, audit_rows = Person.objects.count(), AuditEvent.objects.count()
        with self.assertRaises(ImportRefused) as refused:
            actions.import_htcds(csv_bytes(rows), actor=self.director)
        found = {(e.line, e.column): e.reason for e in refused.exception.errors}
        expected = {
            (3, "prs_Gender"), (4, "prs_Birthdate"), (5, "prs_Citizenship"), (6, "prs_PrimaryLanguage"),
            (7, "vic_TypeOfExploitation"), (8, "x_ExternalId"), (9, "x_ExternalId"), (10, "vic_AgeWhenTrafficked"),
            (11, "hte_Longitude"), (12, "x_PersonType"), (13, "x_RegistrationDate"), (14, "prs_Email"),
        }  # fmt: skip
        self.assertEqual(set(found), expected)
        self.assertIn("Female", found[(3, "prs_Gender")])
        self.assertIn("XX", found[(5, "prs_Citizenship")])
        self.assertIn("case-sensitive", found[(7, "vic_TypeOfExploitation")])
        self.assertIn("ForcedLabour", found[(7, "vic_TypeOfExploitation")])
        self.assertIn("line 2", found[(9, "x_ExternalId")])
        self.assertNotIn("17/05/2001", found[(4, "prs_Birthdate")])  # a personal value is never repeated
        self.assertEqual(Person.objects.count(), people)
        self.assertEqual(AuditEvent.objects.count(), audit_rows)
        self.assertFalse(Case.objects.exists())

    def test_conflicting_rows_of_one_case_are_refused(self):
        rows = [victim_row(1, x_CaseId="K", cas_Status="Active"), victim_row(2, x_CaseId="K", cas_Status="Closed")]
        with self.assertRaises(ImportRefused) as refused:
            actions.import_htcds(csv_bytes(rows), actor=self.director)
        self.assertEqual([(e.line, e.column) for e in refused.exception.errors], [(3, "cas_Status")])

    def test_unknown_column_refuses_the_file_and_other_htcds_fields_are_ignored(self):
        with self.assertRaises(ImportRefused) as refused:
            actions.import_htcds(csv_bytes([victim_row(1, favourite_colour="blue")]), actor=self.director)
        self.assertEqual([(e.line, e.column) for e in refused.exception.errors], [(1, "favourite_colour")])
        result = actions.import_htcds(
            csv_bytes([victim_row(1, prs_MaritalStatus="Single", vic_TraffickinStatusDecisionMakingOrg="NGO")]),
            actor=self.director,
        )
        self.assertEqual(result.ignored_columns, ["prs_MaritalStatus"])
        self.assertEqual(Case.objects.get().deciding_org, "NGO")  # IOM's own template misspells this column

    def test_perpetrator_rows_and_sex_from_gender(self):
        rows = [
            victim_row(1, x_CaseId="K", prs_Gender="TransgenderFeminine"),
            {
                "x_ExternalId": "SRC-P",
                "x_CaseId": "K",
                "prs_FirstName": "Luis",
                "prs_Gender": "Masculine",
                "per_RoleInProcess": "Transporter;Smuggler",
            },
        ]
        actions.import_htcds(csv_bytes(rows), actor=self.director)
        suspect = CasePerson.objects.get(role="suspect")
        self.assertEqual(suspect.suspect_profile.roles_in_process, ["Transporter", "Smuggler"])
        self.assertEqual(suspect.person.sex, "male")
        victim = CasePerson.objects.get(role="victim")
        self.assertEqual((victim.person.sex, victim.person.gender), ("unknown", "TransgenderFeminine"))
        self.assertEqual(victim.case_id, suspect.case_id)

    def test_xlsx_with_date_cells(self):
        data = xlsx_bytes([
            ["x_ExternalId", "prs_FirstName", "prs_SecondName", "prs_Birthdate", "x_RegistrationDate", "vic_AgeWhenTrafficked", "hte_Type", "hte_Latitude", "hte_Longitude"],
            ["X-1", "Priya", "Maharaj", date(1990, 1, 31), date(2025, 2, 1), 16, "Recruitment", 10.65, -61.5],
        ])  # fmt: skip
        result = actions.import_htcds(data, actor=self.director)
        self.assertEqual(result.created, 1)
        link = CasePerson.objects.get()
        self.assertEqual(
            (link.person.birth_date, link.victim_profile.registered_on, link.victim_profile.age_when_trafficked),
            ("1990-01-31", date(2025, 2, 1), 16),
        )
        self.assertEqual(link.places.get().latitude, Decimal("10.650000"))

    def test_imported_person_is_searchable_and_not_stored_in_clear(self):
        actions.import_htcds(
            csv_bytes(
                [victim_row(1, prs_FirstName="Yusleidy", prs_SecondName="Contreras", prs_IdentityNumber="V-99887766")]
            ),
            actor=self.director,
        )
        hits = search.search("Yusleidi Contreras", Person.objects.visible_to(self.director))
        self.assertEqual(len(hits), 1)
        self.assertTrue(SearchToken.objects.filter(person=hits[0].person).exists())
        with connection.cursor() as cursor:
            cursor.execute("SELECT given_names, family_names FROM cases_person")
            stored = " ".join(" ".join(row) for row in cursor.fetchall())
            cursor.execute("SELECT value FROM cases_identifier")
            stored += " ".join(row[0] for row in cursor.fetchall())
        self.assertNotIn("Yusleidy", stored)
        self.assertNotIn("Contreras", stored)
        self.assertNotIn("99887766", stored)
        # The owner is the importing user, who sees the case; an investigator not on it does not.
        self.assertTrue(Person.objects.visible_to(self.director).exists())
        self.assertFalse(Person.objects.visible_to(self.investigator).exists())

    def test_imported_tokens_are_the_ones_the_person_page_would_write(self):
        # The import writes search tokens in bulk, beside cases.search (issue #11); whoever edits a name
        # afterwards rebuilds them with cases.search: both must agree, for people of the same name too.
        rows = [
            victim_row(1, prs_FirstName="José María", prs_SecondName="de la Cruz Hernández"),
            victim_row(2, prs_FirstName="José María", prs_SecondName="de la Cruz Hernández"),
            victim_row(3, prs_FirstName="Xiomara", prs_SecondName=""),
            victim_row(4, prs_FirstName="", prs_SecondName=""),
        ]
        actions.import_htcds(csv_bytes(rows), actor=self.director)
        people = {
            r.external_id: r.case_person.person for r in ExternalRecord.objects.select_related("case_person__person")
        }
        self.assertEqual(len(people), 4)
        for person in people.values():
            stored = set(SearchToken.objects.filter(person=person).values_list("kind", "token"))
            self.assertEqual(stored, search.tokens_for_names(search.person_names(person)))
        self.assertFalse(SearchToken.objects.filter(person=people["SRC-4"]).exists())
        self.assertEqual(SearchToken.objects.filter(person=people["SRC-1"]).count(), 36)  # 4 words: w p x a b c
        hits = search.search("Jose Maria Cruz Hernandez", Person.objects.visible_to(self.director))
        self.assertEqual({h.person.pk for h in hits}, {people["SRC-1"].pk, people["SRC-2"].pk})
        self.assertEqual(
            [h.person.pk for h in search.search("Xiomara", Person.objects.visible_to(self.director))],
            [people["SRC-3"].pk],
        )

    def test_records_in_cases_the_user_may_not_change_are_refused(self):
        # A unit that lets investigators import: they do not see every case.
        role = Role.objects.get(code="investigator")
        role.permissions = [*role.permissions, "exchange.import_htcds"]
        role.save()
        importer = User.objects.get(pk=self.investigator.pk)
        self.assertFalse(importer.has_perm("cases.view_all"))
        actions.import_htcds(csv_bytes([victim_row(1), victim_row(2, x_CaseId="K")]), actor=self.director)
        with self.assertRaises(ImportRefused) as refused:
            actions.import_htcds(csv_bytes([victim_row(1), victim_row(3, x_CaseId="K")]), actor=importer)
        self.assertEqual([(e.line, e.column) for e in refused.exception.errors], [(2, "x_ExternalId"), (3, "x_CaseId")])
        self.assertEqual(Person.objects.count(), 2)

    def test_a_file_that_is_not_csv_or_xlsx_is_refused(self):
        with self.assertRaises(ImportRefused):
            actions.import_htcds(b"%PDF-1.7 binary\x00\x01", actor=self.director)


class CommandTests(BeaconTestCase):
    def run_manage(self, *argv) -> int:
        utility = ManagementUtility(["manage.py", *argv])
        # run_from_argv closes every connection when it ends; the test's transaction must survive it.
        try:
            with mock.patch("django.core.management.base.connections.close_all"):
                utility.execute()
        except SystemExit as exc:
            return exc.code
        return 0

    def test_import_command_exit_codes_and_output(self):
        with tempfile.TemporaryDirectory() as tmp:
            good, bad = Path(tmp, "good.csv"), Path(tmp, "bad.csv")
            good.write_bytes(csv_bytes([victim_row(1), victim_row(2)]))
            bad.write_bytes(csv_bytes([victim_row(3, prs_Gender="F")]))
            out = io.StringIO()
            call_command("import_htcds", str(good), "--user", "director", stdout=out)
            self.assertIn("2 created, 0 updated, 0 unchanged; 2 new cases", out.getvalue())
            err = io.StringIO()
            with mock.patch("sys.stderr", err):
                self.assertEqual(self.run_manage("import_htcds", str(bad), "--user", "director"), 1)
            self.assertIn("line 2, column prs_Gender", err.getvalue())
            self.assertIn("Nothing was imported", err.getvalue())
            with mock.patch("sys.stderr", io.StringIO()):
                self.assertEqual(self.run_manage("import_htcds", str(good), "--user", "analyst"), 1)
        self.assertEqual(Person.objects.count(), 2)

    def test_export_command_writes_xlsx_and_audits(self):
        case = factories.make_case(owner=self.director)
        factories.add_victim(case, given_names="Rosa")
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp, "out.xlsx")
            out = io.StringIO()
            call_command("export_htcds", "--format", "xlsx", "--output", str(target), stdout=out)
            self.assertIn("Exported 1 rows", out.getvalue())
            sheet = load_workbook(target).active
            header = [c.value for c in next(sheet.iter_rows(max_row=1))]
            self.assertEqual(header, COLUMNS)
            self.assertEqual(sheet.cell(row=2, column=COLUMNS.index("prs_FirstName") + 1).value, "Rosa")
        csv_out = io.StringIO()
        call_command("export_htcds", stdout=csv_out)
        self.assertTrue(csv_out.getvalue().startswith("x_ExternalId,"))
        self.assertEqual(AuditEvent.objects.filter(action="exchange.htcds_exported", details__via="command").count(), 2)


class PageTests(BeaconTestCase):
    def test_index_shows_the_tools_each_user_may_use(self):
        page = self.client_for("director").get(reverse("exchange:index"))
        self.assertContains(page, reverse("exchange:htcds_import"))
        self.assertContains(page, reverse("exchange:htcds_export"))
        self.assertContains(page, "/exchange/ctdc/")
        analyst = self.client_for("analyst").get(reverse("exchange:index"))
        self.assertEqual(analyst.status_code, 200)
        self.assertNotContains(analyst, reverse("exchange:htcds_import"))
        self.assertEqual(self.client_for("investigator").get(reverse("exchange:index")).status_code, 403)

    def test_permissions(self):
        for name in ("analyst", "investigator", "nobody", "other_director"):
            client = self.client_for(name)
            self.assertEqual(client.get(reverse("exchange:htcds_import")).status_code, 403, name)
            self.assertEqual(client.post(reverse("exchange:htcds_export"), {"format": "csv"}).status_code, 403, name)
        for url in (reverse("exchange:index"), reverse("exchange:htcds_import"), reverse("exchange:htcds_export")):
            response = self.client.get(url)
            self.assertEqual(response.status_code, 302)
            self.assertIn("login", response["Location"])
        self.assertEqual(self.client_for("deputy").get(reverse("exchange:htcds_import")).status_code, 200)

    def upload(self, client, data: bytes, name: str = "records.csv"):
        upload = io.BytesIO(data)
        upload.name = name
        return client.post(reverse("exchange:htcds_import"), {"upload": upload}, follow=True)

    def test_import_page_shows_the_error_table(self):
        client = self.client_for("director")
        page = self.upload(
            client, csv_bytes([victim_row(1), victim_row(2, prs_Gender="Femenino", prs_Birthdate="yesterday")])
        )
        self.assertContains(page, "Nothing was imported: 2 problems were found.")
        self.assertContains(page, "<td>3</td><td><code>prs_Birthdate</code></td>", html=False)
        self.assertContains(page, "<code>prs_Gender</code>")
        self.assertFalse(Person.objects.exists())
        job = ImportJob.objects.get()
        self.assertEqual(job.status, "refused")
        self.assertNotIn("yesterday", str(job.errors))
        self.assertEqual(job.stored_name, "")
        # Nobody else sees someone's import.
        self.assertEqual(
            self.client_for("deputy").get(reverse("exchange:htcds_import_status", args=[job.pk])).status_code, 404
        )

    def test_import_page_imports_a_good_xlsx(self):
        data = xlsx_bytes([list(victim_row(1)), list(victim_row(1).values())])
        page = self.upload(self.client_for("director"), data, name="looks-like.csv")  # the content decides
        self.assertContains(page, "1 rows: 1 records created, 0 updated, 0 unchanged; 1 new cases.")
        self.assertEqual(Case.objects.get().owner, self.director)

    def test_a_file_that_is_neither_is_refused_by_the_form(self):
        page = self.upload(self.client_for("director"), b"\x89PNG\r\n\x1a\n\x00\x00", name="x.csv")
        self.assertContains(page, "neither a CSV", status_code=400)
        self.assertFalse(ImportJob.objects.exists())

    def test_large_import_runs_in_the_background_with_progress(self):
        client = self.client_for("director")
        with mock.patch.object(actions, "SYNC_MAX_BYTES", 10), self.captureOnCommitCallbacks(execute=True):
            page = self.upload(client, csv_bytes([victim_row(n) for n in range(1, 30)]))
        job = ImportJob.objects.get()
        self.assertEqual(job.status, "queued")
        self.assertContains(page, 'hx-trigger="every 2s"')
        self.assertContains(page, "<progress")
        call_command("beacon_worker", "--once", stdout=io.StringIO())
        job.refresh_from_db()
        self.assertEqual((job.status, job.created, job.progress), ("done", 29, 100))
        fragment = client.get(reverse("exchange:htcds_import_status", args=[job.pk]), headers={"HX-Request": "true"})
        self.assertContains(fragment, "29 records created")
        self.assertNotContains(fragment, "hx-trigger")
        self.assertNotContains(fragment, "<html")
        self.assertEqual(Person.objects.count(), 29)

    def test_export_page_downloads_and_audits(self):
        case = factories.make_case(owner=self.director)
        factories.add_victim(case, given_names="Esperanza")
        client = self.client_for("director")
        self.assertContains(
            client.get(reverse("exchange:htcds_export")), "1 record (victims and perpetrators you may see)"
        )
        # Identifiable records leave only with a second person's approval, for one download (issue #10).
        url = reverse("exchange:htcds_export")
        self.assertContains(client.get(url), "Request approval")
        response = client.post(url, {"format": "csv"}, follow=True)
        self.assertContains(response, "second person")
        self.assertFalse(AuditEvent.objects.filter(action="exchange.htcds_exported").exists())
        response = client.post(url, {"intent": "request", "reason": "Annual data call to IOM."})
        self.assertRedirects(response, url)
        self.assertContains(client.get(url), "awaits a second person")
        item = ApprovalRequest.objects.get()
        approvals.approve(item, actor=self.deputy, version=item.version)
        self.assertContains(client.get(url), "you may download the file once")
        # The file comes in an encrypted ZIP; the page shows its password once (tests/test_export_archives.py).
        page = client.post(url, {"format": "csv"})
        password, download = archive_password_and_link(page)
        self.assertTrue(AuditEvent.objects.filter(action="exchange.htcds_exported", actor_id=self.director.pk).exists())
        response = client.post(download)
        self.assertEqual(response["Content-Type"], "application/zip")
        ((name, body),) = unzip(response.content, password).items()
        self.assertTrue(name.endswith(".csv"))
        self.assertIn("Esperanza", body.decode())
        item.refresh_from_db()
        self.assertEqual(item.status, "used")
        # Used once: the next download needs a new approval.
        response = client.post(url, {"format": "xlsx"}, follow=True)
        self.assertContains(response, "second person")
        approve(
            ApprovalKind.BULK_EXPORT_HTCDS, requester=self.director, approver=self.deputy, target_type="exchange.htcds"
        )
        password, download = archive_password_and_link(client.post(url, {"format": "xlsx"}))
        ((name, body),) = unzip(client.post(download).content, password).items()
        self.assertTrue(name.endswith(".xlsx"))
        self.assertEqual(load_workbook(io.BytesIO(body)).active.cell(row=1, column=1).value, COLUMNS[0])

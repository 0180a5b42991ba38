"""The case record through the UI (issue #4): people with identities, aliases, documents, phones and photos,
HTCDS exploitation details, suspects and their identifiers, places, notes, the timeline, closure and reopening,
likely duplicates when adding a person, and cases linked by a shared identifier."""

from __future__ import annotations

import re
import shutil
import tempfile
from datetime import date, timedelta

from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import actions as cases
from cases.models import Case, CaseAttachment, CasePerson, Identifier, Person, Place
from intake import actions as intake
from screening.actions import record_decision, record_screening
from tests.base import BeaconTestCase

MEDIA_ROOT = tempfile.mkdtemp(prefix="beacon-case-tests-")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"SECRET-PIXELS-OF-A-SURVIVOR" * 20


def open_case_for_tests(test, *, investigator=None, label: str = "Victim A", age: int = 30) -> Case:
    """A case as the route opens it: report, assignment, screening, decision (see tests/test_intake.py)."""
    investigator = investigator or test.investigator
    report = intake.create_report(
        actor=test.intake,
        channel="hotline",
        received_at=timezone.now() - timedelta(days=3),
        narrative="Workers kept in a compound.",
    )
    intake.assign_report(report, actor=test.hoi, version=report.version, investigator=investigator)
    report.refresh_from_db()
    intake.acknowledge_report(report, actor=investigator, version=report.version)
    report.refresh_from_db()
    answers = {"recruitment": True, "deception": True, "forced_labour": True}
    evidence = {"recruitment": "job advert", "deception": "pay lied about", "forced_labour": "no wages"}
    screening = record_screening(
        report,
        actor=investigator,
        version=report.version,
        person_label=label,
        person_age=age,
        age_basis="stated",
        answers=answers,
        evidence=evidence,
    )
    report.refresh_from_db()
    record_decision(
        screening,
        actor=test.hoi,
        version=report.version,
        outcome="victim_identified",
        rationale="All three elements.",
        deciding_org="Police",
    )
    return Case.objects.get(report=report)


def add_suspect(
    case, actor, *, phone: str | None = None, name: str = "Rudolfo", pseudonym: str = "Suspect 1"
) -> CasePerson:
    link = cases.add_person(
        case, actor=actor, role="suspect", pseudonym=pseudonym, given_names=name, family_names="Quintero"
    )
    if phone:
        cases.add_identifier(actor=actor, case=case, link=link, kind="phone", value=phone)
    return link


def png_upload(name: str = "passport-photo.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, PNG, content_type="image/png")


@override_settings(MEDIA_ROOT=MEDIA_ROOT)
class CaseTestCase(BeaconTestCase):
    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(MEDIA_ROOT, ignore_errors=True)

    def url(self, name, *args):
        return reverse(f"cases:{name}", args=args)


class RecordAWholeCaseTests(CaseTestCase):
    def test_record_a_whole_case_and_read_it_back(self):
        case = open_case_for_tests(self)
        client = self.client_for("investigator")  # the owner

        # A victim with identity, an alias, a passport, a phone and a photo.
        response = client.post(self.url("person_add", case.pk), {
            "role": "victim", "pseudonym": "Victim B", "given_names": "María José", "family_names": "Pérez Rondón",
            "birth_date": "2009-03-14", "age_estimation": "document", "sex": "female", "gender": "Feminine",
            "nationalities": "ve, co", "languages": "es", "interpreter_needed": "on",
            "identifier_kind": "id_document", "document_type": "passport", "identifier_value": "VE-A1234567",
        })  # fmt: skip
        victim = CasePerson.objects.get(case=case, pseudonym="Victim B")
        self.assertRedirects(response, self.url("person_detail", case.pk, victim.pk), fetch_redirect_response=False)
        person = victim.person
        self.assertEqual((person.given_names, person.birth_date, person.birth_year), ("María José", "2009-03-14", 2009))
        self.assertEqual(
            (person.nationalities, person.languages, person.interpreter_needed), (["VE", "CO"], ["es"], True)
        )
        self.assertEqual(client.post(self.url("alias_add", case.pk, victim.pk), {"name": "Majo"}).status_code, 302)
        response = client.post(
            self.url("person_identifier_add", case.pk, victim.pk),
            {"kind": "phone", "value": "+1 868 555 0101", "note": "her own phone"},
        )
        self.assertEqual(response.status_code, 302)
        response = client.post(
            self.url("person_attachment_add", case.pk, victim.pk),
            {"upload": png_upload(), "kind": "photo", "description": "Photo from the passport"},
        )
        self.assertEqual(response.status_code, 302)

        # Her exploitation in HTCDS terms.
        profile = victim.victim_profile
        response = client.post(self.url("profile_edit", case.pk, victim.pk), {
            "version": profile.version, "trafficking_status": "ActualVictimOfTrafficking", "registered_on": "2026-11-01",
            "exploitation_types": ["ForcedLabour", "SexualExploitation"], "forced_labour_industry": "I_AccommodationAndFoodServiceActivities",
            "sexual_exploitation_types": ["Prostitution"], "methods_of_control": ["DebtBondage", "WithholdsDocuments"],
            "recruitment_methods": ["ThroughOnlineSocialNetworks"], "recruitment_websites": ["Facebook", "WhatsApp"],
            "exploitation_websites": ["Telegram"], "relationship_to_trafficker": "Unaquainted", "age_when_trafficked": "16",
            "vulnerabilities": ["Migration", "Poverty"], "vulnerability_details": "Arrived alone at sixteen.",
        })  # fmt: skip
        self.assertEqual(response.status_code, 302)
        profile.refresh_from_db()
        self.assertEqual(profile.methods_of_control, ["DebtBondage", "WithholdsDocuments"])
        self.assertEqual(
            (profile.forced_labour_industry, profile.age_when_trafficked, profile.version),
            ("I_AccommodationAndFoodServiceActivities", 16, 2),
        )

        # A suspect with a vehicle and a bank account, and a role in HTCDS terms.
        response = client.post(self.url("person_add", case.pk), {
            "role": "suspect", "pseudonym": "Suspect 1", "given_names": "Rudolfo", "family_names": "Quintero", "sex": "male",
            "gender": "Masculine", "age_estimation": "appearance", "estimated_age": "45", "nationalities": "TT",
        })  # fmt: skip
        suspect = CasePerson.objects.get(case=case, role="suspect")
        self.assertEqual(suspect.person.age_estimated_on, timezone.localdate())
        client.post(self.url("person_identifier_add", case.pk, suspect.pk), {"kind": "vehicle", "value": "PCX 1234"})
        client.post(
            self.url("person_identifier_add", case.pk, suspect.pk),
            {"kind": "bank_account", "value": "RBL 160-442-981", "country": "tt"},
        )
        self.assertEqual(
            sorted(Identifier.objects.filter(person=suspect.person).values_list("kind", flat=True)),
            ["bank_account", "vehicle"],
        )
        client.post(
            self.url("profile_edit", case.pk, suspect.pk),
            {
                "version": 1,
                "roles_in_process": ["RecruiterOrIntermediary", "Exploiter"],
                "role_details": "Ran the guest house.",
            },
        )

        # Places with dates and a map pin, and a note.
        response = client.post(
            self.url("place_add", case.pk),
            {
                "kind": "Recruitment",
                "description": "Contacted on social media",
                "city": "Maturín",
                "country": "ve",
                "date_from": "2026-06-01",
            },
        )
        self.assertEqual(response.status_code, 302)
        client.post(self.url("place_add", case.pk), {
            "kind": "Exploitation", "case_person": victim.pk, "description": "Guest house near the waterfront", "city": "San Fernando",
            "country": "TT", "latitude": "10.2797", "longitude": "-61.4589", "date_from": "2026-07-15", "date_to": "2026-10-20",
        })  # fmt: skip
        self.assertEqual(
            list(Place.objects.filter(case=case).values_list("kind", "country")),
            [("Recruitment", "VE"), ("Exploitation", "TT")],
        )
        client.post(self.url("note_add", case.pk), {"text": "Interview held with a Spanish interpreter."})

        # Read it all back.
        page = client.get(self.url("case_detail", case.pk))
        for text in (
            "Victim B",
            "María José Pérez Rondón",
            "Majo",
            "Suspect 1",
            "Rudolfo Quintero",
            "Maturín",
            "10.279700, -61.458900",
            "2026-07-15",
            "Interview held with a Spanish interpreter.",
            "passport-photo.png",
        ):
            self.assertContains(page, text)
        self.assertContains(page, reverse("care:case_care", args=[case.pk]))
        page = client.get(self.url("person_detail", case.pk, victim.pk))
        for text in ("2009-03-14", "From an identity document", "Feminine", "VE, CO", "needs an interpreter", "Majo", "Passport", "VE-A1234567", "+1 868 555 0101", "her own phone",
                     "passport-photo.png", "Debt bondage", "Withholds documents", "Accommodation and food services", "Prostitution", "Online social networks",
                     "Telegram", "Stranger", "Arrived alone at sixteen.", "Victim of trafficking", "Guest house near the waterfront"):  # fmt: skip
            self.assertContains(page, text)
        page = client.get(self.url("person_detail", case.pk, suspect.pk))
        for text in (
            "PCX 1234",
            "RBL 160-442-981",
            "Vehicle",
            "Bank account",
            "Recruiter or intermediary",
            "Exploiter",
            "Ran the guest house.",
        ):
            self.assertContains(page, text)

        # Close with a reason and follow-up; reopen.
        case.refresh_from_db()
        due = (timezone.localdate() + timedelta(days=90)).isoformat()
        response = client.post(
            self.url("case_close", case.pk),
            {
                "status": "Closed",
                "reason": "Survivor repatriated with consent.",
                "follow_up": "Call the IOM office in Caracas.",
                "follow_up_due": due,
                "version": case.version,
            },
        )
        self.assertRedirects(response, self.url("case_detail", case.pk), fetch_redirect_response=False)
        case.refresh_from_db()
        self.assertEqual(
            (case.status, case.closure_reason, case.follow_up_due.isoformat()),
            ("Closed", "Survivor repatriated with consent.", due),
        )
        self.assertIsNotNone(case.closed_at)
        page = client.get(self.url("case_detail", case.pk))
        self.assertContains(page, "Survivor repatriated with consent.")
        self.assertContains(page, "Call the IOM office in Caracas.")
        response = client.post(self.url("case_reopen", case.pk), {"version": case.version})
        self.assertEqual(response.status_code, 302)
        case.refresh_from_db()
        self.assertEqual((case.status, case.closed_at), ("Active", None))

    def test_identities_are_encrypted_and_values_never_reach_the_audit_log(self):
        case = open_case_for_tests(self)
        client = self.client_for("investigator")
        client.post(self.url("person_add", case.pk), {
            "role": "witness", "pseudonym": "Witness 1", "given_names": "Zoraida", "family_names": "Quintana", "age_estimation": "unknown",
            "sex": "female", "gender": "Feminine", "identifier_kind": "phone", "identifier_value": "+1 868 555 0147",
        })  # fmt: skip
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT given_names, family_names FROM cases_person")
            people = " ".join(str(v) for row in cursor.fetchall() for v in row)
            cursor.execute("SELECT value FROM cases_identifier")
            values = " ".join(str(v) for row in cursor.fetchall() for v in row)
        self.assertNotIn("Zoraida", people)
        self.assertNotIn("555 0147", values)
        logged = " ".join(
            f"{e.details} {e.changed_fields}" for e in AuditEvent.objects.filter(action__startswith="cases.")
        )
        for secret in ("Zoraida", "Quintana", "0147"):
            self.assertNotIn(secret, logged)

    def test_bad_input_changes_nothing(self):
        case = open_case_for_tests(self)
        client = self.client_for("investigator")
        people = Person.objects.count()
        response = client.post(self.url("person_add", case.pk), {
            "role": "victim", "pseudonym": "Victim C", "given_names": "Ana", "birth_date": "2099-01-01", "age_estimation": "document",
            "sex": "female", "gender": "Feminine", "nationalities": "Venezuela", "languages": "spanish", "identifier_kind": "phone",
        })  # fmt: skip
        self.assertEqual(response.status_code, 200)
        self.assertTrue(
            {"birth_date", "nationalities", "languages", "identifier_value"} <= set(response.context["form"].errors)
        )
        self.assertContains(response, 'aria-describedby="nationalities-errors"')
        self.assertContains(response, 'id="nationalities-errors"')
        self.assertEqual(Person.objects.count(), people)

        response = client.post(
            self.url("place_add", case.pk),
            {
                "kind": "Transit",
                "latitude": "95",
                "country": "Trinidad",
                "date_from": "2026-05-02",
                "date_to": "2026-05-01",
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertTrue({"latitude", "country", "date_to"} <= set(response.context["form"].errors))
        self.assertFalse(Place.objects.filter(case=case).exists())

        from django.core.files.uploadedfile import SimpleUploadedFile

        response = client.post(
            self.url("attachment_add", case.pk),
            {"upload": SimpleUploadedFile("notes.txt", b"just text"), "kind": "document"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("upload", response.context["form"].errors)
        response = client.post(
            self.url("attachment_add", case.pk),
            {"upload": SimpleUploadedFile("scan.pdf", b"%PDF-1.4 scan"), "kind": "photo"},
        )
        self.assertIn("kind", response.context["form"].errors)
        self.assertFalse(CaseAttachment.objects.exists())

        response = client.post(
            self.url("case_close", case.pk), {"status": "Closed", "reason": "  ", "version": case.version}
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(Case.objects.get(pk=case.pk).status, "Active")

        victim = case.persons.get(role="victim")
        response = client.post(
            self.url("profile_edit", case.pk, victim.pk),
            {
                "version": 1,
                "trafficking_status": "PossibleVictimOfTrafficking",
                "forced_labour_industry": "F_Construction",
                "exploitation_types": ["Bogus"],
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertTrue({"exploitation_types"} <= set(response.context["form"].errors))
        self.assertEqual(victim.victim_profile.__class__.objects.get(pk=victim.victim_profile.pk).version, 1)


class DuplicateProposalTests(CaseTestCase):
    def test_likely_duplicates_are_proposed_and_an_existing_person_can_be_used(self):
        first = open_case_for_tests(self)
        earlier = cases.add_person(
            first,
            actor=self.investigator,
            role="victim",
            pseudonym="Victim B",
            given_names="María José",
            family_names="Pérez",
            birth_date="2009-03-14",
        )
        second = open_case_for_tests(self)
        client = self.client_for("investigator")
        identity = {
            "role": "victim",
            "pseudonym": "Victim X",
            "given_names": "Maria Jose",
            "family_names": "Perez",
            "age_estimation": "stated",
            "sex": "female",
            "gender": "Feminine",
        }

        step_two = client.post(self.url("person_add", second.pk), identity)
        self.assertEqual(step_two.status_code, 200)
        self.assertEqual(step_two.context["step"], 2)
        proposed = step_two.context["proposals"]
        self.assertEqual([row["person"].pk for row in proposed], [earlier.person_id])
        self.assertContains(step_two, "María José Pérez")
        self.assertContains(step_two, first.reference)  # where the proposed person already appears
        self.assertContains(step_two, "% match")
        self.assertRegex(step_two.content.decode(), r'name="given_names" value="Maria Jose"')
        self.assertFalse(CasePerson.objects.filter(case=second, pseudonym="Victim X").exists())  # nothing created yet

        people = Person.objects.count()
        response = client.post(self.url("person_add", second.pk), {**identity, "use_person": earlier.person_id})
        link = CasePerson.objects.get(case=second, pseudonym="Victim X")
        self.assertRedirects(response, self.url("person_detail", second.pk, link.pk), fetch_redirect_response=False)
        self.assertEqual(link.person_id, earlier.person_id)
        self.assertEqual(Person.objects.count(), people)
        # One person, two cases: each case shows the other as linked.
        self.assertContains(client.get(self.url("case_detail", second.pk)), first.reference)

        response = client.post(
            self.url("person_add", second.pk),
            {**identity, "role": "witness", "pseudonym": "Witness X", "create_new": "1"},
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Person.objects.count(), people + 1)

    def test_a_person_that_was_not_proposed_cannot_be_picked(self):
        hidden_case = open_case_for_tests(self, investigator=self.investigator2)
        stranger = cases.add_person(
            hidden_case,
            actor=self.investigator2,
            role="victim",
            pseudonym="V",
            given_names="Maria Jose",
            family_names="Perez",
        )
        case = open_case_for_tests(self)
        identity = {
            "role": "victim",
            "pseudonym": "Victim X",
            "given_names": "Maria Jose",
            "family_names": "Perez",
            "age_estimation": "stated",
            "sex": "female",
            "gender": "Feminine",
        }
        client = self.client_for("investigator")
        # People in cases the officer cannot see are never proposed, and a forged choice is refused.
        people = Person.objects.count()
        response = client.post(self.url("person_add", case.pk), {**identity, "use_person": stranger.person_id})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Choose one of the proposed people")
        self.assertEqual(response.context["proposals"], [])
        self.assertNotContains(response, hidden_case.reference)
        self.assertFalse(CasePerson.objects.filter(case=case, pseudonym="Victim X").exists())
        # Without a forged choice the person is created at once, as a new person.
        response = client.post(self.url("person_add", case.pk), identity)
        self.assertEqual(response.status_code, 302)
        link = CasePerson.objects.get(case=case, pseudonym="Victim X")
        self.assertNotEqual(link.person_id, stranger.person_id)
        self.assertEqual(Person.objects.count(), people + 1)


class TimelineTests(CaseTestCase):
    def test_timeline_lists_every_event_in_order_with_human_labels(self):
        case = open_case_for_tests(self)
        client = self.client_for("investigator")
        victim = case.persons.get(role="victim")
        client.post(
            self.url("person_identifier_add", case.pk, victim.pk), {"kind": "phone", "value": "+1 868 555 0101"}
        )
        client.post(
            self.url("place_add", case.pk),
            {
                "kind": "Recruitment",
                "city": "Maturín",
                "country": "VE",
                "date_from": (timezone.localdate() - timedelta(days=200)).isoformat(),
            },
        )
        client.post(self.url("note_add", case.pk), {"text": "First interview done."})
        cases.add_team_member(case, actor=self.hoi, user=self.care, role="care")
        case.refresh_from_db()
        client.post(
            self.url("case_close", case.pk),
            {
                "status": "FollowUp",
                "reason": "Survivor safe in shelter.",
                "follow_up": "Check in monthly.",
                "version": case.version,
            },
        )

        page = client.get(self.url("case_timeline", case.pk))
        self.assertEqual(page.status_code, 200)
        entries = page.context["entries"]
        self.assertEqual([e.at for e in entries], sorted(e.at for e in entries))
        labels = [e.label for e in entries]
        expected = [
            "Recruitment",
            "Report received",
            "Report assigned",
            "Assignment acknowledged",
            "Screening recorded",
            "Identification decision",
            "Case opened",
            "Identifier added",
            "Place recorded",
            "Note",
            "Team member added",
            "Case closed",
        ]
        positions = [labels.index(label) for label in expected]
        self.assertEqual(positions, sorted(positions), labels)
        html = page.content.decode()
        self.assertNotIn("cases.", html)  # action codes never shown, only their labels
        self.assertNotIn("ForcedLabour", html)
        self.assertIn("First interview done.", html)
        self.assertIn("Victim care officer", html)
        self.assertIn("Follow-up", html)
        # Reading the timeline is itself audited.
        self.assertTrue(
            AuditEvent.objects.filter(
                action="cases.case_viewed", object_id=str(case.pk), details__page="timeline"
            ).exists()
        )

    def test_timeline_leaves_out_people_the_user_may_not_see(self):
        case = open_case_for_tests(self)
        add_suspect(case, self.investigator, phone="+1 868 555 0177", pseudonym="Suspect Zed")
        cases.add_team_member(case, actor=self.hoi, user=self.care, role="care")
        entries = self.client_for("care").get(self.url("case_timeline", case.pk)).context["entries"]
        self.assertFalse([e for e in entries if "Suspect Zed" in e.detail or e.label == "Identifier added"])
        entries = self.client_for("investigator").get(self.url("case_timeline", case.pk)).context["entries"]
        self.assertTrue([e for e in entries if "Suspect Zed" in e.detail])

    def test_victim_care_events_appear_with_the_victim_only_for_who_may_see_them(self):
        from care import actions as care

        case = open_case_for_tests(self)
        victim = case.persons.get(role="victim")
        cases.add_team_member(case, actor=self.hoi, user=self.care, role="care")
        cases.add_team_member(case, actor=self.hoi, user=self.investigator2, role="suspect_handler")
        care.add_need(victim, actor=self.care, need_type="shelter", priority="urgent")
        entries = self.client_for("care").get(self.url("case_timeline", case.pk)).context["entries"]
        need = [e for e in entries if e.category == "care"]
        self.assertEqual([(e.label, e.detail) for e in need], [("Need recorded", victim.pseudonym)])
        self.assertNotIn("shelter", str([e.detail for e in entries]))
        entries = self.client_for("investigator2").get(self.url("case_timeline", case.pk)).context["entries"]
        self.assertFalse([e for e in entries if e.category == "care"])


class CrossCaseLinkTests(CaseTestCase):
    def setUp(self):
        self.first = open_case_for_tests(self)  # investigator's
        self.second = open_case_for_tests(self, investigator=self.investigator2)  # investigator2's
        cases.add_team_member(self.second, actor=self.hoi, user=self.investigator, role="investigator")
        add_suspect(self.first, self.investigator, phone="+1 868 555 0177")
        add_suspect(self.second, self.investigator2, phone="868-555-0177", name="Rudy")
        self.unrelated = open_case_for_tests(self)
        add_suspect(self.unrelated, self.investigator, phone="+1 868 555 9999", pseudonym="Other")

    def test_investigator_on_both_cases_sees_the_link(self):
        page = self.client_for("investigator").get(reverse("cases:case_detail", args=[self.first.pk]))
        links = page.context["links"]
        self.assertEqual([item.case for item in links.visible], [self.second])
        self.assertEqual(links.visible[0].labels, ["Phone"])
        self.assertEqual(links.hidden_count, 0)
        self.assertContains(page, self.second.reference)
        self.assertNotContains(page, self.unrelated.reference)

    def test_investigator_on_one_case_learns_only_that_a_link_exists(self):
        page = self.client_for("investigator2").get(reverse("cases:case_detail", args=[self.second.pk]))
        links = page.context["links"]
        self.assertEqual((links.visible, links.hidden_count, links.hidden_labels), ([], 1, ["Phone"]))
        self.assertContains(page, "1 other case you cannot see shares: Phone.")
        self.assertContains(page, "Ask the Head of Investigations")
        self.assertNotContains(page, self.first.reference)

    def test_case_level_identifiers_link_too_and_leadership_sees_all(self):
        cases.add_identifier(actor=self.investigator, case=self.unrelated, kind="vehicle", value="PCX 1234")
        cases.add_identifier(actor=self.investigator2, case=self.second, kind="vehicle", value="pcx-1234")
        links = self.client_for("hoi").get(reverse("cases:case_detail", args=[self.second.pk])).context["links"]
        found = {item.case.pk: item.labels for item in links.visible}
        self.assertEqual(found, {self.first.pk: ["Phone"], self.unrelated.pk: ["Vehicle"]})

    def test_care_officer_does_not_learn_links_through_a_suspect_they_may_not_see(self):
        cases.add_team_member(self.first, actor=self.hoi, user=self.care, role="care")
        links = self.client_for("care").get(reverse("cases:case_detail", args=[self.first.pk])).context["links"]
        self.assertFalse(links)


class StaleEditTests(CaseTestCase):
    def test_stale_edits_are_refused_with_409_and_change_nothing(self):
        case = open_case_for_tests(self)
        victim = case.persons.get(role="victim")
        person = victim.person
        cases.update_person(victim, actor=self.hoi, version=person.version, given_names="Ana")
        client = self.client_for("investigator")
        response = client.post(self.url("person_edit", case.pk, victim.pk), {
            "version": 1, "pseudonym": "Victim A", "given_names": "Beatriz", "age_estimation": "stated", "sex": "female", "gender": "Feminine",
        })  # fmt: skip
        self.assertEqual(response.status_code, 409)
        self.assertContains(response, "Someone else changed this record", status_code=409)
        self.assertEqual(Person.objects.get(pk=person.pk).given_names, "Ana")

        profile = victim.victim_profile
        cases.update_profile(victim, actor=self.hoi, version=profile.version, vulnerabilities=["Poverty"])
        response = client.post(
            self.url("profile_edit", case.pk, victim.pk),
            {"version": 1, "trafficking_status": "ActualVictimOfTrafficking", "vulnerabilities": ["Migration"]},
        )
        self.assertEqual(response.status_code, 409)
        self.assertEqual(type(profile).objects.get(pk=profile.pk).vulnerabilities, ["Poverty"])

        stale = case.version
        cases.close_case(case, actor=self.hoi, version=stale, status="FollowUp", reason="Monitoring")
        response = client.post(
            self.url("case_close", case.pk), {"status": "Closed", "reason": "Done", "version": stale}
        )
        self.assertEqual(response.status_code, 409)
        self.assertEqual(Case.objects.get(pk=case.pk).status, "FollowUp")
        response = client.post(self.url("case_reopen", case.pk), {"version": stale})
        self.assertEqual(response.status_code, 409)
        self.assertEqual(Case.objects.get(pk=case.pk).status, "FollowUp")

    def test_edit_form_carries_the_version(self):
        case = open_case_for_tests(self)
        victim = case.persons.get(role="victim")
        page = self.client_for("investigator").get(self.url("person_edit", case.pk, victim.pk))
        self.assertRegex(page.content.decode(), r'<input type="hidden" name="version" value="1"')
        self.assertTrue(re.search(r"<fieldset[^>]*><legend", page.content.decode()))


class AttachmentStorageTests(CaseTestCase):
    def test_files_are_encrypted_on_disk_and_downloaded_as_attachments_only(self):
        from pathlib import Path

        case = open_case_for_tests(self)
        victim = case.persons.get(role="victim")
        client = self.client_for("investigator")
        client.post(self.url("person_attachment_add", case.pk, victim.pk), {"upload": png_upload(), "kind": "photo"})
        attachment = CaseAttachment.objects.get()
        self.assertEqual(
            (attachment.case_person, attachment.content_type, attachment.size), (victim, "image/png", len(PNG))
        )
        stored = [
            p
            for p in Path(MEDIA_ROOT, "case-attachments").rglob("*")
            if p.is_file() and p.name == attachment.stored_name
        ]
        self.assertEqual(len(stored), 1)
        raw = stored[0].read_bytes()
        self.assertNotIn(b"SECRET-PIXELS", raw)
        self.assertNotIn(PNG[:8], raw)

        response = client.get(self.url("attachment_download", case.pk, attachment.pk))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, PNG)
        self.assertTrue(response["Content-Disposition"].startswith("attachment;"))
        self.assertNotIn("passport-photo", response["Content-Disposition"])
        self.assertEqual(response["Content-Type"], "application/octet-stream")
        self.assertEqual(response["X-Content-Type-Options"], "nosniff")
        event = AuditEvent.objects.filter(action="cases.attachment_downloaded").latest("id")
        self.assertEqual(
            (event.actor_name, event.object_id, event.details),
            ("investigator", str(case.pk), {"attachment_id": attachment.pk}),
        )


class ShareFormTests(CaseTestCase):
    def test_share_needs_reason_and_future_end_date(self):
        case = open_case_for_tests(self)
        client = self.client_for("investigator")
        response = client.post(
            reverse("cases:share_add", args=[case.pk]),
            {
                "share-user": self.investigator2.pk,
                "share-scope": "full",
                "share-reason": "",
                "share-until": (date.today() - timedelta(days=1)).isoformat(),
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertTrue({"reason", "until"} <= set(response.context["share_form"].errors))
        self.assertFalse(case.shares.exists())
        response = client.post(
            reverse("cases:share_add", args=[case.pk]),
            {
                "share-user": self.shelter.pk,
                "share-scope": "full",
                "share-reason": "Shelter needs it",
                "share-until": (date.today() + timedelta(days=1)).isoformat(),
            },
        )
        self.assertEqual(response.status_code, 200)  # partners are not offered: they receive referrals instead
        self.assertFalse(case.shares.exists())

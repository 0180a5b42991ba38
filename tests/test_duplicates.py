"""Duplicate people (issue #4): proposals with reasons, the whole-database report, merging and undoing."""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path
from unittest import mock

from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from approvals import actions as approvals
from approvals.choices import Kind as ApprovalKind
from approvals.models import ApprovalRequest
from audit.models import AuditEvent
from cases import actions, duplicates, search
from cases.models import CasePerson, Identifier, Person, PersonAlias, PersonMerge
from tests.approval_helpers import approve
from tests.test_people_search import PeopleTestCase, open_case


class DuplicateTestCase(PeopleTestCase):
    """Besides the people of PeopleTestCase: in case 1 Maria has a date of birth, a passport, a phone, a
    nationality and an alias. In case 3 (investigator's) "Maria Jose Peres" was recorded again with another
    spelling, the same passport written differently and a date of birth a year off."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        link = cls.maria.case_links.get()
        actions.update_person(link, actor=cls.investigator, version=cls.maria.version, birth_date="1994-03-12", nationalities=["VE"])
        actions.add_identifier(actor=cls.investigator, kind="id_document", document_type="passport", value="VE-123 456 78", case=cls.case1, link=link)
        actions.add_identifier(actor=cls.investigator, kind="phone", value="+1 (868) 555-0142", case=cls.case1, link=link)
        actions.add_alias(link, actor=cls.investigator, name="Majo")
        cls.case3 = open_case(cls.investigator, hoi=cls.hoi, intake=cls.intake, label="Victim C")
        cls.again_link = actions.add_person(
            cls.case3, actor=cls.investigator, role="victim", pseudonym="V-3", given_names="Maria Jose", family_names="Peres",
            birth_date="1995-01-02", nationalities=["VE"],
        )  # fmt: skip
        cls.again = cls.again_link.person
        actions.add_identifier(actor=cls.investigator, kind="id_document", document_type="passport", value="ve12345678", case=cls.case3, link=cls.again_link)
        actions.add_alias(cls.again_link, actor=cls.investigator, name="La Flaca")
        cls.maria.refresh_from_db()


class ProposeTests(DuplicateTestCase):
    def propose(self, user="investigator", **described):
        return duplicates.propose(Person.objects.visible_to(self.users[user]), **described)

    def test_same_name_and_date_of_birth(self):
        [first, *_rest] = self.propose(given_names="Maria José", family_names="Pérez", birth_date=date(1994, 3, 12))
        self.assertEqual(first.person, self.maria)
        self.assertGreaterEqual(first.score, 0.9)
        self.assertLessEqual(first.score, 1.0)
        self.assertIn("Same name", first.reasons)
        self.assertIn("Same date of birth", first.reasons)

    def test_spelling_variant_born_a_year_apart(self):
        proposals = {p.person.pk: p for p in self.propose(given_names="Maria Jose", family_names="Peres", birth_date="1995-01-02")}
        self.assertIn("Same date of birth", proposals[self.again.pk].reasons)
        self.assertIn("Born within a year of each other", proposals[self.maria.pk].reasons)
        self.assertTrue(any(r.startswith("Similar names") for r in proposals[self.maria.pk].reasons))

    def test_same_document_number_under_another_name(self):
        [proposal] = [p for p in self.propose(given_names="Josefina", family_names="Quintero", identifiers=[("id_document", "ve 1234 5678")]) if p.person == self.maria]
        self.assertIn("Same document number", proposal.reasons)
        self.assertGreaterEqual(proposal.score, 0.5)

    def test_same_phone_written_differently_with_a_compatible_age(self):
        proposals = self.propose(given_names="Marie", family_names="Peret", estimated_age=self.maria.age_on(timezone.localdate()), identifiers=[("phone", "868 555 0142")], nationalities=["VE"])
        [proposal] = [p for p in proposals if p.person == self.maria]
        self.assertIn("Same phone number", proposal.reasons)
        self.assertIn("Ages are compatible", proposal.reasons)
        self.assertIn("Same nationality", proposal.reasons)

    def test_different_dates_of_birth_count_against(self):
        proposals = {p.person.pk: p for p in self.propose(given_names="Maria Jose", family_names="Perez", birth_date="1971-08-30")}
        match = proposals.get(self.maria.pk)
        self.assertTrue(match is None or "Different dates of birth" in match.reasons)
        self.assertTrue(match is None or match.score < 0.9)

    def test_exclude_and_visibility(self):
        proposals = self.propose(given_names="Maria Jose", family_names="Perez", exclude=self.maria)
        self.assertNotIn(self.maria.pk, [p.person.pk for p in proposals])
        self.assertEqual(self.propose("investigator2", given_names="Maria Jose", family_names="Perez", identifiers=[("id_document", "VE12345678")]), [])
        self.assertEqual(self.propose("care", given_names="Mohammed", family_names="Al Rashid"), [])
        self.assertEqual(self.propose(), [])


class BlindIndexKeyTests(DuplicateTestCase):
    def test_reindex_people_after_a_new_blind_index_key(self):
        people = Person.objects.visible_to(self.investigator)
        with override_settings(BLIND_INDEX_KEY="a-new-blind-index-key-for-the-test"):
            # Until reindexed, nothing stored under the old key is found.
            self.assertEqual(search.search("Maria Jose Perez", people), [])
            call_command("reindex_people", verbosity=0)
            self.assertEqual(search.search("Maria Jose Perez", people)[0].person, self.maria)
            [proposal] = [p for p in duplicates.propose(people, given_names="Josefina", identifiers=[("id_document", "VE12345678")]) if p.person == self.maria]
            self.assertIn("Same document number", proposal.reasons)
        event = AuditEvent.objects.filter(action="people.reindexed").latest("id")
        self.assertGreaterEqual(event.details["identifiers_changed"], 3)


class DuplicateReportTests(DuplicateTestCase):
    def test_without_permission_403(self):
        for name in ("investigator", "care", "analyst", "other_director"):
            with self.subTest(user=name):
                self.assertEqual(self.client_for(name).get(reverse("people:duplicates")).status_code, 403)

    def test_report_lists_the_pair_with_reasons_and_a_compare_link(self):
        response = self.client_for("hoi").get(reverse("people:duplicates"))
        self.assertEqual(response.status_code, 200)
        pairs = {(r["a"].pk, r["b"].pk): r for r in response.context["rows"]}
        row = pairs[(self.maria.pk, self.again.pk)]
        self.assertIn("Same document number", row["reasons"])
        self.assertIn("Born within a year of each other", row["reasons"])
        self.assertContains(response, reverse("people:merge", args=[self.maria.pk, self.again.pk]))
        self.assertContains(response, "V-3")
        self.assertTrue(AuditEvent.objects.filter(action="people.duplicates_viewed", actor_name="hoi").exists())

    def test_pairs_with_a_record_the_user_cannot_see_are_counted_not_shown(self):
        role = self.investigator2.roles.get()
        role.permissions = [*role.permissions, "cases.view_duplicates"]
        role.save()
        # investigator2 sees case 2 only: Carlos, his twin record (same phone), and a record of Maria's double.
        twin = actions.add_person(self.case2, actor=self.investigator2, role="witness", pseudonym="W-2", given_names="Carlos", family_names="Gonzales")
        actions.add_identifier(actor=self.investigator2, kind="phone", value="868 555 0199", case=self.case2, link=twin)
        actions.add_identifier(actor=self.investigator2, kind="phone", value="+1 868 555 0199", case=self.case2, link=self.carlos.case_links.get())
        actions.add_person(self.case2, actor=self.investigator2, role="witness", pseudonym="W-3", given_names="Maria Jose", family_names="Perez", birth_date="1994-03-12")
        response = self.client_for("investigator2").get(reverse("people:duplicates"))
        pairs = {(r["a"].pk, r["b"].pk) for r in response.context["rows"]}
        self.assertIn((self.carlos.pk, twin.person.pk), pairs)
        self.assertTrue(all(self.maria.pk not in pair and self.again.pk not in pair for pair in pairs))
        self.assertGreaterEqual(response.context["hidden"], 1)
        self.assertNotContains(response, "María José")

    def test_find_duplicates_command_writes_ids_and_codes_only_and_the_page_reads_it(self):
        with tempfile.TemporaryDirectory() as tmp, override_settings(BEACON_DUPLICATES_FILE=str(Path(tmp) / "dups.json")):
            call_command("find_duplicates", verbosity=0)
            text = (Path(tmp) / "dups.json").read_text()
            saved = json.loads(text)
            self.assertIn([self.maria.pk, self.again.pk], [row[:2] for row in saved["pairs"]])
            for word in ("maria", "perez", "1994", "5550142", "12345678"):
                self.assertNotIn(word, text.lower())
            self.assertTrue(AuditEvent.objects.filter(action="people.duplicates_computed").exists())
            with mock.patch.object(duplicates, "ON_REQUEST_LIMIT", 0):
                response = self.client_for("director").get(reverse("people:duplicates"))
                self.assertIn((self.maria.pk, self.again.pk), {(r["a"].pk, r["b"].pk) for r in response.context["rows"]})

    def test_namesakes_born_years_apart_are_not_listed_the_same_person_again_is(self):
        first = actions.add_person(self.case1, actor=self.investigator, role="witness", pseudonym="N-1", given_names="Ana Lucía", family_names="Gonzalez Rivas", birth_date="1980-01-01", nationalities=["VE"], sex="female")
        again = actions.add_person(self.case1, actor=self.investigator, role="witness", pseudonym="N-2", given_names="Ana Lucia", family_names="González Rivas", birth_date="1980-01-01", nationalities=["VE"], sex="female")
        namesake = actions.add_person(self.case1, actor=self.investigator, role="witness", pseudonym="N-3", given_names="Ana Lucía", family_names="Gonzalez Rivas", birth_date="1991-06-30", nationalities=["VE"], sex="female")
        response = self.client_for("director").get(reverse("people:duplicates"))
        rows = {(r["a"].pk, r["b"].pk): r for r in response.context["rows"]}
        row = rows[(first.person.pk, again.person.pk)]
        self.assertIn("Same name", row["reasons"])
        self.assertIn("Same date of birth", row["reasons"])
        self.assertLessEqual(row["score"], 100)
        self.assertNotIn((first.person.pk, namesake.person.pk), rows)
        self.assertNotIn((again.person.pk, namesake.person.pk), rows)

    def test_large_database_without_a_computed_report_says_so(self):
        with tempfile.TemporaryDirectory() as tmp, override_settings(BEACON_DUPLICATES_FILE=str(Path(tmp) / "none.json")), mock.patch.object(duplicates, "ON_REQUEST_LIMIT", 0):
            response = self.client_for("director").get(reverse("people:duplicates"))
            self.assertContains(response, "has not been computed yet")

    def test_report_is_paginated(self):
        with mock.patch("cases.people_views.PAIRS_PER_PAGE", 1):
            for n in range(2):
                actions.add_person(self.case1, actor=self.investigator, role="witness", pseudonym=f"T-{n}", given_names="Ana", family_names="Gonzalez Rivas", birth_date="1980-01-01")
            response = self.client_for("director").get(reverse("people:duplicates"))
            self.assertGreater(response.context["page"].paginator.num_pages, 1)
            self.assertEqual(len(response.context["rows"]), 1)
            self.assertContains(response, "page=2")


class MergeTests(DuplicateTestCase):
    def url(self):
        return reverse("people:merge", args=[self.maria.pk, self.again.pk])

    def test_without_permission_403(self):
        self.assertEqual(self.client_for("investigator").get(self.url()).status_code, 403)
        self.assertEqual(self.client_for("investigator").post(self.url(), {"keep": self.maria.pk, "confirm": "on"}).status_code, 403)
        self.assertEqual(self.client_for("investigator").get(reverse("people:merges")).status_code, 403)
        self.assertFalse(PersonMerge.objects.exists())

    def test_records_someone_cannot_see_are_404(self):
        role = self.investigator2.roles.get()
        role.permissions = [*role.permissions, "cases.merge_persons"]
        role.save()
        self.assertEqual(self.client_for("investigator2").get(self.url()).status_code, 404)
        self.assertEqual(self.client_for("investigator2").get(reverse("people:merge", args=[self.carlos.pk, self.maria.pk])).status_code, 404)

    def test_merge_needs_confirmation(self):
        response = self.client_for("director").post(self.url(), {"keep": self.maria.pk})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(PersonMerge.objects.exists())

    def test_merge_and_undo_through_the_pages(self):
        director = self.client_for("director")
        page = director.get(self.url())
        self.assertContains(page, "María José")
        self.assertContains(page, "Peres")
        self.assertContains(page, "VE-123 456 78")
        self.assertContains(page, "Same document number")
        self.assertTrue(AuditEvent.objects.filter(action="people.merge_compared", object_id=str(self.maria.pk)).exists())

        again_links = list(CasePerson.objects.filter(person=self.again).values_list("pk", flat=True))
        again_aliases = list(PersonAlias.objects.filter(person=self.again).values_list("pk", flat=True))
        again_idents = list(Identifier.objects.filter(person=self.again).values_list("pk", flat=True))
        # Without a second person's approval the merge is refused (issue #10): the page asks for one.
        self.assertContains(page, "Request approval")
        response = director.post(self.url(), {"keep": self.maria.pk, "confirm": "on"})
        self.assertContains(response, "second person", status_code=409)
        self.assertFalse(PersonMerge.objects.exists())
        response = director.post(self.url(), {"intent": "request", "reason": "Same passport, two spellings."})
        self.assertRedirects(response, self.url())
        item = ApprovalRequest.objects.get()
        approvals.approve(item, actor=self.deputy, version=item.version)
        self.assertContains(director.get(self.url()), "you may merge these two records once")
        response = director.post(self.url(), {"keep": self.maria.pk, "confirm": "on"})
        self.assertRedirects(response, reverse("people:merges"))
        item.refresh_from_db()
        self.assertEqual(item.status, "used")
        self.again.refresh_from_db()
        self.assertEqual(self.again.merged_into, self.maria)
        self.assertEqual(set(CasePerson.objects.filter(pk__in=again_links).values_list("person_id", flat=True)), {self.maria.pk})
        self.assertEqual(set(PersonAlias.objects.filter(pk__in=again_aliases).values_list("person_id", flat=True)), {self.maria.pk})
        self.assertEqual(set(Identifier.objects.filter(pk__in=again_idents).values_list("person_id", flat=True)), {self.maria.pk})
        merge = PersonMerge.objects.get()
        event = AuditEvent.objects.get(action="cases.persons_merged")
        self.assertEqual((event.actor_name, event.object_id, event.details["merged_person_id"]), ("director", str(self.maria.pk), self.again.pk))
        # The kept record is found under the other record's spelling and alias; the merged one is gone.
        hits = [r["person"].pk for r in self.client_for("investigator").post(reverse("people:search"), {"q": "Flaca"}).context["results"]]
        self.assertEqual(hits, [self.maria.pk])

        merges = director.get(reverse("people:merges"))
        self.assertContains(merges, reverse("people:merge_undo", args=[merge.pk]))
        self.assertContains(merges, "Undo")
        response = director.post(reverse("people:merge_undo", args=[merge.pk]))
        self.assertRedirects(response, reverse("people:merges"))
        self.again.refresh_from_db()
        self.assertIsNone(self.again.merged_into)
        self.assertEqual(set(CasePerson.objects.filter(pk__in=again_links).values_list("person_id", flat=True)), {self.again.pk})
        self.assertEqual(set(PersonAlias.objects.filter(pk__in=again_aliases).values_list("person_id", flat=True)), {self.again.pk})
        self.assertEqual(set(Identifier.objects.filter(pk__in=again_idents).values_list("person_id", flat=True)), {self.again.pk})
        self.assertTrue(AuditEvent.objects.filter(action="cases.merge_undone", actor_name="director").exists())
        hits = [r["person"].pk for r in self.client_for("investigator").post(reverse("people:search"), {"q": "Flaca"}).context["results"]]
        self.assertEqual(hits, [self.again.pk])
        # Undoing twice is refused with a message, nothing changes.
        response = director.post(reverse("people:merge_undo", args=[merge.pk]), follow=True)
        self.assertContains(response, "already undone")

    def test_undo_needs_permission_and_post(self):
        approve(ApprovalKind.MERGE_PERSONS, requester=self.director, approver=self.deputy, **actions.merge_approval_target(self.maria.pk, self.again.pk))
        merge = actions.merge_persons(self.maria, self.again, actor=self.director)
        url = reverse("people:merge_undo", args=[merge.pk])
        self.assertEqual(self.client_for("investigator").post(url).status_code, 403)
        self.assertEqual(self.client_for("director").get(url).status_code, 405)
        merge.refresh_from_db()
        self.assertIsNone(merge.undone_at)

    def test_a_clash_is_explained_not_a_crash(self):
        # Both records victims of case 1: the merge is refused with the action's message.
        actions.add_person(self.case1, actor=self.investigator, role="victim", pseudonym="V-X", person=self.again)
        response = self.client_for("director").post(self.url(), {"keep": self.maria.pk, "confirm": "on"})
        self.assertEqual(response.status_code, 409)
        self.assertContains(response, "same case with the same role", status_code=409)
        self.assertFalse(PersonMerge.objects.exists())

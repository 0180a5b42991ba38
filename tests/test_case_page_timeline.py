"""The case page's latest events (issue #11): only the last few entries of the timeline are made, from what the
page has already read, and they are exactly the tail of the full timeline (the timeline page), for every kind
of user: the same events, the same order, the same labels and details, and nobody sees more than before."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from care import actions as care
from cases import actions as cases
from cases.links import linked_cases
from cases.models import CasePerson
from cases.timeline import build
from tests.test_case_access import RecordFixture
from tests.test_case_record import add_suspect, open_case_for_tests

USERS = ("investigator", "director", "care", "investigator2")


class LatestEventsTests(RecordFixture):
    def setUp(self):
        super().setUp()
        case, actor = self.case, self.investigator
        cases.add_team_member(case, actor=actor, user=self.care, role="care")
        cases.add_team_member(case, actor=actor, user=self.investigator2, role="suspect_handler")
        cases.add_note(case, actor=actor, text="First interview done.")
        day = timezone.localdate() - timedelta(days=40)
        cases.add_place(case, actor=actor, kind="Transit", city="Port", date_from=day, case_person=self.suspect)
        cases.add_place(case, actor=actor, kind="Exploitation", city="Farm", date_from=day, case_person=self.victim)
        cases.add_identifier(actor=actor, case=case, link=self.suspect, kind="phone", value="+1 868 555 0199")
        care.add_need(self.victim, actor=self.care, need_type="shelter", priority="urgent")
        cases.add_note(case, actor=self.care, text="Shelter found.")

    def test_latest_events_are_the_tail_of_the_full_timeline_for_everyone(self):
        for name in USERS:
            user = self.users[name]
            full = build(self.case, user)
            self.assertGreater(len(full), 8)
            for n in (0, 1, 3, 5, len(full), len(full) + 4):
                with self.subTest(user=name, latest=n):
                    self.assertEqual(build(self.case, user, latest=n), full[-n:] if n else [])

    def test_case_page_shows_the_last_five_events_newest_first(self):
        for name in USERS:
            with self.subTest(user=name):
                full = build(self.case, self.users[name])
                response = self.client_for(name).get(self.url())
                self.assertEqual(response.context["recent"], full[-5:][::-1])

    def test_page_views_are_not_events_and_do_not_push_events_out(self):
        client = self.client_for("investigator")
        before = client.get(self.url()).context["recent"]
        for _ in range(6):
            client.get(self.url())
            client.get(self.url("person_detail", self.victim.pk))
        self.assertEqual(client.get(self.url()).context["recent"], before)

    def test_events_about_people_hidden_from_the_user_stay_hidden(self):
        # The latest events of the care officer's page: the suspect's identifier and place are not among them.
        recent = self.client_for("care").get(self.url()).context["recent"]
        details = " ".join(f"{e.label} {e.detail}" for e in recent)
        self.assertIn("Shelter found.", details)
        self.assertNotIn("Suspect Zed", details)
        self.assertNotIn("Port", details)
        entries = build(self.case, self.investigator)
        self.assertTrue([e for e in entries if "Suspect Zed" in e.detail and "Port" in e.detail])


class LinkedCasesFromThePageTests(RecordFixture):
    def test_linked_cases_from_the_pages_people_are_those_read_afresh(self):
        other = open_case_for_tests(self, investigator=self.investigator2)
        add_suspect(other, self.investigator2, phone="+1 868 555 0177", pseudonym="Suspect Y")
        cases.add_team_member(self.case, actor=self.investigator, user=self.care, role="care")
        for name in ("investigator", "care", "director", "investigator2"):
            user = self.users[name]
            links = list(CasePerson.objects.visible_to(user).filter(case=self.case))
            with self.subTest(user=name):
                self.assertEqual(linked_cases(self.case, user, links=links), linked_cases(self.case, user))
        found = linked_cases(self.case, self.director)
        self.assertEqual([item.case.pk for item in found.visible], [other.pk])

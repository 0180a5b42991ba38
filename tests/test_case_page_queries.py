"""The case page's cost in queries (issue #11), and the per-request memo of a user's case grants it relies on:
read once per request, forgotten by any grant change made in the request, never kept beyond it."""

from __future__ import annotations

from django.db import connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from cases import actions as cases
from cases.models import CasePerson, case_grants
from tests.test_case_access import RecordFixture
from utilities import context
from utilities.middleware import RequestContextMiddleware

# Statements one request runs, measured on SQLite with the fixture below (a victim and a suspect, two photos,
# two places), with a margin of two. Before issue #11: director 41, investigator 64 (the grants were read six
# times over, in four queries each time); then 34 and 33; with the page's people, notes, places and files read
# once and handed to the latest events and linked cases: 27 and 26.
DIRECTOR_CEILING = 29
INVESTIGATOR_CEILING = 28
# What the page reads once and shares between its sections, the latest events and linked cases (issue #11).
READ_ONCE = {
    "people": 'FROM "cases_caseperson" INNER JOIN "cases_person"',
    "notes": 'FROM "cases_casenote"',
    "places": 'FROM "cases_place"',
    "files": 'FROM "cases_caseattachment"',
}


def _queries(client, url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    return response.status_code, len(captured.captured_queries)


class CasePageQueryTests(RecordFixture):
    def test_director_case_page_stays_within_its_query_budget(self):
        client = self.client_for("director")
        client.get(self.url())  # first visit: session and device lookups settle
        status, count = _queries(client, self.url())
        self.assertEqual(status, 200)
        self.assertLessEqual(count, DIRECTOR_CEILING)

    def test_investigator_case_page_stays_within_its_query_budget(self):
        client = self.client_for("investigator")
        client.get(self.url())
        with CaptureQueriesContext(connection) as captured:
            response = client.get(self.url())
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Suspect Zed")
        self.assertLessEqual(len(captured.captured_queries), INVESTIGATOR_CEILING)
        # The grants (owned, team, break-glass, shares) are read in one query, once in the request.
        grant_reads = [q for q in captured.captured_queries if "cases_caseshare" in q["sql"] and "UNION" in q["sql"]]
        self.assertEqual(len(grant_reads), 1)

    def test_page_reads_its_people_notes_places_and_files_once(self):
        cases.add_note(self.case, actor=self.investigator, text="Interview done.")
        for who in ("investigator", "director"):
            client = self.client_for(who)
            client.get(self.url())
            with CaptureQueriesContext(connection) as captured:
                response = client.get(self.url())
            self.assertContains(response, "Interview done.")
            for what, table in READ_ONCE.items():
                with self.subTest(user=who, read=what):
                    reads = [
                        q for q in captured.captured_queries if table in q["sql"] and q["sql"].startswith("SELECT")
                    ]
                    # The people with their person records: once (linked cases reads only ids, without names).
                    self.assertEqual(len([q for q in reads if "given_names" in q["sql"] or what != "people"]), 1)

    def test_page_still_shows_a_care_officer_only_what_their_role_allows(self):
        cases.add_team_member(self.case, actor=self.investigator, user=self.care, role="care")
        response = self.client_for("care").get(self.url())
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, self.victim.pseudonym)
        self.assertNotContains(response, "Suspect Zed")
        self.assertNotContains(response, "Suspect&#x27;s bar")


class GrantMemoTests(RecordFixture):
    """The memo through the real middleware: ``view`` stands for a view function run inside one request."""

    def serve(self, view) -> HttpResponse:
        def get_response(_request):
            view()
            return HttpResponse("ok")

        return RequestContextMiddleware(get_response)(RequestFactory().get("/"))

    def visible_links(self, user) -> set[int]:
        return set(CasePerson.objects.visible_to(user).filter(case=self.case).values_list("pk", flat=True))

    def test_grants_are_read_once_per_request(self):
        def view():
            with CaptureQueriesContext(connection) as captured:
                first = case_grants(self.investigator)
                second = case_grants(self.investigator)
                self.visible_links(self.investigator)
            self.assertEqual(first, second)
            self.assertIn(self.case.pk, first["owned"])
            # One query for the grants, one for the links: the second reading came from the memo.
            self.assertEqual(len(captured.captured_queries), 2)

        self.serve(view)

    def test_break_glass_within_the_request_is_seen_at_once(self):
        seen = {}

        def view():
            seen["before"] = self.visible_links(self.investigator2)
            cases.break_glass(self.case, actor=self.investigator2, reason="A child is in danger tonight, need the file")
            seen["after"] = self.visible_links(self.investigator2)

        self.serve(view)
        self.assertEqual(seen["before"], set())
        self.assertEqual(seen["after"], {self.victim.pk, self.suspect.pk})

    def test_share_and_revocation_within_the_request_are_seen_at_once(self):
        seen = {}

        def view():
            seen["before"] = self.visible_links(self.care)
            share = cases.share_case(
                self.case,
                actor=self.investigator,
                user=self.care,
                scope="victims",
                reason="Care plan",
                until=self.case.opened_at.date().replace(year=self.case.opened_at.year + 1),
            )
            seen["shared"] = self.visible_links(self.care)
            cases.revoke_share(share, actor=self.investigator)
            seen["revoked"] = self.visible_links(self.care)

        self.serve(view)
        self.assertEqual(seen["before"], set())
        self.assertEqual(seen["shared"], {self.victim.pk})
        self.assertEqual(seen["revoked"], set())

    def test_team_change_within_the_request_is_seen_at_once(self):
        seen = {}

        def view():
            seen["before"] = self.visible_links(self.investigator2)
            member = cases.add_team_member(
                self.case, actor=self.investigator, user=self.investigator2, role="suspect_handler"
            )
            seen["member"] = self.visible_links(self.investigator2)
            cases.remove_team_member(member, actor=self.investigator)
            seen["removed"] = self.visible_links(self.investigator2)

        self.serve(view)
        self.assertEqual(seen["before"], set())
        self.assertEqual(seen["member"], {self.suspect.pk})
        self.assertEqual(seen["removed"], set())

    def test_a_grant_rolled_back_within_the_request_is_not_kept(self):
        seen = {}

        def view():
            try:
                with transaction.atomic():
                    cases.break_glass(
                        self.case, actor=self.investigator2, reason="A child is in danger tonight, need the file"
                    )
                    seen["inside"] = self.visible_links(self.investigator2)
                    raise RuntimeError("abandon")
            except RuntimeError:
                pass
            seen["after"] = self.visible_links(self.investigator2)

        self.serve(view)
        self.assertEqual(seen["inside"], {self.victim.pk, self.suspect.pk})
        self.assertEqual(seen["after"], set())

    def test_explicit_forget_empties_the_memo(self):
        def view():
            case_grants(self.investigator)
            context.forget()
            with CaptureQueriesContext(connection) as captured:
                case_grants(self.investigator)
            self.assertEqual(len(captured.captured_queries), 1)

        self.serve(view)

    def test_no_memo_survives_the_request(self):
        self.serve(lambda: case_grants(self.investigator2))
        self.assertIsNone(context._memo.get())
        # A grant made between two requests is seen by the second one.
        cases.break_glass(self.case, actor=self.investigator2, reason="A child is in danger tonight, need the file")
        seen = {}
        self.serve(lambda: seen.setdefault("next", self.visible_links(self.investigator2)))
        self.assertEqual(seen["next"], {self.victim.pk, self.suspect.pk})

    def test_nothing_is_memoized_outside_a_request(self):
        with CaptureQueriesContext(connection) as captured:
            case_grants(self.investigator)
            case_grants(self.investigator)
        self.assertEqual(len(captured.captured_queries), 2)

    def test_memo_is_dropped_even_when_the_view_fails(self):
        def view():
            case_grants(self.investigator)
            raise ValueError("boom")

        with self.assertRaises(ValueError):
            self.serve(view)
        self.assertIsNone(context._memo.get())

"""The case page answers "may this user change the case, open its investigation, see its court dates?" from what
it has already read (issue #11: building the rules' querysets again for one case cost more than the rest of the
page). These tests hold those answers to the rules themselves (``Case.objects.visible_to(user, "change")``,
``investigations.models.investigation_cases`` and ``court_date_cases``) for every named user and every kind of
grant: a rule changed without the page fails here."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from cases import actions as cases
from cases.models import Case
from investigations.models import court_date_cases, investigation_cases
from tests.base import ROLE_USERS
from tests.test_case_access import RecordFixture
from tests.test_case_record import open_case_for_tests

EVERYONE = (*[name for name in ROLE_USERS if name != "provider"], "investigator2", "shelter", "other_investigator")


class CasePageAnswersTests(RecordFixture):
    def rules(self, user, case) -> dict:
        return {
            "change": Case.objects.visible_to(user, "change").filter(pk=case.pk).exists(),
            "investigation": investigation_cases(user, case_id=case.pk).exists(),
            "court_dates": court_date_cases(user, case_id=case.pk).exists(),
        }

    def page(self, name, case) -> dict | None:
        response = self.client_for(name).get(self.url_of(case))
        if response.status_code == 404:
            return None
        self.assertEqual(response.status_code, 200)
        context = response.context
        return {
            "change": context["can"]["change"],
            "investigation": context["investigation"],
            "court_dates": context["court_dates"],
        }

    def url_of(self, case) -> str:
        return f"/cases/{case.pk}/"

    def check_everyone(self, case, seen: set) -> None:
        for name in EVERYONE:
            user = self.users[name]
            with self.subTest(user=name, case=case.reference):
                answers = self.page(name, case)
                if answers is None:
                    self.assertFalse(Case.objects.visible_to(user).filter(pk=case.pk).exists())
                    continue
                self.assertEqual(answers, self.rules(user, case))
                seen.add(tuple(answers.values()))

    def test_page_answers_are_the_rules_answers_for_every_grant(self):
        seen: set = set()
        self.check_everyone(self.case, seen)  # the owner, leadership; nobody else on the team

        # Team places in every role.
        cases.add_team_member(self.case, actor=self.investigator, user=self.investigator2, role="suspect_handler")
        cases.add_team_member(self.case, actor=self.investigator, user=self.care, role="care")
        cases.add_team_member(self.case, actor=self.investigator, user=self.analyst, role="investigator")
        self.check_everyone(self.case, seen)

        # Shares of each scope, on a case of their own.
        shared = open_case_for_tests(self, label="Victim B")
        until = timezone.localdate() + timedelta(days=30)
        for user, scope in ((self.investigator2, "suspects"), (self.care, "victims"), (self.analyst, "full")):
            cases.share_case(shared, actor=self.investigator, user=user, scope=scope, reason="Need", until=until)
        self.check_everyone(shared, seen)
        # The same shares once the case has a suspect: a suspects-only share now sees someone.
        cases.add_person(shared, actor=self.investigator, role="suspect", pseudonym="Suspect Y", given_names="Yann")
        self.check_everyone(shared, seen)

        # Emergency access (a care officer's and an investigator's).
        glass = open_case_for_tests(self, label="Victim C")
        cases.break_glass(glass, actor=self.investigator2, reason="A child is in danger tonight, need the file")
        cases.break_glass(glass, actor=self.care, reason="A child is in danger tonight, need the file")
        self.check_everyone(glass, seen)

        # Every combination the page can show came up, so none of the checks above was vacuous.
        self.assertIn((True, True, True), seen)  # owner, leadership, full team
        self.assertIn((True, False, True), seen)  # care officer on the team: court dates only
        self.assertIn((False, False, True), seen)  # victims share
        self.assertIn((False, True, True), seen)  # suspects share on a case with a suspect
        self.assertIn((False, False, False), seen)  # suspects share on a case without one

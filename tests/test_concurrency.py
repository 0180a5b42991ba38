"""Two officers editing the same record never lose each other's changes (issue #10, "Nothing lost").

Both load the form, the first saves, the second saves the version they loaded: the second is told clearly that
someone else changed the record, and the first officer's change is what stays.

Already covered elsewhere (same pattern, one officer's stale form): a case's victim profile and closure/reopening
(tests/test_case_record.py, the stale-version test), a referral (tests/test_referrals.py LockingTests), report
triage (tests/test_intake.py), care records (tests/test_care.py).
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from cases.models import Person
from intake import actions as intake
from screening.models import Screening
from tests.base import BeaconTestCase
from tests.test_case_record import open_case_for_tests

STALE = "Someone else changed this record"


def form_data(response) -> dict:
    """What the officer's browser would post back unchanged: every field's value as the page showed it."""
    form = response.context["form"]
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = value
    return data


class CaseConcurrencyTests(BeaconTestCase):
    def test_two_officers_editing_the_same_person_on_a_case(self):
        case = open_case_for_tests(self)
        link = case.persons.get(role="victim")
        url = reverse("cases:person_edit", args=[case.pk, link.pk])
        investigator, hoi = self.client_for("investigator"), self.client_for("hoi")
        first_form = form_data(investigator.get(url))
        second_form = form_data(hoi.get(url))

        first = investigator.post(url, {**first_form, "family_names": "Ramdial"})
        self.assertEqual(first.status_code, 302)
        second = hoi.post(url, {**second_form, "family_names": "Ramdeen"})

        self.assertContains(second, STALE, status_code=409)
        self.assertEqual(Person.objects.get(pk=link.person_id).family_names, "Ramdial")


class ScreeningConcurrencyTests(BeaconTestCase):
    def test_two_officers_screening_the_same_report(self):
        report = intake.create_report(
            actor=self.intake, channel="hotline", received_at=timezone.now(), narrative="Workers kept in a compound."
        )
        intake.assign_report(report, actor=self.hoi, version=report.version, investigator=self.investigator)
        report.refresh_from_db()
        intake.acknowledge_report(report, actor=self.investigator, version=report.version)
        url = reverse("screening:screen", args=[report.pk])
        investigator, hoi = self.client_for("investigator"), self.client_for("hoi")
        loaded = {}
        for name, client in (("investigator", investigator), ("hoi", hoi)):
            page = client.get(url)
            self.assertEqual(page.status_code, 200, name)
            loaded[name] = page.context["form"]["version"].value()

        answers = {"ind_recruitment": "on", "ev_recruitment": "job advert", "age_basis": "stated", "person_age": "30"}
        first = investigator.post(url, {**answers, "person_label": "Person A", "version": loaded["investigator"]})
        self.assertEqual(first.status_code, 302)
        second = hoi.post(url, {**answers, "person_label": "Person B", "version": loaded["hoi"]}, follow=True)

        # The second officer is told; nothing of theirs overwrote the first screening.
        self.assertTrue(
            STALE in second.content.decode() or "cannot be screened now" in second.content.decode(),
            "the second officer must be told their screening was not saved",
        )
        self.assertEqual(
            list(Screening.objects.filter(report=report).values_list("person_label", flat=True)), ["Person A"]
        )

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


SCREENED_MEANWHILE = "Another officer recorded a screening for this report while you were filling in yours."


class ScreeningConcurrencyTests(BeaconTestCase):
    def screenable_report(self):
        report = intake.create_report(
            actor=self.intake, channel="hotline", received_at=timezone.now(), narrative="Workers kept in a compound."
        )
        intake.assign_report(report, actor=self.hoi, version=report.version, investigator=self.investigator)
        report.refresh_from_db()
        intake.acknowledge_report(report, actor=self.investigator, version=report.version)
        return report

    def test_two_officers_screening_the_same_report(self):
        report = self.screenable_report()
        url = reverse("screening:screen", args=[report.pk])
        investigator, hoi = self.client_for("investigator"), self.client_for("hoi")
        loaded = {}
        for name, client in (("investigator", investigator), ("hoi", hoi)):
            page = client.get(url)
            self.assertEqual(page.status_code, 200, name)
            loaded[name] = page.context["form"]["version"].value()

        answers = {"ind_recruitment": "on", "age_basis": "stated", "person_age": "30"}
        first = investigator.post(
            url,
            {**answers, "ev_recruitment": "job advert", "person_label": "Person A", "version": loaded["investigator"]},
        )
        self.assertEqual(first.status_code, 302)
        second = hoi.post(
            url, {**answers, "ev_recruitment": "met at the port", "person_label": "Person B", "version": loaded["hoi"]}
        )

        # As the case editors answer a stale save: 409, the form re-shown with the second officer's answers, a
        # clear message, and the first officer's screening kept (and listed).
        self.assertContains(second, SCREENED_MEANWHILE, status_code=409)
        self.assertContains(second, 'value="Person B"', status_code=409)
        self.assertContains(second, "met at the port", status_code=409)
        self.assertContains(second, "Screenings already recorded for this report", status_code=409)
        self.assertContains(second, "Person A", status_code=409)
        self.assertEqual(
            list(Screening.objects.filter(report=report).values_list("person_label", flat=True)), ["Person A"]
        )
        # Having checked, the second officer records theirs (another person) from the re-shown form.
        again = hoi.post(url, form_data(second))
        self.assertEqual(again.status_code, 302)
        self.assertEqual(
            sorted(Screening.objects.filter(report=report).values_list("person_label", flat=True)),
            ["Person A", "Person B"],
        )

    def test_two_officers_deciding_the_same_screening(self):
        report = self.screenable_report()
        screening = Screening.objects.get(
            pk=self.client_for("investigator")
            .post(
                reverse("screening:screen", args=[report.pk]),
                {
                    "person_label": "Person A",
                    "age_basis": "stated",
                    "person_age": "30",
                    "version": type(report).objects.get(pk=report.pk).version,
                },  # fmt: skip
            )
            .url.rstrip("/")
            .split("/")[-1]
        )
        url = reverse("screening:screening_detail", args=[screening.pk])
        hoi, director = self.client_for("hoi"), self.client_for("director")
        hoi_form, director_form = form_data(hoi.get(url)), form_data(director.get(url))
        decided = hoi.post(url, {**hoi_form, "outcome": "not_trafficking", "rationale": "No means found."})
        self.assertEqual(decided.status_code, 302)
        late = director.post(url, {**director_form, "outcome": "not_trafficking", "rationale": "Nothing supports it."})
        self.assertContains(late, "Another officer recorded the decision on this report", status_code=409)
        self.assertContains(late, "Nothing supports it.", status_code=409)
        self.assertContains(late, "No means found.", status_code=409)

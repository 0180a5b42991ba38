"""The legal test (issue #3): the recommendation, the child rule, versioned instruments, authorised decisions."""

from __future__ import annotations

import copy

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import SimpleTestCase
from django.urls import reverse
from django.utils import timezone

from intake import actions as intake_actions
from screening import actions
from screening.instruments import V1
from screening.logic import evaluate
from tests.base import BeaconTestCase

ACT, MEANS, PURPOSE = "recruitment", "deception", "forced_labour"


class RecommendationTests(SimpleTestCase):
    def check(self, answers, age, expected, missing=()):
        result = evaluate(V1, {code: True for code in answers}, age)
        self.assertEqual(result.recommendation, expected)
        self.assertEqual(result.missing, list(missing))
        return result

    def test_adult_needs_act_means_and_purpose(self):
        self.check([ACT, MEANS, PURPOSE], 30, "victim")
        self.check([ACT, PURPOSE], 30, "possible", ["means"])
        self.check([MEANS], 30, "possible", ["act", "purpose"])

    def test_child_needs_no_means(self):
        result = self.check([ACT, PURPOSE], 17, "victim")
        self.assertTrue(result.is_child)
        self.check([ACT], 17, "possible", ["purpose"])

    def test_eighteen_is_an_adult_and_unknown_age_is_treated_as_adult(self):
        self.check([ACT, PURPOSE], 18, "possible", ["means"])
        self.check([ACT, PURPOSE], None, "possible", ["means"])

    def test_nothing_found_is_not_trafficking(self):
        self.check([], 25, "not_trafficking", ["act", "means", "purpose"])


class ScreeningFlowTests(BeaconTestCase):
    def under_screening(self):
        report = intake_actions.create_report(actor=self.intake, channel="walk_in", received_at=timezone.now(), narrative="Walk-in at the unit.")
        intake_actions.assign_report(report, actor=self.hoi, version=report.version, investigator=self.investigator)
        report.refresh_from_db()
        intake_actions.acknowledge_report(report, actor=self.investigator, version=report.version)
        report.refresh_from_db()
        return report

    def test_evidence_is_required_for_each_ticked_indicator(self):
        report = self.under_screening()
        response = self.client_for("investigator").post(
            reverse("screening:screen", args=[report.pk]), {"person_label": "A", "age_basis": "unknown", "version": report.version, "ind_recruitment": "on"}
        )
        self.assertContains(response, "Write what supports this indicator")
        self.assertFalse(report.screenings.exists())
        with self.assertRaises(ValidationError):
            actions.record_screening(report, actor=self.investigator, version=report.version, person_label="A", person_age=None, age_basis="unknown", answers={ACT: True}, evidence={})

    def test_only_authorised_officers_decide(self):
        report = self.under_screening()
        screening = actions.record_screening(report, actor=self.investigator, version=report.version, person_label="A", person_age=20, age_basis="stated", answers={ACT: True}, evidence={ACT: "ad"})
        report.refresh_from_db()
        for user in (self.investigator, self.intake, self.analyst, self.other_hoi):
            with self.subTest(user=user.username), self.assertRaises(PermissionDenied):
                actions.record_decision(screening, actor=user, version=report.version, outcome="possible_victim", rationale="x", deciding_org="Police")
        with self.assertRaises(ValidationError):
            actions.record_decision(screening, actor=self.hoi, version=report.version, outcome="possible_victim", rationale="  ", deciding_org="Police")
        decision = actions.record_decision(screening, actor=self.director, version=report.version, outcome="possible_victim", rationale="Partial.", deciding_org="Police")
        self.assertFalse(decision.disagrees)

    def test_a_new_instrument_version_never_rewrites_past_screenings(self):
        report = self.under_screening()
        old = actions.record_screening(report, actor=self.investigator, version=report.version, person_label="A", person_age=20, age_basis="stated", answers={ACT: True}, evidence={ACT: "job offer by phone"})
        definition = copy.deepcopy(V1)
        definition["act"][0]["en"] = "Recruitment, including online"
        definition["means"].append({"code": "drugs", "en": "Use of drugs to control", "es": "Uso de drogas para controlar"})
        v2 = actions.publish_instrument(actor=self.sysadmin, name="Palermo screening", definition=definition)
        self.assertEqual(v2.version, 2)
        old.refresh_from_db()
        self.assertEqual(old.instrument.version, 1)
        page = self.client_for("hoi").get(reverse("screening:screening_detail", args=[old.pk]))
        self.assertContains(page, "Recruitment (job offer, promise, approach)")
        self.assertNotContains(page, "including online")
        other = self.under_screening()
        form = self.client_for("investigator").get(reverse("screening:screen", args=[other.pk]))
        self.assertContains(form, "Use of drugs to control")
        self.assertContains(form, "version 2")

    def test_screening_form_in_spanish(self):
        report = self.under_screening()
        client = self.client_for("investigator")
        client.post(reverse("accounts:set_language"), {"language": "es", "next": "/"})
        self.assertContains(client.get(reverse("screening:screen", args=[report.pk])), "Captación engañosa")

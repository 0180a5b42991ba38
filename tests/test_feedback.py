"""Issue #13 part 3: anonymous survivor feedback, the tablet survey and its results."""

from __future__ import annotations

import re

from django.db import models
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from feedback import actions, reports
from feedback.models import SurveyResponse, TabletToken
from tests.base import BeaconTestCase

ANSWERS = {"satisfaction": "4", "respected": "yes", "felt_safe": "no", "comments": "", "sex": "female",
           "age_band": "18-24", "area": "Arima"}  # fmt: skip


def respond(provider, n=1, **overrides):
    fields = {"service_type": "counselling", "satisfaction": 4, "respected": True, "felt_safe": True, "sex": "female",
              "age_band": "18-24", "area": "Arima", "channel": "paper", "month": "2025-01"}  # fmt: skip
    fields.update(overrides)
    return [SurveyResponse.objects.create(provider=provider, **fields) for _ in range(n)]


class AnonymityTests(BeaconTestCase):
    def test_no_link_to_people_cases_or_users(self):
        for model in (SurveyResponse, TabletToken):
            for field in model._meta.get_fields():
                if isinstance(field, models.ForeignKey):
                    self.assertEqual(field.related_model._meta.label, "directory.Agency", field.name)

    def test_single_answer_groups_are_suppressed(self):
        respond(self.safe_harbour, 5)
        respond(self.safe_harbour, 1, sex="male", age_band="35+", area="Toco", satisfaction=1, respected=False,
                comments="Officer Smith shouted at me")  # fmt: skip
        stats = reports.feedback_statistics()
        by = {s["key"]: {str(r["label"]): r for r in s["rows"]} for s in stats["sections"]}
        self.assertEqual(by["sex"]["Male"]["count"], "<5")
        self.assertIsNone(by["sex"]["Male"]["mean"])
        self.assertEqual(by["area"]["Toco"]["count"], "<5")
        self.assertEqual(by["age_band"]["35 and over"]["respected"], None)
        self.assertEqual(by["sex"]["Female"]["count"], "5")
        body = "\n".join(",".join(row) for row in reports.csv_rows(stats))
        self.assertNotIn("Smith", body)
        self.assertIn("sex,Male,<5,,,", body)

    def test_report_pages_hide_comments_and_small_cells(self):
        respond(self.safe_harbour, 1, comments="Officer Smith shouted at me", area="Toco")
        client = self.client_for("analyst")
        page = client.get(reverse("feedback:report"))
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, "Smith")
        self.assertContains(page, "&lt;5")
        csv = client.get(reverse("feedback:report_csv"))
        self.assertNotIn("Smith", csv.content.decode())
        self.assertIn("overall,,<5", csv.content.decode())
        self.assertTrue(AuditEvent.objects.filter(action="feedback.report_exported", actor_id=self.analyst.pk).exists())


class IndicatorTests(BeaconTestCase):
    def test_computed_on_known_data(self):
        # Safe Harbour: 6 answers, satisfaction 5,5,5,4,4,3 (mean 4.3), 5 of 6 respected (83 %), 3 safe (50 %).
        for score, respected, safe in [(5, True, True), (5, True, True), (5, True, True), (4, True, False),
                                       (4, True, False), (3, False, False)]:  # fmt: skip
            respond(self.safe_harbour, satisfaction=score, respected=respected, felt_safe=safe)
        respond(self.blue_basin, 5, service_type="legal_aid", satisfaction=2, respected=False, sex="male")
        stats = reports.feedback_statistics()
        by = {s["key"]: {str(r["label"]): r for r in s["rows"]} for s in stats["sections"]}
        harbour = by["provider"][str(self.safe_harbour)]
        self.assertEqual((harbour["count"], harbour["mean"], harbour["respected"], harbour["safe"]), ("6", 4.3, 83, 50))
        self.assertEqual(by["provider"][str(self.blue_basin)]["respected"], 0)
        self.assertEqual(by["service"]["Legal aid"]["mean"], 2.0)
        self.assertEqual(by["sex"]["Male"]["count"], "5")
        self.assertEqual(stats["overall"]["n"], 11)
        self.assertEqual(stats["overall"]["respected"], 45)


class RecordTests(BeaconTestCase):
    def test_staff_keys_in_a_paper_survey(self):
        response = self.client_for("care").post(
            reverse("feedback:record"),
            {**ANSWERS, "service_type": "medical", "provider": self.blue_basin.pk, "comments": "Kind nurse"},
        )
        self.assertEqual(response.status_code, 302)
        saved = SurveyResponse.objects.get()
        self.assertEqual(
            (saved.satisfaction, saved.respected, saved.felt_safe, saved.channel), (4, True, False, "paper")
        )
        event = AuditEvent.objects.get(action="feedback.response_recorded")
        self.assertEqual(event.object_id, "")  # the audit row names no answer

    def test_permissions(self):
        for name in ("investigator", "intake", "nobody", "shelter"):
            with self.subTest(name):
                client = self.client_for(name)
                for url in (
                    "feedback:index",
                    "feedback:record",
                    "feedback:tablet_code",
                    "feedback:report",
                    "feedback:report_csv",
                ):
                    self.assertEqual(client.get(reverse(url)).status_code, 403, url)
        analyst = self.client_for("analyst")
        self.assertEqual(analyst.get(reverse("feedback:record")).status_code, 403)
        self.assertEqual(analyst.get(reverse("feedback:report")).status_code, 200)
        self.assertEqual(self.client_for("care").get(reverse("feedback:report")).status_code, 403)
        self.assertEqual(Client().get(reverse("feedback:record")).status_code, 302)


class TabletTests(BeaconTestCase):
    def _code(self) -> str:
        page = self.client_for("care").post(
            reverse("feedback:tablet_code"), {"service_type": "accommodation", "provider": self.safe_harbour.pk}
        )
        self.assertEqual(page["Cache-Control"], "no-store")
        return re.search(r'id="tablet-code">([^<]+)<', page.content.decode()).group(1)

    def test_anonymous_survey_works_once_per_code(self):
        code = self._code()
        self.assertEqual(TabletToken.objects.count(), 1)
        self.assertFalse(TabletToken.objects.filter(token_hash=code).exists())  # stored hashed
        tablet = Client(enforce_csrf_checks=True)
        page = tablet.get(reverse("feedback:tablet"))
        self.assertEqual(page.status_code, 200)
        self.assertNotIn("<script", page.content.decode())
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
        survey = tablet.post(reverse("feedback:tablet"), {"code": code.lower(), "csrfmiddlewaretoken": csrf})
        self.assertContains(survey, str(self.safe_harbour))
        self.assertContains(survey, 'class="btn-check"')
        done = tablet.post(reverse("feedback:tablet"), {**ANSWERS, "token": code, "csrfmiddlewaretoken": csrf})
        self.assertEqual(done.status_code, 200)
        saved = SurveyResponse.objects.get()
        self.assertEqual(
            (saved.channel, saved.service_type, saved.provider), ("tablet", "accommodation", self.safe_harbour)
        )
        # Reuse is refused, at both steps, and nothing more is stored.
        again = tablet.post(reverse("feedback:tablet"), {**ANSWERS, "token": code, "csrfmiddlewaretoken": csrf})
        self.assertEqual(again.status_code, 410)
        entry = tablet.post(reverse("feedback:tablet"), {"code": code, "csrfmiddlewaretoken": csrf})
        self.assertEqual(entry.status_code, 400)
        self.assertEqual(SurveyResponse.objects.count(), 1)

    def test_csrf_is_enforced(self):
        code = self._code()
        response = Client(enforce_csrf_checks=True).post(reverse("feedback:tablet"), {**ANSWERS, "token": code})
        self.assertEqual(response.status_code, 403)
        self.assertFalse(SurveyResponse.objects.exists())

    def test_wrong_codes_are_rate_limited(self):
        tablet = Client()
        statuses = [tablet.post(reverse("feedback:tablet"), {"code": f"BAD-{i}"}).status_code for i in range(7)]
        self.assertEqual(statuses[0], 400)
        self.assertEqual(statuses[-1], 429)

    def test_spanish(self):
        tablet = Client(headers={"accept-language": "es"})
        tablet.cookies.load({"django_language": "es"})
        page = tablet.get(reverse("feedback:tablet"))
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, 'lang="es"')

    def test_action_refuses_spent_code(self):
        token = actions.issue_tablet_token(actor=self.care, service_type="medical", provider=self.blue_basin)
        answers = {"satisfaction": 3, "respected": True, "felt_safe": True, "sex": "male", "age_band": "0-17"}
        self.assertIsNotNone(actions.submit_tablet_response(token, **answers))
        self.assertIsNone(actions.submit_tablet_response(token, **answers))
        self.assertEqual(SurveyResponse.objects.count(), 1)

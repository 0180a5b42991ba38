"""Prevention (issue #13): indicators on data with known answers, participant import, access, export."""

from __future__ import annotations

import csv
import datetime
import io

from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from directory.choices import OrganisationType
from prevention import actions, exchange, reports
from prevention.choices import EventKind, Subject
from prevention.models import REACH_FIELDS, Course, OutreachEvent, Participant, TrainerCertification, TrainingSession
from tests.base import BeaconTestCase


class PreventionTestCase(BeaconTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.course = Course.objects.create(title="Screening basics", subject=Subject.IDENTIFICATION, pass_mark=70)
        cls.strict = Course.objects.create(title="Child trafficking", subject=Subject.CHILD_TRAFFICKING, pass_mark=90)
        cls.session = TrainingSession.objects.create(course=cls.course, date=datetime.date(2025, 3, 4), place="POS")
        cls.session2 = TrainingSession.objects.create(course=cls.strict, date=datetime.date(2025, 4, 1))

    def event(self, day, **counts):
        return OutreachEvent.objects.create(kind=EventKind.SCHOOL_SESSION, title="x", date=day, **counts)

    def participant(self, session=None, **fields):
        return Participant.objects.create(session=session or self.session, name=fields.pop("name", "P"), **fields)


class IndicatorTests(PreventionTestCase):
    def test_people_reached_by_sex_age_and_month(self):
        self.event(
            datetime.date(2025, 1, 5),
            reached_female_minor=10,
            reached_male_adult=5,
            materials_count=40,
            hotline_calls=2,
        )
        self.event(datetime.date(2025, 1, 20), reached_female_minor=3, reached_unknown_unknown=7)
        self.event(datetime.date(2025, 2, 1), reached_female_adult=4, reached_male_unknown=1, hotline_calls=1)
        r = reports.people_reached()
        self.assertEqual(r["total"], 30)
        self.assertEqual(r["by_sex"], {"female": 17, "male": 6, "unknown": 7})
        self.assertEqual(r["by_age"], {"minor": 13, "adult": 9, "unknown": 8})
        self.assertEqual(r["grid"]["female"]["minor"], 13)
        self.assertEqual((r["materials"], r["hotline_calls"]), (40, 3))
        self.assertEqual([(m["month"], m["reached"]) for m in r["months"]], [("2025-01", 25), ("2025-02", 5)])

    def test_average_improvement_and_share_at_threshold(self):
        self.participant(pre_score=40, post_score=80)  # +40, able
        self.participant(pre_score=60, post_score=70)  # +10, able (threshold inclusive)
        self.participant(pre_score=50, post_score=50)  # 0, not able
        self.participant(post_score=95)  # no pre-test: not in the improvement, counted for the share
        self.participant(pre_score=30)  # no post-test: in neither
        self.participant(session=self.session2, pre_score=80, post_score=85)  # below that course's 90
        rows = {r["course"]: r for r in reports.course_results()}
        basics = rows["Screening basics"]
        self.assertEqual((basics["participants"], basics["paired"], basics["improvement"]), (5, 3, 16.7))
        self.assertEqual((basics["able"], basics["tested"], basics["able_share"]), (3, 4, 75))
        strict = rows["Child trafficking"]
        self.assertEqual((strict["improvement"], strict["able"], strict["able_share"]), (5.0, 0, 0))

    def test_participants_by_agency_type_and_sex(self):
        self.participant(agency=self.police, sex="female")
        self.participant(agency=self.police, sex="female")
        self.participant(agency=self.police, sex="male")
        self.participant(agency=self.safe_harbour, sex="male")  # the directory's NGO type wins
        self.participant(organisation="St Mary's", org_type=OrganisationType.SCHOOL, sex="female")
        self.participant(organisation="Unknown org", sex="unknown")
        self.participant(agency=self.police, sex="male", attended=False)  # did not attend: not counted
        rows = {r["org_type"]: r for r in reports.participants_by_agency_type()}
        self.assertEqual((rows["LawEnforcement"]["female"], rows["LawEnforcement"]["male"]), (2, 1))
        self.assertEqual(rows["NGO"]["male"], 1)
        self.assertEqual(rows["SchoolOrCollege"]["female"], 1)
        self.assertEqual(rows["x_Other"]["unknown"], 1)
        self.assertEqual(sum(r["total"] for r in rows.values()), 6)


def upload(text: str, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


class ImportTests(PreventionTestCase):
    def test_good_file_is_imported_and_audited(self):
        text = (
            "name,agency,organisation,org_type,sex,attended,certificate,pre_score,post_score\n"
            "Ann Lee,TTPS,,,female,yes,yes,40,80\n"
            "Bo Ray,,St Mary's,SchoolOrCollege,male,,no,,75\n"
        )
        summary = exchange.import_participants(self.session, upload(text), "people.csv", actor=self.analyst)
        self.assertEqual(summary, {"rows": 2})
        ann = Participant.objects.get(name="Ann Lee")
        self.assertEqual(
            (ann.agency, ann.pre_score, ann.post_score, ann.certificate_issued), (self.police, 40, 80, True)
        )
        event = AuditEvent.objects.get(action="prevention.participants_imported")
        self.assertEqual(event.details, {"rows": 2})
        self.assertNotIn("Ann", str(event.details))

    def test_xlsx_file_is_imported(self):
        from openpyxl import Workbook

        book = Workbook()
        book.active.append(["name", "sex", "pre_score", "post_score"])
        book.active.append(["Cy Dee", "male", 50, 90])
        out = io.BytesIO()
        book.save(out)
        exchange.import_participants(
            self.session, SimpleUploadedFile("p.xlsx", out.getvalue()), "p.xlsx", actor=self.analyst
        )
        self.assertEqual(Participant.objects.get(name="Cy Dee").post_score, 90)

    def test_bad_file_writes_nothing_and_reports_each_row(self):
        text = "name,agency,sex,pre_score,post_score\nAnn Lee,TTPS,female,40,80\n,Nowhere,robot,101,abc\n"
        client = self.client_for("analyst")
        url = reverse("prevention:participant_import", args=[self.session.pk])
        response = client.post(url, {"upload": upload(text)})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(Participant.objects.count(), 0)
        self.assertFalse(AuditEvent.objects.filter(action="prevention.participants_imported").exists())
        errors = {(e.line, e.column) for e in response.context["row_errors"]}
        self.assertEqual(errors, {(3, "name"), (3, "agency"), (3, "sex"), (3, "pre_score"), (3, "post_score")})
        self.assertContains(response, "No agency of that name", status_code=400)

    def test_unknown_column_is_refused(self):
        with self.assertRaises(exchange.ImportRefused) as caught:
            exchange.import_participants(self.session, upload("name,salary\nA,1\n"), "p.csv", actor=self.analyst)
        self.assertEqual([(e.line, e.column) for e in caught.exception.errors], [(1, "salary")])


class AccessTests(PreventionTestCase):
    def test_recording_pages_need_prevention_record(self):
        urls = [
            reverse("prevention:event_create"),
            reverse("prevention:course_create"),
            reverse("prevention:session_create"),
            reverse("prevention:session_detail", args=[self.session.pk]),
            reverse("prevention:participant_import", args=[self.session.pk]),
            reverse("prevention:certification_list"),
        ]
        for url in urls:
            for name in ("investigator", "intake", "nobody", "shelter", "other_analyst"):
                with self.subTest(url=url, user=name):
                    self.assertEqual(self.client_for(name).get(url).status_code, 403)
            for name in ("director", "hoi", "analyst"):
                with self.subTest(url=url, user=name):
                    self.assertEqual(self.client_for(name).get(url).status_code, 200)

    def test_reports_need_prevention_view_reports(self):
        for url in (reverse("prevention:reports"), reverse("prevention:report_export"), reverse("prevention:index")):
            with self.subTest(url=url):
                self.assertEqual(self.client_for("investigator").get(url).status_code, 403)
        self.assertEqual(self.client_for("hoi").get(reverse("prevention:reports")).status_code, 403)
        self.assertEqual(self.client_for("deputy").get(reverse("prevention:reports")).status_code, 200)

    def test_participant_names_are_shown_only_to_recorders(self):
        self.participant(name="Zelda Quill", pre_score=10, post_score=90)
        recorder = self.client_for("analyst")
        self.assertContains(recorder.get(reverse("prevention:session_detail", args=[self.session.pk])), "Zelda Quill")
        report = recorder.get(reverse("prevention:reports"))
        self.assertEqual(report.status_code, 200)
        self.assertNotContains(report, "Zelda")
        self.assertContains(report, "<svg")

    def test_recording_an_event_through_the_form_is_audited(self):
        client = self.client_for("analyst")
        response = client.post(reverse("prevention:event_create"), {
            "kind": EventKind.PUBLIC_EVENT, "title": "Carnival stall", "date": "2025-02-10", "place": "Queen's Park",
            "languages": "en, es", "partners": [self.police.pk], "reached_female_adult": 12,
            **{f: 0 for f, _s, _a in REACH_FIELDS if f != "reached_female_adult"},
            "materials_count": 100, "hotline_calls": 0,
        })  # fmt: skip
        self.assertEqual(
            response.status_code, 302, getattr(response, "context", {}) and response.context["form"].errors
        )
        event = OutreachEvent.objects.get(title="Carnival stall")
        self.assertEqual(
            (event.people_reached, event.languages, list(event.partners.all())), (12, ["en", "es"], [self.police])
        )
        self.assertTrue(AuditEvent.objects.filter(action="prevention.event_recorded", object_id=str(event.pk)).exists())


class ExportTests(PreventionTestCase):
    def test_export_neutralises_formulas_and_is_audited(self):
        Course.objects.create(title='=HYPERLINK("x")', subject=Subject.OTHER)
        Course.objects.create(title="-2+3", subject=Subject.OTHER)
        Course.objects.create(title="@SUM(A1)", subject=Subject.OTHER)
        Course.objects.create(title="+cmd", subject=Subject.OTHER)
        response = self.client_for("analyst").get(reverse("prevention:report_export"))
        self.assertEqual(response.status_code, 200)
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        titles = [row[0] for row in rows if row and row[0][:2] in ("'=", "'-", "'@", "'+")]
        self.assertEqual(sorted(titles), sorted(['\'=HYPERLINK("x")', "'-2+3", "'@SUM(A1)", "'+cmd"]))
        self.assertFalse(any(row and row[0][:1] in "=+-@" for row in rows if row and row[0]))
        event = AuditEvent.objects.get(action="prevention.reports_exported")
        self.assertEqual(event.details["format"], "csv")

    def test_defuse_leaves_numbers_alone(self):
        self.assertEqual(exchange.defuse(-5), -5)
        self.assertEqual(exchange.defuse("-5"), "'-5")
        self.assertEqual(exchange.defuse("plain"), "plain")
        # Tab and carriage return start formulas in some spreadsheets too (issue #10).
        self.assertEqual(exchange.defuse("\t=1+1"), "'\t=1+1")
        self.assertEqual(exchange.defuse("\r=1+1"), "'\r=1+1")


class TrainerTests(PreventionTestCase):
    def test_expired_certifications_are_highlighted(self):
        actions.certify_trainer(
            actor=self.director,
            user=self.analyst,
            subjects=[Subject.VICTIM_CARE],
            valid_until=datetime.date(2000, 1, 1),
        )
        person = self.participant(name="Trainer Tia")
        actions.certify_trainer(
            actor=self.director, participant=person, subjects=[Subject.OTHER], valid_until=datetime.date(2999, 1, 1)
        )
        response = self.client_for("director").get(reverse("prevention:certification_list"))
        expired = [row for row in response.context["rows"] if row["expired"]]
        self.assertEqual([row["certification"].user for row in expired], [self.analyst])
        self.assertContains(response, "table-danger", count=1)
        self.assertEqual(AuditEvent.objects.filter(action="prevention.trainer_certified").count(), 2)

    def test_certification_needs_one_holder(self):
        from django.core.exceptions import ValidationError

        with self.assertRaises(ValidationError):
            actions.certify_trainer(
                actor=self.director, subjects=[Subject.OTHER], valid_until=datetime.date(2030, 1, 1)
            )
        self.assertEqual(TrainerCertification.objects.count(), 0)

    def test_actions_refuse_without_permission(self):
        from django.core.exceptions import PermissionDenied

        with self.assertRaises(PermissionDenied):
            actions.create_course(actor=self.investigator, title="T", subject=Subject.OTHER)


class EditTests(PreventionTestCase):
    def post(self, url, data, user="analyst"):
        return self.client_for(user).post(url, data)

    def event_data(self, event, **changes):
        data = {
            "kind": event.kind, "title": event.title, "date": event.date.isoformat(), "languages": "",
            **{f: getattr(event, f) for f, _s, _a in REACH_FIELDS},
            "materials_count": 0, "hotline_calls": 0, "version": event.version,
        }  # fmt: skip
        data.update(changes)
        return data

    def test_edit_event_through_the_page(self):
        event = self.event(datetime.date(2025, 1, 5), reached_female_minor=2)
        url = reverse("prevention:event_edit", args=[event.pk])
        self.assertEqual(self.client_for("analyst").get(url).status_code, 200)
        self.assertContains(self.client_for("analyst").get(reverse("prevention:index")), url)
        response = self.post(url, self.event_data(event, title="Renamed", partners=[self.police.pk]))
        self.assertEqual(response.status_code, 302)
        event.refresh_from_db()
        self.assertEqual((event.title, event.version, list(event.partners.all())), ("Renamed", 2, [self.police]))
        row = AuditEvent.objects.get(action="prevention.event_updated", object_id=str(event.pk))
        self.assertEqual(sorted(row.changed_fields), ["partners", "title"])

    def test_edit_course_through_the_page(self):
        url = reverse("prevention:course_edit", args=[self.course.pk])
        self.assertEqual(self.client_for("analyst").get(url).status_code, 200)
        response = self.post(url, {"title": self.course.title, "subject": self.course.subject, "pass_mark": 80,
                                   "version": 1})  # fmt: skip
        self.assertEqual(response.status_code, 302)
        self.course.refresh_from_db()
        self.assertEqual((self.course.pass_mark, self.course.version), (80, 2))
        row = AuditEvent.objects.get(action="prevention.course_updated", object_id=str(self.course.pk))
        self.assertEqual(list(row.changed_fields), ["pass_mark"])

    def test_edit_session_through_the_page(self):
        url = reverse("prevention:session_edit", args=[self.session.pk])
        self.assertEqual(self.client_for("analyst").get(url).status_code, 200)
        response = self.post(url, {"course": self.course.pk, "date": "2025-03-05", "place": "San Fernando",
                                   "facilitators": [self.analyst.pk], "version": 1})  # fmt: skip
        self.assertEqual(response.status_code, 302)
        self.session.refresh_from_db()
        self.assertEqual((self.session.place, list(self.session.facilitators.all())), ("San Fernando", [self.analyst]))
        self.assertTrue(
            AuditEvent.objects.filter(action="prevention.session_updated", object_id=str(self.session.pk)).exists()
        )

    def test_edit_participant_through_the_page(self):
        person = self.participant(name="Ann Lee", pre_score=40)
        detail = self.client_for("analyst").get(reverse("prevention:session_detail", args=[self.session.pk]))
        url = reverse("prevention:participant_edit", args=[self.session.pk, person.pk])
        self.assertContains(detail, url)
        self.assertEqual(self.client_for("analyst").get(url).status_code, 200)
        response = self.post(url, {"name": "Ann Lee", "sex": "female", "attended": "on", "pre_score": 40,
                                   "post_score": 90, "version": 1})  # fmt: skip
        self.assertEqual(response.status_code, 302)
        person.refresh_from_db()
        self.assertEqual((person.post_score, person.sex, person.version), (90, "female", 2))
        row = AuditEvent.objects.get(action="prevention.participant_updated", object_id=str(person.pk))
        self.assertEqual(sorted(row.changed_fields), ["post_score", "sex"])
        self.assertNotIn("Ann", str(row.details))

    def test_stale_edit_returns_409_and_changes_nothing(self):
        Course.objects.filter(pk=self.course.pk).update(version=2)
        url = reverse("prevention:course_edit", args=[self.course.pk])
        response = self.post(url, {"title": "Overwritten", "subject": self.course.subject, "pass_mark": 10,
                                   "version": 1})  # fmt: skip
        self.assertContains(response, "Someone else changed this record", status_code=409)
        self.course.refresh_from_db()
        self.assertEqual((self.course.title, self.course.pass_mark, self.course.version), ("Screening basics", 70, 2))
        self.assertFalse(AuditEvent.objects.filter(action="prevention.course_updated").exists())

    def test_editing_needs_prevention_record(self):
        person = self.participant()
        event = self.event(datetime.date(2025, 1, 5))
        urls = [
            reverse("prevention:event_edit", args=[event.pk]),
            reverse("prevention:course_edit", args=[self.course.pk]),
            reverse("prevention:session_edit", args=[self.session.pk]),
            reverse("prevention:participant_edit", args=[self.session.pk, person.pk]),
        ]
        for url in urls:
            for name in ("investigator", "intake", "nobody", "shelter", "other_analyst"):
                with self.subTest(url=url, user=name):
                    self.assertEqual(self.client_for(name).get(url).status_code, 403)
                    self.assertEqual(self.client_for(name).post(url, {"version": 1}).status_code, 403)
        remove = reverse("prevention:participant_remove", args=[self.session.pk, person.pk])
        self.assertEqual(self.client_for("investigator").post(remove, {"version": 1}).status_code, 403)
        self.assertTrue(Participant.objects.filter(pk=person.pk).exists())
        with self.assertRaises(PermissionDenied):
            actions.update_course(self.course, actor=self.investigator, version=1, title="T")

    def test_removing_a_participant_is_audited(self):
        person = self.participant(name="Bo Ray")
        url = reverse("prevention:participant_remove", args=[self.session.pk, person.pk])
        stale = self.post(url, {"version": 5})
        self.assertEqual(stale.status_code, 409)
        self.assertTrue(Participant.objects.filter(pk=person.pk).exists())
        response = self.post(url, {"version": 1})
        self.assertEqual(response.status_code, 302)
        self.assertFalse(Participant.objects.filter(pk=person.pk).exists())
        row = AuditEvent.objects.get(action="prevention.participant_removed")
        self.assertEqual((row.object_id, row.details), (str(self.session.pk), {"participant_id": person.pk}))
        self.assertNotIn("Bo", str(row.details))

"""From report to case (issue #3): the route, its alerts, its access rules, duplicates and locking."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts.models import Notification
from audit.models import AuditEvent
from cases.models import Case
from intake import actions
from intake.models import Report, ReportLink
from screening.models import Decision
from tests.base import AccessTestMixin, BeaconTestCase


def recipients(event: str) -> set[str]:
    return set(Notification.objects.filter(event=event).values_list("recipient__username", flat=True))


class IntakeTestCase(BeaconTestCase):
    def new_report(self, **fields) -> Report:
        defaults = {"channel": "hotline", "received_at": timezone.now(), "narrative": "A caller describes workers locked in a compound."}
        return actions.create_report(actor=self.intake, **{**defaults, **fields})


class RouteToCaseTests(IntakeTestCase):
    """The whole route, each alert reaching the right users and nobody else."""

    def test_public_report_to_opened_case(self):
        # A member of the public files the report anonymously through the public form, in Spanish.
        response = Client(HTTP_ACCEPT_LANGUAGE="es", REMOTE_ADDR="198.51.100.20").post(
            reverse("public:report"),
            {"narrative": "Mi prima de 16 años fue traída de Venezuela y la tienen en un bar en San Fernando.",
             "victim_age_group": "child", "victim_sex": "female", "victim_count": "1", "exploitation": ["sexual"]},
        )  # fmt: skip
        self.assertEqual(response.status_code, 200)
        self.assertRegex(response.content.decode(), r"\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b")
        report = Report.objects.get()
        self.assertEqual(report.channel, "public_form")
        self.assertEqual(report.urgency, "urgent")
        self.assertEqual(recipients("report.created"), {"director", "hoi"})
        self.assertEqual(recipients("report.child"), {"director", "hoi"})
        self.assertTrue(all(Notification.objects.filter(event="report.child").values_list("urgent", flat=True)))

        hoi = self.client_for("hoi")
        response = hoi.post(reverse("intake:report_triage", args=[report.pk]), {"priority": 1, "urgency": "urgent", "version": report.version})
        self.assertEqual(response.status_code, 302)
        report.refresh_from_db()
        self.assertEqual((report.status, report.priority), ("triaged", 1))

        hoi.post(reverse("intake:report_assign", args=[report.pk]), {"investigator": self.investigator.pk, "version": report.version})
        report.refresh_from_db()
        self.assertEqual((report.status, report.assignee), ("assigned", self.investigator))
        self.assertIsNotNone(report.ack_due_at)
        self.assertEqual(recipients("report.assigned"), {"investigator"})

        investigator = self.client_for("investigator")
        self.assertContains(investigator.get(reverse("home")), report.reference)
        investigator.post(reverse("intake:report_acknowledge", args=[report.pk]), {"version": report.version})
        report.refresh_from_db()
        self.assertEqual(report.status, "under_screening")

        response = investigator.post(
            reverse("screening:screen", args=[report.pk]),
            {"person_label": "Victim A", "person_age": 16, "age_basis": "stated", "version": report.version,
             "ind_recruitment": "on", "ev_recruitment": "Offered a job as a waitress on social media.",
             "ind_harbouring": "on", "ev_harbouring": "Kept in rooms above the bar.",
             "ind_sexual": "on", "ev_sexual": "Made to have sex with customers."},
        )  # fmt: skip
        screening = report.screenings.get()
        self.assertRedirects(response, reverse("screening:screening_detail", args=[screening.pk]), fetch_redirect_response=False)
        self.assertEqual(screening.recommendation, "victim")  # a child: act and purpose suffice
        self.assertTrue(screening.is_child)

        # The investigator cannot decide; the Head of Investigations can.
        self.assertIsNone(investigator.get(reverse("screening:screening_detail", args=[screening.pk])).context["form"])
        self.assertEqual(investigator.post(reverse("screening:screening_detail", args=[screening.pk]), {"outcome": "victim_identified"}).status_code, 403)
        report.refresh_from_db()
        Notification.objects.all().delete()
        response = hoi.post(
            reverse("screening:screening_detail", args=[screening.pk]),
            {"outcome": "victim_identified", "rationale": "All elements established; a child.", "deciding_org": "NonPoliceGovernmentalOrganization", "version": report.version},
        )
        case = Case.objects.get(report=report)
        self.assertRedirects(response, reverse("cases:case_detail", args=[case.pk]), fetch_redirect_response=False)
        self.assertEqual(case.trafficking_status, "ActualVictimOfTrafficking")
        self.assertEqual(case.deciding_org, "NonPoliceGovernmentalOrganization")
        self.assertEqual(case.owner, self.investigator)
        self.assertEqual(list(case.persons.values_list("pseudonym", "person__estimated_age", "victim_profile__age_when_trafficked")), [("Victim A", 16, 16)])
        report.refresh_from_db()
        self.assertEqual(report.status, "case_opened")
        self.assertEqual(recipients("decision.recorded"), {"director", "investigator"})  # the deciding officer is not told of their own act
        self.assertEqual(recipients("case.opened"), {"director", "investigator"})
        # Nobody outside: no partner, no police "director", no care officer, no other investigator.
        self.assertFalse(Notification.objects.filter(recipient__username__in=["other_director", "shelter", "care", "investigator2"]).exists())
        # Everything on the way is in the audit log.
        actions_logged = set(AuditEvent.objects.filter(object_id=str(report.pk), object_type="intake.report").values_list("action", flat=True))
        self.assertTrue({"intake.public_report_received", "intake.report_triaged", "intake.report_assigned", "intake.report_acknowledged"} <= actions_logged)

    def test_not_trafficking_decision_opens_no_case(self):
        report = self.new_report()
        actions.assign_report(report, actor=self.hoi, version=report.version, investigator=self.investigator)
        report.refresh_from_db()
        actions.acknowledge_report(report, actor=self.investigator, version=report.version)
        report.refresh_from_db()
        from screening.actions import record_decision, record_screening

        screening = record_screening(report, actor=self.investigator, version=report.version, person_label="A", person_age=30, age_basis="stated", answers={}, evidence={})
        self.assertEqual(screening.recommendation, "not_trafficking")
        report.refresh_from_db()
        record_decision(screening, actor=self.director, version=report.version, outcome="not_trafficking", rationale="Labour dispute only.", deciding_org="NonPoliceGovernmentalOrganization")
        report.refresh_from_db()
        self.assertEqual(report.status, "decided")
        self.assertFalse(Case.objects.filter(report=report).exists())


class WorkflowRuleTests(IntakeTestCase):
    def test_cannot_skip_steps(self):
        report = self.new_report()
        response = self.client_for("investigator").post(reverse("intake:report_acknowledge", args=[report.pk]), {"version": report.version})
        # Not assigned to them: they cannot even see it.
        self.assertEqual(response.status_code, 404)
        actions.assign_report(report, actor=self.hoi, version=report.version, investigator=self.investigator)
        report.refresh_from_db()
        page = self.client_for("investigator").get(reverse("screening:screen", args=[report.pk]), follow=True)
        self.assertContains(page, "cannot be screened now")

    def test_closed_report_cannot_be_triaged(self):
        report = self.new_report()
        actions.close_report(report, actor=self.hoi, version=report.version, reason="Duplicate of an earlier call")
        report.refresh_from_db()
        response = self.client_for("hoi").post(reverse("intake:report_triage", args=[report.pk]), {"priority": 2, "urgency": "routine", "version": report.version}, follow=True)
        self.assertContains(response, "cannot be triaged now")
        report.refresh_from_db()
        self.assertIsNone(report.priority)

    def test_only_investigators_can_be_assigned(self):
        report = self.new_report()
        response = self.client_for("hoi").post(reverse("intake:report_assign", args=[report.pk]), {"investigator": self.care.pk, "version": report.version}, follow=True)
        self.assertContains(response, "Select a valid choice")
        self.assertIsNone(Report.objects.get(pk=report.pk).assignee)

    def test_concurrent_triage_never_silently_overwrites(self):
        report = self.new_report()
        stale = report.version
        hoi, director = self.client_for("hoi"), self.client_for("director")
        hoi.post(reverse("intake:report_triage", args=[report.pk]), {"priority": 1, "urgency": "urgent", "version": stale})
        response = director.post(reverse("intake:report_triage", args=[report.pk]), {"priority": 4, "urgency": "routine", "version": stale}, follow=True)
        self.assertContains(response, "Someone else changed this record")
        report.refresh_from_db()
        self.assertEqual((report.priority, report.urgency), (1, "urgent"))


class ReportDetailAccess(AccessTestMixin, IntakeTestCase):
    allowed = ("intake", "hoi", "director", "deputy", "investigator")
    hidden = ("investigator2", "care", "analyst", "shelter", "other_director", "other_intake", "other_hoi", "nobody")

    def setUp(self):
        self.report = self.new_report(reporter_name="Maria Jose Perez")
        actions.assign_report(self.report, actor=self.hoi, version=self.report.version, investigator=self.investigator)

    def url(self):
        return reverse("intake:report_detail", args=[self.report.pk])

    def test_every_read_is_audited(self):
        self.client_for("director").get(self.url())
        event = AuditEvent.objects.filter(action="intake.report_viewed", object_id=str(self.report.pk)).latest("id")
        self.assertEqual(event.actor_name, "director")
        self.assertNotIn("Maria", str(event.details))


class TriageAccess(AccessTestMixin, IntakeTestCase):
    method = "post"
    allowed = ("hoi", "director", "deputy")
    allowed_status = (302,)
    forbidden = ("intake", "investigator")  # they can see the report but not triage it
    hidden = ("shelter", "other_hoi", "care")

    def setUp(self):
        self.report = self.new_report()
        actions.assign_report(self.report, actor=self.hoi, version=self.report.version, investigator=self.investigator)
        self.report.refresh_from_db()
        self.report.status = "received"
        Report.objects.filter(pk=self.report.pk).update(status="received")

    def url(self):
        return reverse("intake:report_triage", args=[self.report.pk])

    def data(self):
        return {"priority": 2, "urgency": "priority", "version": Report.objects.get(pk=self.report.pk).version}


class ReportListTests(IntakeTestCase):
    def test_lists_are_scoped_and_audited(self):
        mine = self.new_report()
        other = self.new_report()
        actions.assign_report(mine, actor=self.hoi, version=mine.version, investigator=self.investigator)
        page = self.client_for("investigator").get(reverse("intake:report_list"))
        self.assertEqual({r.pk for r in page.context["page"]}, {mine.pk})
        everyone = self.client_for("intake").get(reverse("intake:report_list"))
        self.assertTrue({mine.pk, other.pk} <= {r.pk for r in everyone.context["page"]})
        self.assertEqual(self.client_for("shelter").get(reverse("intake:report_list")).status_code, 403)
        self.assertTrue(AuditEvent.objects.filter(action="intake.report_list", actor_name="investigator").exists())

    def test_overdue_filter_and_home_panel(self):
        report = self.new_report()
        actions.assign_report(report, actor=self.hoi, version=report.version, investigator=self.investigator)
        Report.objects.filter(pk=report.pk).update(ack_due_at=timezone.now() - timezone.timedelta(hours=1))
        listing = self.client_for("hoi").get(reverse("intake:report_list"), {"overdue": "on"})
        self.assertEqual([r.pk for r in listing.context["page"]], [report.pk])
        self.assertContains(self.client_for("hoi").get(reverse("home")), "Acknowledgement overdue")


class OfficerFormTests(IntakeTestCase):
    def test_officer_records_a_hotline_call(self):
        client = self.client_for("intake")
        response = client.post(
            reverse("intake:report_create"),
            {"channel": "hotline", "received_at": "2026-11-20T10:30", "reporter_relationship": "public", "victim_sex": "female",
             "victim_age_group": "adult", "urgency": "priority", "narrative": "Women seen locked in a house in Chaguanas.",
             "exploitation": ["sexual", "forced_labour"], "reporter_phone": "+1 868 555 0101", "latitude": "10.5167", "longitude": "-61.4111"},
        )  # fmt: skip
        report = Report.objects.latest("id")
        self.assertRedirects(response, reverse("intake:report_detail", args=[report.pk]), fetch_redirect_response=False)
        self.assertEqual(report.exploitation, ["sexual", "forced_labour"])
        self.assertTrue(report.reference.startswith("R-2026-"))
        self.assertEqual(report.created_by, self.intake)

    def test_bad_input_changes_nothing(self):
        before = Report.objects.count()
        response = self.client_for("intake").post(
            reverse("intake:report_create"),
            {"channel": "hotline", "received_at": "not a date", "urgency": "routine", "narrative": "x", "incident_from": "2026-05-02",
             "incident_to": "2026-05-01", "latitude": "95", "longitude": "", "victim_count": "many", "reporter_relationship": "unknown",
             "victim_sex": "unknown", "victim_age_group": "unknown"},
        )  # fmt: skip
        self.assertEqual(response.status_code, 200)
        self.assertEqual(Report.objects.count(), before)
        errors = response.context["form"].errors
        self.assertTrue({"received_at", "incident_to", "victim_count", "longitude"} <= set(errors))

    def test_partner_staff_cannot_record_reports(self):
        self.assertEqual(self.client_for("shelter").get(reverse("intake:report_create")).status_code, 403)


class DuplicateTests(IntakeTestCase):
    def test_same_phone_place_or_person_is_proposed_and_can_be_linked(self):
        first = self.new_report(reporter_phone="+1 (868) 555-0199", named_persons="Pérez, María José", latitude="10.6596", longitude="-61.5019")
        by_phone = self.new_report(reporter_phone="868 5550199")
        by_name = self.new_report(named_persons="Maria Jose Perez")
        by_place = self.new_report(latitude="10.6600", longitude="-61.5020")
        unrelated = self.new_report(reporter_phone="+1 868 555 0000", named_persons="John Smith", latitude="10.2", longitude="-61.0")
        page = self.client_for("hoi").get(reverse("intake:report_detail", args=[first.pk]))
        found = {c.report.pk: c.reasons for c in page.context["duplicates"]}
        self.assertEqual(set(found), {by_phone.pk, by_name.pk, by_place.pk})
        self.assertNotIn(unrelated.pk, found)
        self.client_for("hoi").post(reverse("intake:report_link", args=[first.pk]), {"other": by_phone.pk})
        self.assertTrue(ReportLink.objects.filter(report=first, other=by_phone).exists())
        page = self.client_for("hoi").get(reverse("intake:report_detail", args=[first.pk]))
        self.assertNotIn(by_phone.pk, {c.report.pk for c in page.context["duplicates"]})
        self.assertIn(by_phone, list(page.context["links"]))


class EncryptionAtRestTests(IntakeTestCase):
    def test_identities_and_narrative_are_not_stored_in_clear(self):
        report = self.new_report(reporter_name="Zoraida Quintero", reporter_phone="+1 868 555 0147", narrative="Zoraida saw twelve workers.", named_persons="Rudolfo Quintero", location_text="Pier 1, Chaguaramas")
        with connection.cursor() as cursor:
            cursor.execute("SELECT reporter_name, reporter_phone, narrative, named_persons, location_text FROM intake_report WHERE id = %s", [report.pk])
            raw = " ".join(str(v) for v in cursor.fetchone())
        for secret in ("Zoraida", "Quintero", "555 0147", "Chaguaramas", "twelve"):
            self.assertNotIn(secret, raw)
        self.assertEqual(Report.objects.get(pk=report.pk).reporter_name, "Zoraida Quintero")


class DecisionRecordTests(IntakeTestCase):
    def test_decision_keeps_the_recommendation_it_overrode(self):
        report = self.new_report()
        actions.assign_report(report, actor=self.hoi, version=report.version, investigator=self.investigator)
        report.refresh_from_db()
        actions.acknowledge_report(report, actor=self.investigator, version=report.version)
        report.refresh_from_db()
        from screening.actions import record_decision, record_screening

        answers = {"recruitment": True, "deception": True, "forced_labour": True}
        evidence = {"recruitment": "job ad", "deception": "pay lied about", "forced_labour": "no wages"}
        screening = record_screening(report, actor=self.investigator, version=report.version, person_label="B", person_age=40, age_basis="document", answers=answers, evidence=evidence)
        self.assertEqual(screening.recommendation, "victim")
        report.refresh_from_db()
        decision = record_decision(screening, actor=self.hoi, version=report.version, outcome="possible_victim", rationale="Needs corroboration.", deciding_org="Police")
        self.assertTrue(decision.disagrees)
        self.assertEqual(decision.recommendation, "victim")
        self.assertEqual(Case.objects.get(report=report).trafficking_status, "PossibleVictimOfTrafficking")
        self.assertTrue(Decision.objects.filter(pk=decision.pk, disagrees=True).exists())

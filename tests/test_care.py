"""Victim care (issue #4): needs, risk, plans, services, permits, child safeguarding and consent, recorded per
victim; who sees and who records; the permit alert; the consent query API; encryption at rest."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from alerts.models import Notification
from alerts.tasks import run_periodic_checks
from audit.models import AuditEvent
from care import actions
from care.consent import active_consents, has_consent
from care.models import (
    AgeAssessment,
    AuthorityNotification,
    CarePlan,
    Consent,
    Guardian,
    ImmigrationDocument,
    Need,
    PlanAction,
    RiskAssessment,
    ServiceDelivery,
)
from cases import actions as case_actions
from cases.models import Case
from intake import actions as intake_actions
from screening.actions import record_decision, record_screening
from tests.base import AccessTestMixin, BeaconTestCase, make_user

# Distinctive enough that finding it anywhere it should not be can only mean a leak.
NAME = ("Quenisha", "Baptiste-Ramdeen")
DOC_NUMBER = "MP-4471-ZX93"


def iso(day) -> str:
    return day.isoformat()


class CareTestCase(BeaconTestCase):
    """A case owned by ``investigator`` with a victim of 16 (``self.child``); ``care`` is on the team as care
    officer, ``handler`` as suspects-only investigator. ``self.adult_case`` has a victim of 30."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.handler = make_user("handler", cls.ctu, "investigator")
        cls.care2 = make_user("care2", cls.ctu, "victim_care_officer")
        cls.users.update(handler=cls.handler, care2=cls.care2)
        cls.case = cls.open_case(age=16, label="Victim A")
        cls.child = cls.case.persons.get(role="victim")
        case_actions.add_team_member(cls.case, actor=cls.hoi, user=cls.care, role="care")
        case_actions.add_team_member(cls.case, actor=cls.hoi, user=cls.handler, role="suspect_handler")
        person = cls.child.person
        case_actions.update_person(
            cls.child, actor=cls.investigator, version=person.version, given_names=NAME[0], family_names=NAME[1]
        )
        cls.adult_case = cls.open_case(age=30, label="Victim B")
        cls.adult = cls.adult_case.persons.get(role="victim")
        case_actions.add_team_member(cls.adult_case, actor=cls.hoi, user=cls.care, role="care")

    @classmethod
    def open_case(cls, *, age: int, label: str) -> Case:
        report = intake_actions.create_report(
            actor=cls.intake, channel="hotline", received_at=timezone.now(), narrative="Workers kept in a compound."
        )
        intake_actions.assign_report(report, actor=cls.hoi, version=report.version, investigator=cls.investigator)
        report.refresh_from_db()
        intake_actions.acknowledge_report(report, actor=cls.investigator, version=report.version)
        report.refresh_from_db()
        answers = {"recruitment": True, "deception": True, "forced_labour": True}
        evidence = {"recruitment": "job ad", "deception": "pay lied about", "forced_labour": "no wages"}
        screening = record_screening(
            report,
            actor=cls.investigator,
            version=report.version,
            person_label=label,
            person_age=age,
            age_basis="stated",
            answers=answers,
            evidence=evidence,
        )
        report.refresh_from_db()
        record_decision(
            screening,
            actor=cls.hoi,
            version=report.version,
            outcome="victim_identified",
            rationale="All elements.",
            deciding_org="Police",
        )
        return Case.objects.get(report=report)

    def care_url(self, case=None) -> str:
        return reverse("care:case_care", args=[(case or self.case).pk])

    def add_url(self, kind: str, link=None) -> str:
        return reverse("care:add", args=[(link or self.child).pk, kind])

    def need_data(self, **extra) -> dict:
        return {
            "need_type": "medical",
            "priority": "high",
            "status": "identified",
            "identified_on": iso(timezone.localdate()),
            "notes": "Untreated injury to the left wrist.",
            **extra,
        }


# --- access ---------------------------------------------------------------------------------------------


class CarePageAccess(AccessTestMixin, CareTestCase):
    allowed = ("care", "hoi", "director", "deputy", "investigator")  # the owner sees the whole case
    hidden = (
        "investigator2",
        "handler",
        "shelter",
        "refuge",
        "other_director",
        "other_care",
        "analyst",
        "intake",
        "care2",
        "nobody",
    )

    def url(self):
        return self.care_url()


class RecordNeedAccess(AccessTestMixin, CareTestCase):
    method = "post"
    allowed = ("care", "hoi", "director")
    allowed_status = (302,)
    forbidden = ("investigator",)  # sees the victim, lacks care.record
    hidden = ("investigator2", "handler", "shelter", "other_director", "other_care", "analyst", "care2")

    def url(self):
        return self.add_url("need")

    def data(self):
        return self.need_data()


class EditNeedAccess(AccessTestMixin, CareTestCase):
    allowed = ("care", "hoi")
    forbidden = ("investigator",)
    hidden = ("investigator2", "handler", "shelter", "other_director", "analyst")

    def setUp(self):
        self.need = actions.add_need(self.child, actor=self.care, need_type="shelter", priority="urgent")

    def url(self):
        return reverse("care:edit", args=["need", self.need.pk])


class ConsentWithdrawAccess(AccessTestMixin, CareTestCase):
    allowed = ("care", "director")
    forbidden = ("investigator",)
    hidden = ("handler", "investigator2", "shelter", "analyst")

    def setUp(self):
        self.consent = actions.record_consent(self.child, actor=self.care, purpose="services", method="verbal")

    def url(self):
        return reverse("care:consent_withdraw", args=[self.consent.pk])


class AccessRuleTests(CareTestCase):
    def test_a_victims_share_sees_but_cannot_record(self):
        case_actions.share_case(
            self.case,
            actor=self.hoi,
            user=self.care2,
            scope="victims",
            reason="Covering for leave",
            until=timezone.localdate() + timedelta(days=5),
        )
        client = self.client_for("care2")
        self.assertEqual(client.get(self.care_url()).status_code, 200)
        self.assertEqual(client.post(self.add_url("need"), self.need_data()).status_code, 403)
        self.assertFalse(Need.objects.exists())

    def test_a_suspects_share_sees_nothing_of_care(self):
        case_actions.share_case(
            self.case,
            actor=self.hoi,
            user=self.investigator2,
            scope="suspects",
            reason="Financial enquiry",
            until=timezone.localdate() + timedelta(days=5),
        )
        self.assertEqual(self.client_for("investigator2").get(self.care_url()).status_code, 404)

    def test_break_glass_opens_the_care_record(self):
        case_actions.break_glass(
            self.case, actor=self.investigator2, reason="Victim called the hotline in danger tonight."
        )
        self.assertEqual(self.client_for("investigator2").get(self.care_url()).status_code, 200)

    def test_only_victims_have_care_records(self):
        suspect = case_actions.add_person(self.case, actor=self.investigator, role="suspect", pseudonym="S1")
        self.assertEqual(self.client_for("hoi").get(self.add_url("need", suspect)).status_code, 404)
        self.assertEqual(self.client_for("hoi").get(self.add_url("bogus")).status_code, 404)

    def test_actions_refuse_users_without_the_right(self):
        with self.assertRaises(PermissionDenied):
            actions.add_need(self.child, actor=self.investigator, need_type="medical")
        with self.assertRaises(PermissionDenied):
            actions.add_need(self.child, actor=self.handler, need_type="medical")
        self.assertFalse(Need.objects.exists())

    def test_care_officer_on_one_case_does_not_see_another(self):
        other = self.open_case(age=25, label="Victim C")
        self.assertEqual(self.client_for("care").get(self.care_url(other)).status_code, 404)

    def test_every_form_page_opens(self):
        from care.views import KINDS

        client = self.client_for("care")
        for kind, spec in KINDS.items():
            if spec.parent == "victim":
                with self.subTest(kind=kind):
                    self.assertContains(client.get(self.add_url(kind)), 'type="submit"')
        need = actions.add_need(self.child, actor=self.care, need_type="shelter")
        plan = actions.add_plan(self.child, actor=self.care, plan_type="Health", objectives="Recover.")
        goal = actions.add_goal(plan, actor=self.care, description="Full check-up")
        item = actions.add_plan_action(goal, actor=self.care, description="Book the clinic", owner=self.care)
        service = actions.record_service(
            self.child, actor=self.care, service_type="legal_aid", provider_other="Legal Aid Authority"
        )
        document = actions.add_document(self.child, actor=self.care, kind="visa")
        guardian = actions.add_guardian(self.child, actor=self.care, name="M. B.", relationship="parent")
        consent = actions.record_consent(self.child, actor=self.care, purpose="contact", method="verbal")
        pages = [
            reverse("care:edit", args=["need", need.pk]), reverse("care:edit", args=["plan", plan.pk]),
            reverse("care:edit", args=["goal", goal.pk]), reverse("care:edit", args=["action", item.pk]),
            reverse("care:edit", args=["service", service.pk]), reverse("care:edit", args=["document", document.pk]),
            reverse("care:edit", args=["guardian", guardian.pk]), reverse("care:consent_withdraw", args=[consent.pk]),
            reverse("care:goal_add", args=[plan.pk]), reverse("care:action_add", args=[goal.pk]),
        ]  # fmt: skip
        for url in pages:
            with self.subTest(url=url):
                self.assertContains(client.get(url), 'type="submit"')
        self.assertEqual(
            client.get(reverse("care:edit", args=["risk", 1])).status_code, 404
        )  # assessments are never edited
        self.assertContains(client.get(self.care_url()), "Book the clinic")

    def test_every_read_is_audited_without_personal_data(self):
        self.client_for("care").get(self.care_url())
        event = AuditEvent.objects.filter(action="care.viewed", object_id=str(self.case.pk)).latest("id")
        self.assertEqual(event.actor_name, "care")
        self.assertEqual(event.details["case_person_ids"], [self.child.pk])
        self.assertNotIn(NAME[0], str(event.details))
        need = actions.add_need(self.child, actor=self.care, need_type="shelter")
        self.client_for("care").get(reverse("care:edit", args=["need", need.pk]))
        self.assertTrue(AuditEvent.objects.filter(action="care.viewed", details__page="need_edit").exists())


# --- each area recorded and read back -------------------------------------------------------------------


class NeedTests(CareTestCase):
    def test_record_update_and_read_back(self):
        client = self.client_for("care")
        response = client.post(self.add_url("need"), self.need_data())
        self.assertEqual(response.status_code, 302)
        need = Need.objects.get()
        self.assertEqual(
            (need.need_type, need.priority, need.status, need.recorded_by), ("medical", "high", "identified", self.care)
        )
        page = client.get(self.care_url())
        self.assertContains(page, "Untreated injury to the left wrist.")
        self.assertContains(page, "Medical")
        response = client.post(
            reverse("care:edit", args=["need", need.pk]), self.need_data(status="met", version=need.version)
        )
        self.assertEqual(response.status_code, 302)
        need.refresh_from_db()
        self.assertEqual((need.status, need.resolved_on, need.version), ("met", timezone.localdate(), 2))
        event = AuditEvent.objects.filter(action="care.need_updated").latest("id")
        self.assertEqual(event.changed_fields, ["resolved_on", "status"])
        self.assertNotIn("wrist", str(event.details))

    def test_stale_edit_is_refused_and_changes_nothing(self):
        need = actions.add_need(
            self.child, actor=self.care, need_type="shelter", priority="urgent", notes="First version"
        )
        stale = need.version
        actions.update_need(need, actor=self.hoi, version=stale, notes="Head of investigations' version")
        response = self.client_for("care").post(
            reverse("care:edit", args=["need", need.pk]), self.need_data(notes="Care officer's version", version=stale)
        )
        self.assertEqual(response.status_code, 409)
        self.assertContains(response, "Someone else changed this record", status_code=409)
        need.refresh_from_db()
        self.assertEqual((need.notes, need.version, need.need_type), ("Head of investigations' version", 2, "shelter"))


class RiskTests(CareTestCase):
    def test_schedule_sets_the_next_review_by_level(self):
        today = timezone.localdate()
        for level, days in (("critical", 7), ("high", 14), ("medium", 30), ("low", 90)):
            with self.subTest(level=level):
                risk = actions.record_risk_assessment(
                    self.child, actor=self.care, level=level, factors="Trafficker knows the shelter."
                )
                self.assertEqual(risk.next_review_on, today + timedelta(days=days))

    def test_recorded_through_the_page_with_history(self):
        client = self.client_for("care")
        today = timezone.localdate()
        client.post(
            self.add_url("risk"),
            {"level": "medium", "factors": "Debt owed to recruiter.", "assessed_on": iso(today - timedelta(days=3))},
        )
        response = client.post(
            self.add_url("risk"),
            {"level": "critical", "factors": "Recruiter seen outside the shelter.", "assessed_on": iso(today)},
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(RiskAssessment.objects.count(), 2)
        latest = RiskAssessment.objects.first()
        self.assertEqual((latest.level, latest.next_review_on), ("critical", today + timedelta(days=7)))
        page = client.get(self.care_url())
        self.assertContains(page, "Safety risk: Critical")
        self.assertContains(page, "Recruiter seen outside the shelter.")
        self.assertContains(page, "1 earlier assessment")
        self.assertContains(page, "Debt owed to recruiter.")

    def test_review_date_cannot_be_later_than_the_schedule(self):
        today = timezone.localdate()
        response = self.client_for("care").post(
            self.add_url("risk"),
            {
                "level": "critical",
                "factors": "x",
                "assessed_on": iso(today),
                "next_review_on": iso(today + timedelta(days=60)),
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "must be reviewed within 7 days")
        self.assertFalse(RiskAssessment.objects.exists())

    def test_overdue_reviews_show_on_the_page_and_the_home_panel(self):
        today = timezone.localdate()
        actions.record_risk_assessment(
            self.child,
            actor=self.care,
            level="high",
            factors="Threats by phone.",
            assessed_on=today - timedelta(days=20),
        )
        page = self.client_for("care").get(self.care_url())
        self.assertContains(page, "Risk review overdue")
        home = self.client_for("care").get(reverse("home"))
        self.assertContains(home, "Risk reviews due")
        self.assertContains(home, self.case.reference)
        self.assertContains(home, f"Overdue since {(today - timedelta(days=6)).isoformat()}")
        # The adult victim was never assessed: listed too.
        self.assertContains(home, self.adult_case.reference)
        self.assertContains(home, "Never assessed")
        # Not for an investigator (no care.record) nor for a suspects-only handler.
        self.assertNotContains(self.client_for("investigator").get(reverse("home")), "Risk reviews due")

    def test_a_fresh_assessment_clears_the_review(self):
        today = timezone.localdate()
        actions.record_risk_assessment(
            self.child, actor=self.care, level="high", factors="Threats.", assessed_on=today - timedelta(days=20)
        )
        actions.record_risk_assessment(self.child, actor=self.care, level="low", factors="Trafficker arrested.")
        actions.record_risk_assessment(self.adult, actor=self.care, level="low", factors="Safe.")
        home = self.client_for("care").get(reverse("home"))
        self.assertContains(home, "No risk review is due.")


class PlanTests(CareTestCase):
    def test_plan_goals_actions_and_progress(self):
        client = self.client_for("care")
        today = timezone.localdate()
        response = client.post(
            self.add_url("plan"),
            {
                "kind": "care",
                "plan_type": "SocialCare",
                "objectives": "Stabilise and return to school.",
                "action_plan": "Shelter, counselling, school enrolment.",
                "start_on": iso(today),
                "planned_end_date": iso(today + timedelta(days=180)),
            },
        )
        self.assertEqual(response.status_code, 302)
        plan = CarePlan.objects.get()
        self.assertEqual((plan.plan_type, plan.kind), ("SocialCare", "care"))
        client.post(
            reverse("care:goal_add", args=[plan.pk]), {"description": "Enrolled in secondary school", "status": "open"}
        )
        goal = plan.goals.get()
        # The responsible person must be someone who can see this victim: never the suspects-only handler.
        response = client.post(
            reverse("care:action_add", args=[goal.pk]),
            {"description": "Meet the school principal", "owner": self.handler.pk, "status": "todo"},
        )
        self.assertContains(response, "Select a valid choice")
        with self.assertRaises(ValidationError):
            actions.add_plan_action(goal, actor=self.care, description="x", owner=self.handler)
        client.post(
            reverse("care:action_add", args=[goal.pk]),
            {
                "description": "Meet the school principal",
                "owner": self.care.pk,
                "due_on": iso(today + timedelta(days=7)),
                "status": "todo",
            },
        )
        client.post(
            reverse("care:action_add", args=[goal.pk]),
            {"description": "Buy uniform", "owner": self.care.pk, "status": "todo"},
        )
        self.assertEqual(PlanAction.objects.count(), 2)
        item = next(a for a in PlanAction.objects.all() if a.description == "Buy uniform")
        client.post(
            reverse("care:edit", args=["action", item.pk]),
            {"description": "Buy uniform", "owner": self.care.pk, "status": "done", "version": item.version},
        )
        item.refresh_from_db()
        self.assertEqual((item.status, item.completed_on), ("done", today))
        page = client.get(self.care_url())
        self.assertContains(page, "Stabilise and return to school.")
        self.assertContains(page, "Enrolled in secondary school")
        self.assertContains(page, "1 of 2 actions done")
        self.assertContains(page, "0 of 1 goals achieved")
        client.post(
            reverse("care:edit", args=["goal", goal.pk]),
            {"description": "Enrolled in secondary school", "status": "achieved", "version": goal.version},
        )
        self.assertContains(client.get(self.care_url()), "1 of 1 goals achieved")

    def test_transition_plan_end_dates(self):
        today = timezone.localdate()
        plan = actions.add_plan(
            self.adult, actor=self.care, kind="transition", plan_type="Livelihood", objectives="Independent living."
        )
        with self.assertRaises(ValidationError):
            actions.update_plan(
                plan, actor=self.care, version=plan.version, actual_end_date=today - timedelta(days=1), start_on=today
            )
        plan = actions.update_plan(plan, actor=self.care, version=plan.version, actual_end_date=today)
        self.assertFalse(plan.is_active)


class ServiceTests(CareTestCase):
    def test_shelter_stay_and_counselling_on_the_timeline(self):
        client = self.client_for("care")
        today = timezone.localdate()
        response = client.post(
            self.add_url("service"),
            {
                "service_type": "accommodation",
                "delivered_on": iso(today - timedelta(days=10)),
                "provider_other": "Some house",
            },
        )
        self.assertContains(response, "Choose the shelter or accommodation provider from the directory.")
        client.post(
            self.add_url("service"),
            {
                "service_type": "accommodation",
                "delivered_on": iso(today - timedelta(days=10)),
                "provider": self.safe_harbour.pk,
            },
        )
        client.post(
            self.add_url("service"),
            {
                "service_type": "counselling",
                "delivered_on": iso(today - timedelta(days=2)),
                "provider_other": "Private counsellor",
                "outcome": "Sleeping better; nightmares persist.",
            },
        )
        self.assertEqual(ServiceDelivery.objects.count(), 2)
        stay = ServiceDelivery.objects.get(service_type="accommodation")
        self.assertTrue(stay.is_ongoing)
        page = client.get(self.care_url())
        self.assertContains(page, "Safe Harbour Shelter")
        self.assertContains(page, "ongoing")
        self.assertContains(page, "Sleeping better; nightmares persist.")
        client.post(
            reverse("care:edit", args=["service", stay.pk]),
            {
                "service_type": "accommodation",
                "delivered_on": iso(today - timedelta(days=10)),
                "ended_on": iso(today),
                "provider": self.safe_harbour.pk,
                "outcome": "Moved to family",
                "version": stay.version,
            },
        )
        stay.refresh_from_db()
        self.assertEqual((stay.ended_on, stay.outcome), (today, "Moved to family"))


class PermitTests(CareTestCase):
    def add_document(self, days: int, **extra) -> ImmigrationDocument:
        return actions.add_document(
            self.child,
            actor=self.care,
            kind="ministers_permit",
            number=DOC_NUMBER,
            expires_on=timezone.localdate() + timedelta(days=days),
            **extra,
        )

    def test_recorded_through_the_page_with_a_countdown(self):
        client = self.client_for("care")
        today = timezone.localdate()
        response = client.post(
            self.add_url("document"),
            {
                "kind": "work_permit",
                "number": DOC_NUMBER,
                "issued_on": iso(today - timedelta(days=300)),
                "expires_on": iso(today + timedelta(days=20)),
                "is_current": "on",
            },
        )
        self.assertEqual(response.status_code, 302)
        client.post(self.add_url("status"), {"status": "work_permit", "as_of": iso(today)})
        page = client.get(self.care_url())
        self.assertContains(page, DOC_NUMBER)
        self.assertContains(page, "expires in 20 days")
        self.assertContains(page, "On a work permit")
        self.assertContains(client.get(reverse("home")), "Permits expiring")

    def test_alert_once_to_owner_and_head_of_investigations_without_names(self):
        self.add_document(20)
        self.assertEqual(actions.flag_expiring_permits(), 1)
        alerts = Notification.objects.filter(event="care.permit_expiring")
        self.assertEqual(set(alerts.values_list("recipient__username", flat=True)), {"investigator", "hoi"})
        for item in alerts:
            self.assertIn(self.case.reference, item.message)
            for secret in (*NAME, "Victim A", DOC_NUMBER):
                self.assertNotIn(secret, item.message)
        self.assertEqual(actions.flag_expiring_permits(), 0)
        run_periodic_checks.call()
        self.assertEqual(alerts.count(), 2)
        self.assertTrue(AuditEvent.objects.filter(action="care.permit_expiry_alerted").exists())

    def test_alert_waits_for_the_thirty_day_mark(self):
        document = self.add_document(45)
        self.assertEqual(actions.flag_expiring_permits(), 0)
        self.assertEqual(actions.flag_expiring_permits(now=timezone.now() + timedelta(days=14)), 0)
        self.assertEqual(actions.flag_expiring_permits(now=timezone.now() + timedelta(days=15)), 1)
        # A renewal (new expiry date) gets its own alert later.
        document.refresh_from_db()
        actions.update_document(
            document, actor=self.care, version=document.version, expires_on=timezone.localdate() + timedelta(days=400)
        )
        self.assertEqual(actions.flag_expiring_permits(now=timezone.now() + timedelta(days=375)), 1)

    def test_no_alert_for_documents_no_longer_held_or_already_expired(self):
        self.add_document(10, is_current=False)
        self.add_document(-3)
        self.assertEqual(actions.flag_expiring_permits(), 0)
        self.assertFalse(Notification.objects.filter(event="care.permit_expiring").exists())


class ChildTests(CareTestCase):
    def test_child_section_only_for_children(self):
        client = self.client_for("care")
        page = client.get(self.care_url())
        self.assertContains(page, "Child safeguarding")
        self.assertContains(page, "The Children's Authority has not been notified.")
        adult_page = client.get(self.care_url(self.adult_case))
        self.assertEqual(adult_page.status_code, 200)
        self.assertNotContains(adult_page, "Child safeguarding")

    def test_guardian_notification_and_age_assessment(self):
        client = self.client_for("care")
        today = timezone.localdate()
        client.post(
            self.add_url("guardian"),
            {
                "name": "Marisol Baptiste",
                "relationship": "parent",
                "contact": "+58 412 555 0101",
                "notes": "Lives in Güiria.",
            },
        )
        client.post(
            self.add_url("authority"),
            {"notified_on": iso(today), "reference": "CA-2025-0192", "notified_by": self.care.pk},
        )
        client.post(
            self.add_url("age"),
            {
                "method": "interview",
                "assessed_on": iso(today),
                "result": "under_18",
                "estimated_age": 16,
                "assessor": "Dr R. Persad",
            },
        )
        self.assertEqual(
            (Guardian.objects.count(), AuthorityNotification.objects.count(), AgeAssessment.objects.count()), (1, 1, 1)
        )
        page = client.get(self.care_url())
        self.assertContains(page, "Marisol Baptiste")
        self.assertContains(page, "Not established")  # not yet established safe to contact
        self.assertContains(page, "CA-2025-0192")
        self.assertNotContains(page, "has not been notified")
        self.assertContains(page, "Under 18")

    def test_notification_must_name_someone_who_sees_the_victim(self):
        with self.assertRaises(ValidationError):
            actions.record_authority_notification(self.child, actor=self.care, notified_by=self.handler)


# --- consent --------------------------------------------------------------------------------------------


class ConsentTests(CareTestCase):
    def test_has_consent_by_purpose_agency_withdrawal_and_date(self):
        today = timezone.localdate()
        self.assertFalse(has_consent(self.child, "services"))
        services = actions.record_consent(
            self.child, actor=self.care, purpose="services", method="guardian", given_on=today - timedelta(days=10)
        )
        share = actions.record_consent(
            self.child,
            actor=self.care,
            purpose="sharing",
            agency=self.safe_harbour,
            method="written",
            given_on=today - timedelta(days=5),
            valid_until=today + timedelta(days=30),
        )
        self.assertTrue(has_consent(self.child, "services"))
        self.assertTrue(has_consent(self.child.pk, "services"))
        self.assertFalse(has_consent(self.child, "services", on=today - timedelta(days=11)))
        self.assertFalse(has_consent(self.child, "court"))
        self.assertFalse(has_consent(self.adult, "services"))
        # Sharing: only with the named agency, never without one.
        self.assertTrue(has_consent(self.child, "sharing", agency=self.safe_harbour))
        self.assertFalse(has_consent(self.child, "sharing", agency=self.blue_basin))
        self.assertFalse(has_consent(self.child, "sharing"))
        self.assertFalse(has_consent(self.child, "sharing", agency=self.safe_harbour, on=today + timedelta(days=31)))
        self.assertEqual({c.pk for c in active_consents(self.child)}, {services.pk, share.pk})
        # Withdrawal: in force until the day before, not from the day itself; the record stays.
        withdrawn_on = today - timedelta(days=1)
        actions.withdraw_consent(
            share, actor=self.care, version=share.version, withdrawn_on=withdrawn_on, withdrawal_method="verbal"
        )
        self.assertFalse(has_consent(self.child, "sharing", agency=self.safe_harbour))
        self.assertFalse(has_consent(self.child, "sharing", agency=self.safe_harbour, on=withdrawn_on))
        self.assertTrue(
            has_consent(self.child, "sharing", agency=self.safe_harbour, on=withdrawn_on - timedelta(days=1))
        )
        self.assertTrue(Consent.objects.filter(pk=share.pk).exists())
        self.assertEqual({c.pk for c in active_consents(self.child)}, {services.pk})
        with self.assertRaises(ValueError):
            has_consent(self.child, "marketing")

    def test_recorded_and_withdrawn_through_the_page(self):
        client = self.client_for("care")
        today = timezone.localdate()
        response = client.post(
            self.add_url("consent"), {"purpose": "sharing", "given_on": iso(today), "method": "written"}
        )
        self.assertContains(response, "Consent to share must name the agency")
        response = client.post(
            self.add_url("consent"),
            {"purpose": "court", "given_on": iso(today), "method": "verbal", "interpreter_used": "on"},
        )
        self.assertContains(response, "Say which language was interpreted.")
        self.assertFalse(Consent.objects.exists())
        client.post(
            self.add_url("consent"),
            {
                "purpose": "sharing",
                "agency": self.blue_basin.pk,
                "given_on": iso(today),
                "method": "thumbprint",
                "interpreter_used": "on",
                "interpreter_language": "Spanish",
                "scope": "Medical summary only",
            },
        )
        consent = Consent.objects.get()
        self.assertEqual((consent.recorded_by, consent.interpreter_language), (self.care, "Spanish"))
        self.assertTrue(has_consent(self.child, "sharing", agency=self.blue_basin))
        page = client.get(self.care_url())
        self.assertContains(page, "Blue Basin Refuge")
        self.assertContains(page, "In force")
        response = client.post(
            reverse("care:consent_withdraw", args=[consent.pk]),
            {
                "withdrawn_on": iso(today),
                "withdrawal_method": "verbal",
                "withdrawal_notes": "Changed her mind after speaking to her mother.",
                "version": consent.version,
            },
        )
        self.assertEqual(response.status_code, 302)
        consent.refresh_from_db()
        self.assertEqual((consent.withdrawn_on, consent.withdrawal_recorded_by), (today, self.care))
        self.assertFalse(has_consent(self.child, "sharing", agency=self.blue_basin))
        self.assertContains(client.get(self.care_url()), f"Withdrawn on {today.isoformat()}")
        self.assertTrue(AuditEvent.objects.filter(action="care.consent_withdrawn", object_id=str(consent.pk)).exists())


# --- encryption at rest ---------------------------------------------------------------------------------


class EncryptionTests(CareTestCase):
    def test_encrypted_columns_hold_no_plaintext(self):
        today = timezone.localdate()
        secrets = {
            ("care_need", "notes"): "Pregnant, fourteen weeks",
            ("care_riskassessment", "factors"): "Brother of the recruiter lives nearby",
            ("care_careplan", "objectives"): "Reunite with grandmother in Sangre Grande",
            ("care_servicedelivery", "outcome"): "HIV test negative",
            ("care_immigrationdocument", "number"): DOC_NUMBER,
            ("care_guardian", "name"): "Marisol Baptiste",
            ("care_guardian", "contact"): "+58 412 555 0101",
            ("care_authoritynotification", "reference"): "CA-2025-0192",
            ("care_ageassessment", "notes"): "Dental development suggests 15",
            ("care_consent", "scope"): "Share medical summary only",
        }
        actions.add_need(self.child, actor=self.care, need_type="srh", notes=secrets[("care_need", "notes")])
        actions.record_risk_assessment(
            self.child, actor=self.care, level="high", factors=secrets[("care_riskassessment", "factors")]
        )
        actions.add_plan(
            self.child, actor=self.care, plan_type="Health", objectives=secrets[("care_careplan", "objectives")]
        )
        actions.record_service(
            self.child,
            actor=self.care,
            service_type="medical",
            provider_other="Clinic",
            outcome=secrets[("care_servicedelivery", "outcome")],
        )
        actions.add_document(self.child, actor=self.care, kind="visa", number=DOC_NUMBER)
        actions.add_guardian(
            self.child,
            actor=self.care,
            name=secrets[("care_guardian", "name")],
            relationship="parent",
            contact=secrets[("care_guardian", "contact")],
        )
        actions.record_authority_notification(
            self.child,
            actor=self.care,
            reference=secrets[("care_authoritynotification", "reference")],
            notified_on=today,
        )
        actions.record_age_assessment(
            self.child,
            actor=self.care,
            method="medical",
            result="under_18",
            notes=secrets[("care_ageassessment", "notes")],
        )
        actions.record_consent(
            self.child,
            actor=self.care,
            purpose="sharing",
            agency=self.safe_harbour,
            method="written",
            scope=secrets[("care_consent", "scope")],
        )
        with connection.cursor() as cursor:
            for (table, column), secret in secrets.items():
                with self.subTest(table=table, column=column):
                    cursor.execute(f"SELECT {column} FROM {table}")  # noqa: S608 - fixed names from this test
                    stored = cursor.fetchone()[0]
                    self.assertTrue(stored)
                    self.assertNotIn(secret, stored)
        self.assertEqual(Guardian.objects.get().contact, secrets[("care_guardian", "contact")])
        # The audit rows carry field names, never the values.
        dump = str(list(AuditEvent.objects.filter(action__startswith="care.").values("details", "changed_fields")))
        for secret in secrets.values():
            self.assertNotIn(secret, dump)

"""Referrals, the unit's side (issue #5): consent blocks sending (override audited, Director alerted), the state
machine, optimistic locking, overdue escalation, visibility, reports and panels."""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta
from io import StringIO
from unittest import mock

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from alerts.models import Notification
from approvals import actions as approvals
from approvals.choices import Kind as ApprovalKind
from approvals.models import ApprovalRequest
from audit.models import AuditEvent
from care import actions as care_actions
from cases import actions as case_actions
from cases.models import Case
from directory.models import Agency
from directory.pathways import ProviderProposal
from intake import actions as intake_actions
from referrals import actions
from referrals.models import Referral
from referrals.reports import referral_statistics
from screening.actions import record_decision, record_screening
from tests.approval_helpers import approve
from tests.base import BeaconTestCase, make_user
from utilities.locking import StaleVersion

MEDIA_ROOT = tempfile.mkdtemp(prefix="beacon-referral-tests-")

# Distinctive values: finding one where it must not be can only mean a leak.
GIVEN, FAMILY, ALIAS = "Quenisha Marisol", "Baptiste-Ramdeen", "Nisha"
PSEUDONYM = "Victim Amaryllis"
SUSPECT = ("Rudolfo", "Quintero-Vasquez")
SUSPECT_PSEUDONYM = "Suspect Zinnia"
WITNESS_PSEUDONYM = "Witness Marigold"
NARRATIVE = "Workers kept in a compound behind the Chaguaramas boatyard."
PHONE = "+1 868 555 0142"
SAFETY = "Do not accept visitors asking for her by name."


@override_settings(MEDIA_ROOT=MEDIA_ROOT)
class ReferralTestCase(BeaconTestCase):
    """A case owned by ``investigator`` with a victim (``self.victim``, care officer ``care`` on the team), a
    suspect and a witness. Safe Harbour and Blue Basin are authorised providers; the victim consented to
    sharing with Safe Harbour only."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.care2 = make_user("care2", cls.ctu, "victim_care_officer")
        cls.users["care2"] = cls.care2
        Agency.objects.filter(pk__in=[cls.safe_harbour.pk, cls.blue_basin.pk]).update(authorised_for_referrals=True)
        cls.safe_harbour.refresh_from_db()
        cls.blue_basin.refresh_from_db()
        cls.case = cls.open_case()
        cls.victim = cls.case.persons.get(role="victim")
        case_actions.add_team_member(cls.case, actor=cls.hoi, user=cls.care, role="care")
        person = cls.victim.person
        case_actions.update_person(
            cls.victim, actor=cls.investigator, version=person.version, pseudonym=PSEUDONYM, given_names=GIVEN,
            family_names=FAMILY, sex="female", nationalities=["VE"], languages=["spa"], interpreter_needed=True,
        )  # fmt: skip
        cls.victim.refresh_from_db()
        case_actions.add_alias(cls.victim, actor=cls.investigator, name=ALIAS)
        case_actions.add_person(
            cls.case,
            actor=cls.investigator,
            role="suspect",
            pseudonym=SUSPECT_PSEUDONYM,
            given_names=SUSPECT[0],
            family_names=SUSPECT[1],
        )
        case_actions.add_person(cls.case, actor=cls.investigator, role="witness", pseudonym=WITNESS_PSEUDONYM)
        cls.need = care_actions.add_need(
            cls.victim, actor=cls.care, need_type="shelter", priority="urgent", status="identified"
        )
        care_actions.record_consent(
            cls.victim, actor=cls.care, purpose="sharing", agency=cls.safe_harbour, method="written"
        )

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(MEDIA_ROOT, ignore_errors=True)

    @classmethod
    def open_case(cls) -> Case:
        report = intake_actions.create_report(
            actor=cls.intake, channel="hotline", received_at=timezone.now(), narrative=NARRATIVE
        )
        intake_actions.assign_report(report, actor=cls.hoi, version=report.version, investigator=cls.investigator)
        report.refresh_from_db()
        intake_actions.acknowledge_report(report, actor=cls.investigator, version=report.version)
        report.refresh_from_db()
        screening = record_screening(
            report, actor=cls.investigator, version=report.version, person_label="Victim A", person_age=24, age_basis="stated",
            answers={"recruitment": True, "deception": True, "forced_labour": True},
            evidence={"recruitment": "job ad", "deception": "pay lied about", "forced_labour": "no wages"},
        )  # fmt: skip
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

    def referral(self, *, send=True, provider=None, actor=None, **fields) -> Referral:
        values = {
            "provider": provider or self.safe_harbour, "needs": ["shelter"], "urgency": "urgent",
            "shared_fields": ["name", "age", "sex", "languages", "safety_notes"], "shared_name": ALIAS,
            "safety_notes": SAFETY, "care_needs": [self.need],
        }  # fmt: skip
        values.update(fields)
        referral = actions.create_referral(self.victim, actor=actor or self.care, **values)
        if send:
            referral = actions.send_referral(referral, actor=actor or self.care, version=referral.version)
        return referral

    def fresh(self, referral: Referral) -> Referral:
        return Referral.objects.get(pk=referral.pk)

    def worker(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            call_command("beacon_worker", "--once", stdout=StringIO())


class ConsentTests(ReferralTestCase):
    def test_sending_without_consent_is_refused_and_nothing_is_shared(self):
        referral = self.referral(send=False, provider=self.blue_basin)
        with self.assertRaises(ValidationError) as raised:
            actions.send_referral(referral, actor=self.care, version=referral.version)
        self.assertEqual(raised.exception.code, "no_consent")
        referral = self.fresh(referral)
        self.assertEqual(referral.status, "draft")
        self.assertEqual(referral.snapshot, {})
        self.assertFalse(Notification.objects.filter(recipient=self.refuge).exists())

    def test_the_form_blocks_with_a_clear_message(self):
        url = reverse("referrals:referral_create", args=[self.victim.pk])
        data = {
            "needs": ["shelter"],
            "urgency": "routine",
            "provider": self.blue_basin.pk,
            "shared_fields": ["name"],
            "shared_name": ALIAS,
            "intent": "send",
        }
        response = self.client_for("care").post(url, data)
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "No consent to share information with Blue Basin Refuge", status_code=400)
        self.assertNotContains(
            response, "Reason for sending without recorded consent", status_code=400
        )  # no override for care
        self.assertFalse(Referral.objects.exists())  # not even a draft: the send failed, so did the save

    def test_a_care_officer_cannot_override(self):
        referral = self.referral(send=False, provider=self.blue_basin)
        with self.assertRaises(PermissionDenied):
            actions.send_referral(referral, actor=self.care, version=referral.version, override_reason="Urgent.")
        self.assertEqual(self.fresh(referral).status, "draft")

    def test_override_with_a_reason_is_audited_and_the_director_alerted(self):
        case_actions.add_team_member(self.case, actor=self.hoi, user=self.care2, role="care")  # irrelevant bystander
        url = reverse("referrals:referral_create", args=[self.victim.pk])
        data = {"needs": ["shelter"], "urgency": "urgent", "provider": self.blue_basin.pk, "shared_fields": ["name"], "shared_name": ALIAS,
                "intent": "send", "override_reason": "Survivor in danger tonight; consent to be taken at the refuge."}  # fmt: skip
        hoi = self.client_for("hoi")
        with self.captureOnCommitCallbacks(execute=True):
            response = hoi.post(url, data)
        # Issue #10: the override needs a second person's approval; until then the referral stays a draft and
        # the reason goes to the approvers (the requester is not one of them).
        referral = Referral.objects.get()
        self.assertRedirects(response, referral.get_absolute_url(), fetch_redirect_response=False)
        self.assertEqual(referral.status, "draft")
        self.assertFalse(referral.consent_overridden)
        self.assertContains(hoi.get(referral.get_absolute_url()), "awaits a second person")
        self.assertFalse(Notification.objects.filter(recipient=self.refuge).exists())
        item = ApprovalRequest.objects.get(kind="consent_override", target_id=str(referral.pk))
        self.assertEqual(item.reason, "Survivor in danger tonight; consent to be taken at the refuge.")
        asked = Notification.objects.filter(event="approval.requested")
        self.assertEqual(sorted(n.recipient.username for n in asked), ["deputy", "director"])
        self.assertNotIn("danger", asked[0].message)
        with self.assertRaises(PermissionDenied):
            approvals.approve(item, actor=self.hoi, version=item.version)
        approvals.approve(item, actor=self.director, version=item.version)
        send = reverse("referrals:referral_send", args=[referral.pk])
        with self.captureOnCommitCallbacks(execute=True):
            response = hoi.post(send, {"version": referral.version, "override_reason": data["override_reason"]})
        self.assertRedirects(response, referral.get_absolute_url(), fetch_redirect_response=False)
        referral = Referral.objects.get()
        self.assertEqual(referral.status, "sent")
        item.refresh_from_db()
        self.assertEqual(item.status, "used")
        self.assertTrue(referral.consent_overridden)
        event = AuditEvent.objects.get(action="referrals.consent_overridden")
        self.assertEqual(event.actor_name, "hoi")
        self.assertNotIn("danger", str(event.details))
        alerts = Notification.objects.filter(event="referral.consent_overridden")
        self.assertEqual([n.recipient.username for n in alerts], ["director"])
        self.assertTrue(alerts[0].urgent)
        self.assertNotIn(GIVEN, alerts[0].message)
        self.assertIn(referral.reference, alerts[0].message)
        self.assertFalse(Notification.objects.filter(recipient=self.other_director).exists())
        self.assertTrue(Notification.objects.filter(recipient=self.refuge, event="referral.provider").exists())


class StateMachineTests(ReferralTestCase):
    def test_refusals(self):
        draft = self.referral(send=False)
        for do, kwargs in ((actions.accept_referral, {}), (actions.complete_referral, {"outcome": "Done"})):
            with (
                self.subTest(action=do.__name__),
                self.assertRaises(PermissionDenied),
            ):  # a draft does not exist for them
                do(draft, actor=self.shelter, version=draft.version, **kwargs)
        with self.assertRaises(ValidationError) as raised:
            actions.send_referral(self.referral(), actor=self.care, version=self.fresh(draft).version)
        self.assertIn(raised.exception.code, {"invalid_transition", "stale"})
        sent = self.referral()
        with self.assertRaises(ValidationError) as raised:
            actions.complete_referral(sent, actor=self.shelter, version=sent.version, outcome="Done")
        self.assertEqual(raised.exception.code, "invalid_transition")
        with self.assertRaises(ValidationError):
            actions.start_referral(sent, actor=self.shelter, version=sent.version)
        sent = actions.acknowledge_referral(sent, actor=self.shelter, version=sent.version)
        with self.assertRaises(ValidationError) as raised:
            actions.acknowledge_referral(sent, actor=self.shelter, version=sent.version)
        self.assertEqual(raised.exception.code, "invalid_transition")
        declined = actions.decline_referral(sent, actor=self.shelter, version=sent.version, reason="Full tonight.")
        for do, kwargs in ((actions.accept_referral, {}), (actions.withdraw_referral, {"reason": "x"})):
            with self.subTest(action=do.__name__), self.assertRaises(ValidationError):
                do(
                    declined,
                    actor=self.shelter if do is actions.accept_referral else self.care,
                    version=declined.version,
                    **kwargs,
                )
        self.assertEqual(self.fresh(declined).status, "declined")

    def test_each_side_takes_only_its_own_steps(self):
        sent = self.referral()
        with self.assertRaises(PermissionDenied):
            actions.accept_referral(sent, actor=self.care, version=sent.version)
        with self.assertRaises(PermissionDenied):
            actions.withdraw_referral(sent, actor=self.shelter, version=sent.version, reason="No.")
        with self.assertRaises(PermissionDenied):
            actions.acknowledge_referral(sent, actor=self.refuge, version=sent.version)
        self.assertEqual(self.fresh(sent).status, "sent")

    def test_decline_needs_a_reason_and_withdraw_keeps_it_from_the_provider(self):
        sent = self.referral()
        with self.assertRaises(ValidationError):
            actions.decline_referral(sent, actor=self.shelter, version=sent.version, reason=" ")
        withdrawn = actions.withdraw_referral(
            sent, actor=self.care, version=sent.version, reason="Survivor moved to family."
        )
        self.assertEqual(withdrawn.status, "withdrawn")
        self.assertIsNotNone(withdrawn.withdrawn_at)
        page = self.client_for("shelter").get(withdrawn.get_portal_url())
        self.assertContains(page, "withdrew this referral")
        self.assertNotContains(page, "Survivor moved to family")

    def test_portal_refusal_answers_409(self):
        sent = self.referral()
        response = self.client_for("shelter").post(
            reverse("referrals:portal_action", args=[sent.pk, "complete"]), {"version": sent.version, "outcome": "Done"}
        )
        self.assertEqual(response.status_code, 409)
        self.assertEqual(self.fresh(sent).status, "sent")

    def test_every_transition_is_audited_with_timestamps(self):
        r = self.referral()
        r = actions.acknowledge_referral(r, actor=self.shelter, version=r.version)
        r = actions.accept_referral(r, actor=self.shelter, version=r.version)
        r = actions.start_referral(r, actor=self.shelter, version=r.version)
        r = actions.complete_referral(
            r, actor=self.shelter, version=r.version, outcome="Stayed four weeks, moved to family."
        )
        for stamp in ("sent_at", "acknowledged_at", "accepted_at", "started_at", "completed_at"):
            self.assertIsNotNone(getattr(r, stamp), stamp)
        actions_logged = list(
            AuditEvent.objects.filter(object_type="referrals.referral", object_id=str(r.pk)).values_list(
                "action", flat=True
            )
        )
        for name in ("created", "send", "acknowledge", "accept", "start", "complete"):
            self.assertIn(f"referrals.{name}", actions_logged)
        self.assertNotIn("four weeks", str(list(AuditEvent.objects.values_list("details", flat=True))))


class LockingTests(ReferralTestCase):
    def test_a_stale_version_is_refused_and_nothing_changes(self):
        r = self.referral()
        old = r.version
        actions.acknowledge_referral(r, actor=self.shelter, version=r.version)
        with self.assertRaises(StaleVersion):
            actions.decline_referral(self.fresh(r), actor=self.shelter, version=old, reason="Full.")
        self.assertEqual(self.fresh(r).status, "acknowledged")

    def test_the_portal_answers_409_on_a_stale_form(self):
        r = self.referral()
        client = self.client_for("shelter")
        stale = r.version
        client.post(reverse("referrals:portal_action", args=[r.pk, "acknowledge"]), {"version": stale})
        response = client.post(
            reverse("referrals:portal_action", args=[r.pk, "decline"]), {"version": stale, "reason": "Full."}
        )
        self.assertEqual(response.status_code, 409)
        self.assertContains(response, "Someone else changed this record", status_code=409)
        self.assertEqual(self.fresh(r).status, "acknowledged")


class OverdueTests(ReferralTestCase):
    def test_escalation_steps_alert_once_each(self):
        r = self.referral(urgency="urgent")  # acknowledge within 2 h, answer within 8 h
        sent = self.fresh(r).sent_at

        def alerted(event):
            return sorted(Notification.objects.filter(event=event).values_list("recipient__username", flat=True))

        self.assertEqual(actions.flag_overdue_referrals(now=sent + timedelta(hours=1)), 0)
        self.assertEqual(actions.flag_overdue_referrals(now=sent + timedelta(hours=2, minutes=1)), 1)
        self.assertEqual(alerted("referral.ack_escalation"), ["care"])
        self.assertEqual(actions.flag_overdue_referrals(now=sent + timedelta(hours=3)), 0)
        self.assertEqual(actions.flag_overdue_referrals(now=sent + timedelta(hours=4, minutes=1)), 1)
        self.assertEqual(alerted("referral.ack_escalation"), ["care", "director", "hoi"])
        self.assertEqual(actions.flag_overdue_referrals(now=sent + timedelta(hours=5)), 0)
        # Acknowledged late, but still no answer at 8 h: the answer escalates separately.
        r = actions.acknowledge_referral(self.fresh(r), actor=self.shelter, version=self.fresh(r).version)
        self.assertEqual(actions.flag_overdue_referrals(now=sent + timedelta(hours=8, minutes=1)), 1)
        self.assertEqual(alerted("referral.answer_escalation"), ["care"])
        self.assertEqual(actions.flag_overdue_referrals(now=sent + timedelta(hours=16, minutes=1)), 1)
        self.assertEqual(alerted("referral.answer_escalation"), ["care", "director", "hoi"])
        self.assertEqual(actions.flag_overdue_referrals(now=sent + timedelta(days=3)), 0)
        for n in Notification.objects.filter(event__startswith="referral."):
            self.assertNotIn(GIVEN, n.message)
            self.assertNotIn(self.case.reference, n.message)
        self.assertFalse(Notification.objects.filter(recipient__in=[self.other_director, self.other_hoi]).exists())

    def test_answered_and_routine_referrals_are_not_flagged_early(self):
        r = self.referral(urgency="routine")
        sent = self.fresh(r).sent_at
        self.assertEqual(actions.flag_overdue_referrals(now=sent + timedelta(hours=23)), 0)
        actions.accept_referral(r, actor=self.shelter, version=r.version)
        self.assertEqual(actions.flag_overdue_referrals(now=sent + timedelta(days=10)), 0)

    def test_the_overdue_panel_and_filter(self):
        r = self.referral(urgency="priority")
        Referral.objects.filter(pk=r.pk).update(sent_at=timezone.now() - timedelta(hours=9))
        fresh_one = self.referral(urgency="routine")
        home = self.client_for("care").get(reverse("home"))
        self.assertContains(home, "Overdue referrals")
        self.assertContains(home, r.reference)
        listing = self.client_for("care").get(reverse("referrals:referral_list") + "?overdue=on")
        self.assertContains(listing, r.reference)
        self.assertNotContains(listing, fresh_one.reference)


class VisibilityTests(ReferralTestCase):
    def test_who_sees_a_referral(self):
        sent = self.referral()
        draft = self.referral(send=False)
        for name in ("care", "investigator", "hoi", "director"):
            with self.subTest(user=name):
                self.assertEqual(set(Referral.objects.visible_to(self.users[name])), {sent, draft})
        for name in ("investigator2", "other_director", "other_investigator", "refuge", "nobody", "analyst"):
            with self.subTest(user=name):
                self.assertFalse(Referral.objects.visible_to(self.users[name]).exists())
        self.assertEqual(list(Referral.objects.visible_to(self.shelter)), [sent])

    def test_unit_pages_are_404_for_outsiders_and_providers(self):
        r = self.referral()
        for name in ("investigator2", "other_director", "shelter", "refuge"):
            with self.subTest(user=name):
                client = self.client_for(name)
                self.assertEqual(client.get(r.get_absolute_url()).status_code, 404)
                self.assertEqual(
                    client.post(
                        reverse("referrals:referral_withdraw", args=[r.pk]), {"version": r.version, "reason": "x"}
                    ).status_code,
                    404,
                )
                self.assertEqual(
                    client.get(reverse("referrals:referral_create", args=[self.victim.pk])).status_code, 404
                )
        self.assertEqual(self.fresh(r).status, "sent")

    def test_read_only_viewers_cannot_act(self):
        r = self.referral()
        # The investigator owns the case (sees it) but may not send referrals.
        response = self.client_for("investigator").post(
            reverse("referrals:referral_withdraw", args=[r.pk]), {"version": r.version, "reason": "x"}
        )
        self.assertEqual(response.status_code, 403)

    def test_unit_reads_are_audited(self):
        r = self.referral()
        client = self.client_for("care")
        self.assertEqual(client.get(r.get_absolute_url()).status_code, 200)
        self.assertEqual(client.get(reverse("referrals:referral_list")).status_code, 200)
        self.assertEqual(client.get(reverse("referrals:referral_create", args=[self.victim.pk])).status_code, 200)
        actions_logged = set(AuditEvent.objects.filter(actor_name="care").values_list("action", flat=True))
        self.assertTrue({"referrals.viewed", "referrals.list_viewed"} <= actions_logged)


class CreateFormTests(ReferralTestCase):
    def test_from_a_need_to_a_draft_then_sent(self):
        client = self.client_for("care")
        url = reverse("referrals:referral_create", args=[self.victim.pk])
        page = client.get(url + f"?need={self.need.pk}")
        self.assertContains(page, "Safe Harbour Shelter")
        self.assertContains(page, "Consent to share recorded")
        self.assertContains(page, "No consent to share recorded")
        # The pathways (directory/pathways.py) decide who is proposed and why; here only how the form shows it.
        proposal = ProviderProposal(self.safe_harbour, reasons=["Takes adult women (demo reason)"], distance_km=12.4)
        with mock.patch("referrals.views.propose_providers", return_value=[proposal]) as propose:
            proposals = client.post(url, {"needs": ["shelter"], "urgency": "priority", "intent": "propose"})
        propose.assert_called_once_with("shelter", case_person=self.victim)
        self.assertContains(proposals, "Proposed for Shelter")
        self.assertContains(proposals, "Takes adult women (demo reason)")
        self.assertContains(proposals, "12 km away")
        data = {"needs": ["shelter"], "care_needs": [self.need.pk], "urgency": "priority", "provider": self.safe_harbour.pk,
                "shared_fields": ["name", "age", "nationality"], "shared_name": ALIAS, "safety_notes": SAFETY, "intent": "draft"}  # fmt: skip
        response = client.post(url, data)
        referral = Referral.objects.get()
        self.assertRedirects(response, referral.get_absolute_url(), fetch_redirect_response=False)
        self.assertEqual(referral.status, "draft")
        self.assertRegex(referral.reference, r"^F-\d{4}-\d{5}$")
        self.assertEqual(list(referral.care_needs.all()), [self.need])
        detail = client.get(referral.get_absolute_url())
        self.assertContains(detail, "What the provider will see once sent")
        self.assertContains(detail, "VE")
        with self.captureOnCommitCallbacks(execute=True):
            sent = client.post(reverse("referrals:referral_send", args=[referral.pk]), {"version": referral.version})
        self.assertEqual(sent.status_code, 302)
        referral = self.fresh(referral)
        self.assertEqual(referral.status, "sent")
        self.assertEqual(
            referral.snapshot,
            {"needs": ["shelter"], "urgency": "priority", "name": ALIAS, "age": 24, "nationality": ["VE"]},
        )
        self.assertEqual(
            Notification.objects.get(recipient=self.shelter).message, f"New referral {referral.reference}."
        )

    def test_the_snapshot_is_frozen_at_sending(self):
        r = self.referral(shared_fields=["full_name"])
        person = self.victim.person
        person.refresh_from_db()
        case_actions.update_person(self.victim, actor=self.investigator, version=person.version, given_names="Changed")
        self.assertEqual(self.fresh(r).snapshot["full_name"], f"{GIVEN} {FAMILY}")

    def test_the_snapshot_is_encrypted_at_rest(self):
        from django.db import connection

        r = self.referral()
        with connection.cursor() as cursor:
            cursor.execute("SELECT snapshot_data, safety_notes FROM referrals_referral WHERE id = %s", [r.pk])
            raw = " ".join(cursor.fetchone())
        self.assertNotIn(ALIAS, raw)
        self.assertNotIn("Do not accept", raw)


class ReportTests(ReferralTestCase):
    def test_numbers_on_constructed_data(self):
        base = timezone.now().replace(day=10) - timedelta(days=40)
        a1 = self.referral()
        a2 = self.referral()
        d1 = self.referral()
        b1 = self.referral(provider=self.blue_basin, send=False)
        approve(ApprovalKind.CONSENT_OVERRIDE, requester=self.hoi, approver=self.director, target=b1)
        actions.send_referral(b1, actor=self.hoi, version=b1.version, override_reason="Emergency.")
        self.referral(send=False)  # drafts never count
        actions.accept_referral(a1, actor=self.shelter, version=a1.version)
        actions.accept_referral(a2, actor=self.shelter, version=a2.version)
        actions.decline_referral(d1, actor=self.shelter, version=d1.version, reason="Full.")
        h = timedelta(hours=1)
        Referral.objects.filter(pk=a1.pk).update(
            sent_at=base,
            acknowledged_at=base + 1 * h,
            accepted_at=base + 2 * h,
            completed_at=base + 48 * h,
            status="completed",
        )
        Referral.objects.filter(pk=a2.pk).update(sent_at=base, acknowledged_at=base + 3 * h, accepted_at=base + 6 * h)
        Referral.objects.filter(pk=d1.pk).update(
            sent_at=base + 40 * 24 * h,
            acknowledged_at=base + 40 * 24 * h + 5 * h,
            declined_at=base + 40 * 24 * h + 5 * h,
        )
        Referral.objects.filter(pk=b1.pk).update(sent_at=base)
        stats = referral_statistics()
        self.assertEqual(stats["overall"]["sent"], 4)
        self.assertEqual(stats["overall"]["acceptance_rate"], 67)  # 2 accepted of 3 answered
        shelter = next(row for row in stats["providers"] if row["provider"] == self.safe_harbour)
        self.assertEqual(
            (shelter["sent"], shelter["accepted"], shelter["declined"], shelter["completed"]), (3, 2, 1, 1)
        )
        self.assertEqual(shelter["median_ack_hours"], 3.0)  # 1, 3, 5
        self.assertEqual(shelter["median_accept_hours"], 4.0)  # 2, 6
        self.assertEqual(shelter["median_complete_hours"], 48.0)
        refuge = next(row for row in stats["providers"] if row["provider"] == self.blue_basin)
        self.assertEqual((refuge["sent"], refuge["acceptance_rate"]), (1, None))
        months = {row["month"]: row["sent"] for row in stats["months"]}
        self.assertEqual(months, {base.strftime("%Y-%m"): 3, (base + 40 * 24 * h).strftime("%Y-%m"): 1})
        page = self.client_for("analyst").get(reverse("referrals:referral_reports"))
        self.assertContains(page, "<svg", html=False)
        self.assertContains(page, "67 %")
        self.assertNotContains(page, ALIAS)
        self.assertEqual(self.client_for("care").get(reverse("referrals:referral_reports")).status_code, 403)
        self.assertEqual(self.client_for("shelter").get(reverse("referrals:referral_reports")).status_code, 404)
        self.assertEqual(self.client_for("director").get(reverse("referrals:referral_reports")).status_code, 200)
        self.assertTrue(AuditEvent.objects.filter(action="referrals.reports_viewed", actor_name="analyst").exists())


class DemoDataTests(TestCase):
    def test_seed_referrals_covers_every_stage_and_runs_once(self):
        from accounts.models import User
        from beacon.demo_referrals import seed_referrals

        with self.captureOnCommitCallbacks(execute=False):
            call_command("seed_demo", "--quiet-logins", stdout=StringIO())
            users = {u.username: u for u in User.objects.all()}
            # seed_demo already created the 8 referrals; a second run creates none.
            self.assertEqual(Referral.objects.count(), 8)
            self.assertEqual(seed_referrals(users), 0)
        statuses = set(Referral.objects.values_list("status", flat=True))
        self.assertEqual(
            statuses, {"draft", "sent", "acknowledged", "accepted", "declined", "in_progress", "completed", "withdrawn"}
        )
        self.assertTrue(Referral.objects.overdue().exists())
        self.assertTrue(Referral.objects.filter(consent_overridden=True).exists())

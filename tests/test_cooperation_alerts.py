"""Alerts when another country's unit asks or answers (issue #9): the Director and the Head of Investigations
(and, for an answer, the officer who asked) get a notification and an email through a real SMTP server on the
loopback interface; the email carries a link only; the alerts are part of the arrival (same transaction, named
in its audit row); refused messages and acknowledgements alert nobody."""

from __future__ import annotations

from io import StringIO
from unittest import mock

from django.conf import settings
from django.core.management import call_command

from alerts.models import AlertRule, Notification
from audit.models import AuditEvent
from cooperation import actions, envelope
from cooperation.choices import Status
from cooperation.models import CoopRequest, SeenMessage
from tests.smtp import SMTPServerMixin
from tests.test_cooperation import CoopTestCase

THEIR_CASE = "VE-2026-0042"
ASKED = "Criminal record and travel history of a recruiter known as 'El Flaco'."
LEGAL_BASIS = "UNTOC art. 18; bilateral MoU 2019"
ANSWER = "Confirmed: passport VE123, travelled via Cedros on 3 March."
REASON = "No legal basis between our countries for Mireya Castellanos."


class CoopAlertTestCase(SMTPServerMixin, CoopTestCase):
    def arrive(self, inner: dict) -> int:
        """The other unit's message reaches our inbox; the emails queued on commit are queued for real."""
        with self.captureOnCommitCallbacks(execute=True):
            return self.post(self.from_them(inner))

    def worker(self) -> None:
        call_command("beacon_worker", "--once", stdout=StringIO())

    def alerted(self, event: str) -> set[str]:
        return set(Notification.objects.filter(event=event).values_list("recipient__username", flat=True))

    def received_row(self, kind: str) -> AuditEvent:
        return AuditEvent.objects.get(action="cooperation.message_received", details__kind=kind)

    def assert_emails_say_nothing(self, *secrets: str) -> None:
        self.assertTrue(self.smtp.messages)
        for text in self.smtp.texts():
            self.assertIn(f"{settings.BEACON_SITE_URL}/notifications/", text)
            for secret in secrets:
                self.assertNotIn(secret, text)


class RequestArrivalTests(CoopAlertTestCase):
    def test_director_and_head_of_investigations_are_alerted_and_emailed_a_link_only(self):
        self.assertEqual(self.arrive(self.their_request()), 202)
        req = CoopRequest.objects.get(direction="incoming")
        self.assertEqual(self.alerted("cooperation.request_received"), {"director", "hoi"})
        self.assertEqual(Notification.objects.count(), 2)  # nobody else: not the investigators, not partners
        note = Notification.objects.filter(recipient=self.director).get()
        self.assertEqual(note.link, req.get_absolute_url())
        self.assertIn(req.reference, note.message)
        self.assertIn(self.peer.name, note.message)
        for secret in (THEIR_CASE, "El Flaco", LEGAL_BASIS):
            self.assertNotIn(secret, note.message)  # the notification names our reference, not their content
        # Audited with the arrival: the event and who was alerted (user ids, no content).
        row = self.received_row("request")
        self.assertEqual(row.details["alert"], "cooperation.request_received")
        self.assertEqual(row.details["alerted"], sorted([self.director.pk, self.hoi.pk]))
        self.assertNotIn(THEIR_CASE, str(row.details))

        self.assertEqual(self.smtp.messages, [])  # the inbox never waits for the mail relay
        self.worker()
        self.assertEqual(sorted(self.smtp.recipients), ["director@example.invalid", "hoi@example.invalid"])
        self.assert_emails_say_nothing(
            THEIR_CASE, ASKED, "El Flaco", LEGAL_BASIS, req.reference, req.get_absolute_url(), self.peer.name,
            self.peer.instance_id, note.message,
        )  # fmt: skip
        self.worker()
        self.assertEqual(len(self.smtp.messages), 2)  # a second run sends nothing twice

    def test_the_rule_decides_who_is_alerted_and_whether_by_email(self):
        AlertRule.objects.filter(event="cooperation.request_received").update(
            target_roles=["director"], send_email=False
        )
        self.arrive(self.their_request())
        self.assertEqual(self.alerted("cooperation.request_received"), {"director"})
        self.worker()
        self.assertEqual(self.smtp.messages, [])

    def test_a_refused_or_replayed_message_alerts_nobody(self):
        tampered = self.from_them(self.their_request())
        tampered["sig"] = envelope.b64(bytes(64))
        self.assertEqual(self.post(tampered), 401)
        sealed = self.from_them(self.their_request())
        with self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(self.post(sealed), 202)
            self.assertEqual(self.post(sealed), 409)
        self.assertEqual(Notification.objects.count(), 2)  # the accepted one only
        self.worker()
        self.assertEqual(len(self.smtp.messages), 2)

    def test_the_alert_is_part_of_the_arrival(self):
        """If anything fails after the alerts were written, the arrival and its alerts roll back together."""
        original = actions.audit.record

        def failing(action, **kwargs):
            if action == "cooperation.message_received":
                raise RuntimeError("disk full")
            return original(action, **kwargs)

        with mock.patch.object(actions.audit, "record", side_effect=failing):
            with self.assertRaises(RuntimeError):
                actions.receive_envelope(self.from_them(self.their_request()))
        self.assertFalse(Notification.objects.exists())
        self.assertFalse(CoopRequest.objects.exists())
        self.assertFalse(SeenMessage.objects.exists())


class AnswerArrivalTests(CoopAlertTestCase):
    def setUp(self):
        super().setUp()
        self.req = actions.create_request(
            actor=self.investigator, peer=self.peer, case_reference="TT-2026-0007", asked="Identity of a woman.",
            asked_items=["identity"], legal_basis="UNTOC art. 18",
        )  # fmt: skip
        self.exchange = str(self.req.exchange_id)

    def test_an_acknowledgement_alerts_nobody(self):
        self.assertEqual(self.arrive({"kind": "acknowledgement", "exchange_id": self.exchange}), 202)
        self.req.refresh_from_db()
        self.assertEqual(self.req.status, Status.UNDER_REVIEW)
        self.assertFalse(Notification.objects.exists())
        self.assertNotIn("alerted", self.received_row("acknowledgement").details)

    def test_a_reply_alerts_the_requester_and_leadership(self):
        reply = {"kind": "reply", "exchange_id": self.exchange, "disclosed_items": ["identity"], "text": ANSWER}
        self.assertEqual(self.arrive(reply), 202)
        self.assertEqual(self.alerted("cooperation.answer_received"), {"investigator", "director", "hoi"})
        mine = Notification.objects.get(recipient=self.investigator)
        self.assertEqual(mine.link, self.req.get_absolute_url())
        self.assertIn("answered", mine.message)
        self.assertNotIn("VE123", mine.message)
        row = self.received_row("reply")
        self.assertEqual(row.details["alert"], "cooperation.answer_received")
        self.assertEqual(row.details["alerted"], sorted([self.investigator.pk, self.director.pk, self.hoi.pk]))
        self.worker()
        self.assertEqual(
            sorted(self.smtp.recipients),
            ["director@example.invalid", "hoi@example.invalid", "investigator@example.invalid"],
        )
        self.assert_emails_say_nothing(ANSWER, "VE123", "Cedros", self.req.reference, self.peer.name, mine.message)

    def test_a_decline_alerts_them_too_without_the_reason(self):
        self.assertEqual(self.arrive({"kind": "decline", "exchange_id": self.exchange, "reason": REASON}), 202)
        self.assertEqual(self.alerted("cooperation.answer_received"), {"investigator", "director", "hoi"})
        self.assertIn("declined", Notification.objects.filter(recipient=self.investigator).get().message)
        self.worker()
        self.assert_emails_say_nothing(REASON, "Mireya", "Castellanos", self.req.reference)

    def test_a_requester_who_has_left_is_not_alerted(self):
        self.investigator.is_active = False
        self.investigator.save(update_fields=["is_active"])
        self.arrive({"kind": "reply", "exchange_id": self.exchange, "disclosed_items": [], "text": ANSWER})
        self.assertEqual(self.alerted("cooperation.answer_received"), {"director", "hoi"})

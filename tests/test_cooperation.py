"""Cooperation between countries (issue #9): the envelope (signatures, encryption, replays, clock), the inbox,
the registry, who sees which request, and the review and reply flow. The other country's unit is played by
the test: it holds its own keys, seals what it sends to our inbox and opens what we deliver to it."""

from __future__ import annotations

import datetime
import json
import shutil
import tempfile
from io import StringIO
from pathlib import Path
from unittest import mock

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cooperation import actions, envelope
from cooperation.choices import Delivery, Direction, MessageKind, Status
from cooperation.envelope import EnvelopeError, decrypt_with, seal_with, verify_signature
from cooperation.keys import InstanceKeys, encryption_public_key, instance_keys, signing_public_key
from cooperation.models import CoopMessage, CoopRequest, Peer, SeenMessage
from tests.base import BeaconTestCase
from tests.factories import make_case

KEY_DIR = Path(tempfile.mkdtemp(prefix="beacon-coop-test-"))
US = "TT-CTU"
THEM = "VE-CTU"
THEIR_KEYS = InstanceKeys.generate()


def tearDownModule():
    shutil.rmtree(KEY_DIR, ignore_errors=True)


@override_settings(
    BEACON_INSTANCE_ID=US, BEACON_COOP_KEY_FILE=str(KEY_DIR / "keys.json"), COOP_CLOCK_WINDOW_SECONDS=600
)
class CoopTestCase(BeaconTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.peer = actions.add_peer(
            actor=None, instance_id=THEM, name="Unidad contra la Trata", country="VE",
            inbox_url="https://ve.example.invalid/cooperation/inbox/",
            signing_key=THEIR_KEYS.signing_public, encryption_key=THEIR_KEYS.encryption_public,
        )  # fmt: skip

    # --- the other unit -------------------------------------------------------------------------------------

    def from_them(self, inner: dict, **overrides) -> dict:
        """An envelope the other unit sends us (optionally with fields changed after signing)."""
        sealed = seal_with(
            inner, sender_id=THEM, sender_keys=THEIR_KEYS, recipient_id=US,
            recipient_encryption_key=instance_keys().encryption.public_key(),
        )  # fmt: skip
        sealed.update(overrides)
        return sealed

    def their_request(self, **fields) -> dict:
        inner = {
            "kind": "request", "exchange_id": "5b0f2f7e-2a57-4a39-9d8a-0d2b1c1f0a11", "case_reference": "VE-2026-0042",
            "asked": "Criminal record and travel history of a recruiter known as 'El Flaco'.",
            "asked_items": ["criminal_record", "travel"], "legal_basis": "UNTOC art. 18; bilateral MoU 2019",
            "urgency": "priority", "due_on": (timezone.localdate() + datetime.timedelta(days=10)).isoformat(),
        }  # fmt: skip
        return inner | fields

    def post(self, sealed: dict | bytes) -> int:
        body = sealed if isinstance(sealed, bytes) else json.dumps(sealed)
        return Client().post(reverse("cooperation:inbox"), body, content_type="application/json").status_code

    def deliver(self, message: CoopMessage, status: int = 202) -> dict:
        """Run one delivery attempt; the other unit answers ``status``. Returns what it received, opened."""
        posted = []
        with mock.patch(
            "cooperation.transport.post_envelope", side_effect=lambda url, env: posted.append(env) or status
        ):
            actions.attempt_delivery(message.pk)
        self.assertEqual(len(posted), 1)
        sealed = posted[0]
        verify_signature(sealed, signing_public_key(instance_keys().signing_public))
        return {"envelope": sealed, "inner": decrypt_with(sealed, THEIR_KEYS)}

    def refusals(self) -> list[dict]:
        return list(
            AuditEvent.objects.filter(action="cooperation.message_refused")
            .order_by("id")
            .values_list("details", flat=True)
        )


class EnvelopeTests(CoopTestCase):
    def test_sealed_message_opens_with_the_right_keys_only(self):
        sealed = self.from_them({"kind": "acknowledgement", "exchange_id": "5b0f2f7e-2a57-4a39-9d8a-0d2b1c1f0a11"})
        opened = envelope.open_envelope(sealed)
        self.assertEqual(opened.peer, self.peer)
        self.assertEqual(opened.inner["kind"], "acknowledgement")
        self.assertNotIn("acknowledgement", json.dumps(sealed))  # the content travels encrypted
        with self.assertRaises(EnvelopeError):
            decrypt_with(sealed, InstanceKeys.generate())  # a third party cannot read it

    def test_every_field_is_protected(self):
        original = self.from_them(self.their_request())
        forged_eph = InstanceKeys.generate().encryption_public
        changes = {
            "from": "CO-CTU", "to": "BR-CTU", "msg_id": "00000000-0000-4000-8000-000000000000",
            "sent_at": envelope.stamp(timezone.now() - datetime.timedelta(seconds=5)), "eph_pub": forged_eph,
            "nonce": "AAAAAAAAAAAAAAAA", "v": 2,
        }  # fmt: skip
        ciphertext = bytearray(envelope.unb64(original["ciphertext"]))
        ciphertext[3] ^= 0x01
        changes["ciphertext"] = envelope.b64(bytes(ciphertext))
        changes["sig"] = envelope.b64(bytes(64))
        for field, value in changes.items():
            with self.subTest(field=field):
                tampered = dict(original, **{field: value})
                with self.assertRaises(EnvelopeError) as caught:
                    envelope.open_envelope(tampered)
                self.assertIn(caught.exception.status, (400, 401))

    def test_resigned_envelope_with_another_key_is_refused(self):
        """Someone with their own key cannot pose as the registered unit."""
        impostor = InstanceKeys.generate()
        sealed = seal_with(
            self.their_request(), sender_id=THEM, sender_keys=impostor, recipient_id=US,
            recipient_encryption_key=instance_keys().encryption.public_key(),
        )  # fmt: skip
        with self.assertRaises(EnvelopeError) as caught:
            envelope.open_envelope(sealed)
        self.assertEqual((caught.exception.reason, caught.exception.status), ("bad_signature", 401))

    def test_clock_window(self):
        for minutes, accepted in ((-9, True), (9, True), (-11, False), (11, False)):
            with self.subTest(minutes=minutes):
                sealed = seal_with(
                    {"kind": "acknowledgement", "exchange_id": "5b0f2f7e-2a57-4a39-9d8a-0d2b1c1f0a11"},
                    sender_id=THEM, sender_keys=THEIR_KEYS, recipient_id=US,
                    recipient_encryption_key=instance_keys().encryption.public_key(),
                    sent_at=timezone.now() + datetime.timedelta(minutes=minutes),
                )  # fmt: skip
                if accepted:
                    envelope.open_envelope(sealed)
                else:
                    with self.assertRaises(EnvelopeError) as caught:
                        envelope.open_envelope(sealed)
                    self.assertEqual(caught.exception.reason, "outside_clock_window")

    def test_unknown_and_inactive_senders_are_refused(self):
        sealed = self.from_them(self.their_request())
        actions.set_peer_active(self.peer, actor=None, active=False, version=self.peer.version)
        with self.assertRaises(EnvelopeError) as caught:
            envelope.open_envelope(sealed)
        self.assertEqual((caught.exception.reason, caught.exception.status), ("unknown_sender", 401))

    def test_malformed_envelopes(self):
        sealed = self.from_them(self.their_request())
        for raw in (b"not json", b"[]", json.dumps({k: v for k, v in sealed.items() if k != "sig"}).encode(),
                    json.dumps(dict(sealed, extra="x")).encode(), json.dumps(dict(sealed, msg_id=sealed["msg_id"].upper())).encode()):  # fmt: skip
            with self.subTest(raw=raw[:20]):
                with self.assertRaises(EnvelopeError) as caught:
                    envelope.open_envelope(raw)
                self.assertEqual(caught.exception.status, 400)


class InboxTests(CoopTestCase):
    def test_incoming_request_is_stored_encrypted_and_audited(self):
        sealed = self.from_them(self.their_request())
        self.assertEqual(self.post(sealed), 202)
        req = CoopRequest.objects.get(direction=Direction.INCOMING)
        self.assertEqual((req.peer, req.status, req.case_reference), (self.peer, Status.RECEIVED, "VE-2026-0042"))
        self.assertEqual(req.asked_items, ["criminal_record", "travel"])
        self.assertIn("El Flaco", req.asked)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT asked FROM cooperation_cooprequest WHERE id = %s", [req.pk])
            self.assertNotIn("Flaco", cursor.fetchone()[0])
        event = AuditEvent.objects.get(action="cooperation.message_received")
        self.assertEqual(
            (event.details["peer"], event.details["msg_id"], event.details["kind"]), (THEM, sealed["msg_id"], "request")
        )
        self.assertNotIn("Flaco", json.dumps(event.details))

    def test_replay_is_refused_and_nothing_more_is_stored(self):
        sealed = self.from_them(self.their_request())
        self.assertEqual(self.post(sealed), 202)
        self.assertEqual(self.post(sealed), 409)
        self.assertEqual(CoopRequest.objects.count(), 1)
        self.assertEqual(CoopMessage.objects.count(), 1)
        self.assertEqual(SeenMessage.objects.count(), 1)
        self.assertEqual(
            self.refusals(), [{"peer": THEM, "msg_id": sealed["msg_id"], "reason": "replayed", "status": 409}]
        )

    def test_tampered_message_is_refused_without_details_and_nothing_is_stored(self):
        sealed = self.from_them(self.their_request())
        ciphertext = bytearray(envelope.unb64(sealed["ciphertext"]))
        ciphertext[0] ^= 0xFF
        response = Client().post(reverse("cooperation:inbox"), json.dumps(dict(sealed, ciphertext=envelope.b64(bytes(ciphertext)))),
                                 content_type="application/json")  # fmt: skip
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json(), {"accepted": False})
        self.assertFalse(CoopRequest.objects.exists() or CoopMessage.objects.exists() or SeenMessage.objects.exists())
        self.assertEqual(self.refusals()[0]["reason"], "bad_signature")
        # The genuine message still goes through afterwards: a forgery does not burn its id.
        self.assertEqual(self.post(sealed), 202)

    def test_unknown_sender_is_not_named_in_the_log(self):
        stranger = InstanceKeys.generate()
        sealed = seal_with(
            self.their_request(), sender_id="XX-FAKE", sender_keys=stranger, recipient_id=US,
            recipient_encryption_key=instance_keys().encryption.public_key(),
        )  # fmt: skip
        self.assertEqual(self.post(sealed), 401)
        self.assertEqual(self.refusals()[0]["peer"], "")
        self.assertFalse(CoopRequest.objects.exists())

    def test_message_for_another_instance_is_refused(self):
        self.assertEqual(self.post(self.from_them(self.their_request()) | {"to": "BR-CTU"}), 400)

    def test_bad_inner_message_is_refused_and_its_id_not_kept(self):
        sealed = self.from_them(self.their_request(asked_items=["everything"]))
        self.assertEqual(self.post(sealed), 400)
        self.assertFalse(SeenMessage.objects.exists())
        self.assertEqual(self.refusals()[0]["reason"], "bad_inner")

    def test_answer_to_an_exchange_we_never_started_is_refused(self):
        sealed = self.from_them(
            {"kind": "reply", "exchange_id": "5b0f2f7e-2a57-4a39-9d8a-0d2b1c1f0a11", "disclosed_items": [], "text": "x"}
        )
        self.assertEqual(self.post(sealed), 400)
        self.assertEqual(self.refusals()[0]["reason"], "unknown_exchange")

    def test_inbox_accepts_post_only(self):
        self.assertEqual(Client().get(reverse("cooperation:inbox")).status_code, 405)


class OutgoingFlowTests(CoopTestCase):
    def send(self, **fields) -> CoopRequest:
        values = {"peer": self.peer, "case_reference": "TT-2026-0007", "asked": "Identity of a woman returned in March.",
                  "asked_items": ["identity"], "legal_basis": "UNTOC art. 18", "urgency": "routine"}  # fmt: skip
        return actions.create_request(actor=self.investigator, **(values | fields))

    def test_request_is_sealed_for_the_peer_and_reply_closes_the_loop(self):
        with self.captureOnCommitCallbacks(execute=True):
            req = self.send()
        self.assertEqual(req.status, Status.SENT)
        message = req.messages.get()
        got = self.deliver(message)
        self.assertEqual(got["envelope"]["from"], US)
        self.assertEqual(got["envelope"]["to"], THEM)
        self.assertEqual(got["envelope"]["msg_id"], str(message.msg_id))
        self.assertEqual(got["inner"]["asked"], "Identity of a woman returned in March.")
        self.assertEqual(got["inner"]["exchange_id"], str(req.exchange_id))
        message.refresh_from_db()
        self.assertEqual(message.delivery, Delivery.DELIVERED)

        exchange = str(req.exchange_id)
        self.assertEqual(self.post(self.from_them({"kind": "acknowledgement", "exchange_id": exchange})), 202)
        req.refresh_from_db()
        self.assertEqual(req.status, Status.UNDER_REVIEW)
        reply = {
            "kind": "reply",
            "exchange_id": exchange,
            "disclosed_items": ["identity"],
            "text": "Confirmed: passport VE123.",
        }
        self.assertEqual(self.post(self.from_them(reply)), 202)
        req.refresh_from_db()
        self.assertEqual(req.status, Status.ANSWERED)
        page = self.client_for("investigator").get(req.get_absolute_url())
        self.assertContains(page, "Confirmed: passport VE123.")
        self.assertContains(page, "Identity and identity documents of a person")
        self.assertContains(page, "answered in 0 days")
        actions_logged = list(
            AuditEvent.objects.filter(object_type="cooperation.cooprequest")
            .order_by("id")
            .values_list("action", flat=True)
        )
        self.assertEqual(
            actions_logged,
            ["cooperation.request_created", "cooperation.request_sent", "cooperation.message_delivered",
             "cooperation.message_received", "cooperation.message_received"],
        )  # fmt: skip

    def test_worker_delivers_on_commit(self):
        with self.captureOnCommitCallbacks(execute=True):
            req = self.send()
        with mock.patch("cooperation.transport.post_envelope", return_value=202) as post:
            call_command("beacon_worker", "--once", stdout=StringIO())
        self.assertEqual(post.call_args.args[0], self.peer.inbox_url)
        self.assertEqual(req.messages.get().delivery, Delivery.DELIVERED)

    def test_unreachable_peer_is_retried_then_refusal_fails_for_good(self):
        req = self.send()
        message = req.messages.get()
        with mock.patch("cooperation.transport.post_envelope", return_value=0):
            self.assertEqual(actions.attempt_delivery(message.pk), "retry")
        message.refresh_from_db()
        self.assertEqual((message.delivery, message.attempts, message.last_error), (Delivery.PENDING, 1, "unreachable"))
        with mock.patch("cooperation.transport.post_envelope", return_value=401):
            self.assertEqual(actions.attempt_delivery(message.pk), "failed")
        message.refresh_from_db()
        self.assertEqual(message.delivery, Delivery.FAILED)
        self.assertTrue(AuditEvent.objects.filter(action="cooperation.delivery_failed").exists())
        # After the keys are sorted out, the requester sends it again: the same message id.
        with self.captureOnCommitCallbacks(execute=True):
            actions.retry_delivery(message, actor=self.investigator)
        got = self.deliver(message)
        self.assertEqual(got["envelope"]["msg_id"], str(message.msg_id))

    def test_peer_already_holding_the_message_counts_as_delivered(self):
        message = self.send().messages.get()
        self.deliver(message, status=409)
        message.refresh_from_db()
        self.assertEqual(message.delivery, Delivery.DELIVERED)

    def test_draft_then_send_with_version(self):
        req = self.send(send=False)
        self.assertEqual((req.status, req.messages.count()), (Status.DRAFT, 0))
        client = self.client_for("investigator")
        self.assertEqual(
            client.post(reverse("cooperation:send", args=[req.pk]), {"version": req.version - 1 or 99}).status_code, 409
        )
        response = client.post(reverse("cooperation:send", args=[req.pk]), {"version": req.version})
        self.assertRedirects(response, req.get_absolute_url(), fetch_redirect_response=False)
        req.refresh_from_db()
        self.assertEqual((req.status, req.messages.count()), (Status.SENT, 1))

    def test_request_form(self):
        case = make_case(owner=self.investigator)
        client = self.client_for("investigator")
        self.assertContains(client.get(reverse("cooperation:create")), "Unidad contra la Trata")
        response = client.post(reverse("cooperation:create"), {
            "peer": self.peer.pk, "case": case.pk, "asked_items": ["travel", "phone"], "asked": "Travel of two suspects.",
            "legal_basis": "UNTOC art. 27", "urgency": "urgent", "due_on": "", "send": "1",
        })  # fmt: skip
        req = CoopRequest.objects.get()
        self.assertRedirects(response, req.get_absolute_url(), fetch_redirect_response=False)
        self.assertEqual((req.case, req.case_reference, req.status), (case, case.reference, Status.SENT))
        self.assertEqual(req.asked_items, ["travel", "phone"])

    def test_cannot_link_a_case_one_may_not_see(self):
        case = make_case(owner=self.investigator2)
        with self.assertRaises(PermissionDenied):
            self.send(case=case)
        response = self.client_for("investigator").post(reverse("cooperation:create"), {
            "peer": self.peer.pk, "case": case.pk, "asked": "x", "legal_basis": "y", "urgency": "routine", "send": "1",
        })  # fmt: skip
        self.assertEqual(response.status_code, 400)
        self.assertFalse(CoopRequest.objects.exists())

    def test_without_keys_nothing_is_sent(self):
        with override_settings(BEACON_COOP_KEY_FILE=""):
            with self.assertRaises(ValidationError) as caught:
                self.send()
        self.assertIn("no cooperation keys", " ".join(caught.exception.messages))
        self.assertFalse(CoopRequest.objects.exists())

    def test_inactive_peer_cannot_be_asked(self):
        actions.set_peer_active(self.peer, actor=self.sysadmin, active=False, version=self.peer.version)
        self.peer.refresh_from_db()
        with self.assertRaises(ValidationError):
            self.send()


class ReviewFlowTests(CoopTestCase):
    def setUp(self):
        self.assertEqual(self.post(self.from_them(self.their_request())), 202)
        self.req = CoopRequest.objects.get(direction=Direction.INCOMING)

    def test_review_acknowledges_then_reply_discloses_only_what_was_ticked(self):
        client = self.client_for("hoi")
        page = client.get(self.req.get_absolute_url())
        self.assertContains(page, "El Flaco")
        self.assertContains(page, "waiting for 0 days")
        with self.captureOnCommitCallbacks(execute=True):
            response = client.post(reverse("cooperation:review", args=[self.req.pk]), {"version": self.req.version})
        self.assertEqual(response.status_code, 302)
        self.req.refresh_from_db()
        self.assertEqual((self.req.status, self.req.reviewer), (Status.UNDER_REVIEW, self.hoi))
        ack = self.req.messages.get(direction=Direction.OUTGOING)
        self.assertEqual(
            self.deliver(ack)["inner"], {"kind": "acknowledgement", "exchange_id": str(self.req.exchange_id)}
        )

        # Disclosing something that was not asked for is refused.
        bad = client.post(reverse("cooperation:reply", args=[self.req.pk]),
                          {"version": self.req.version, "disclosed_items": ["identity"], "text": "x"})  # fmt: skip
        self.assertEqual(bad.status_code, 400)
        response = client.post(reverse("cooperation:reply", args=[self.req.pk]), {
            "version": self.req.version, "disclosed_items": ["criminal_record"], "text": "Two convictions, 2019 and 2022.",
        })  # fmt: skip
        self.assertEqual(response.status_code, 302)
        self.req.refresh_from_db()
        self.assertEqual(self.req.status, Status.ANSWERED)
        reply = self.req.messages.get(kind=MessageKind.REPLY)
        got = self.deliver(reply)["inner"]
        self.assertEqual(got["disclosed_items"], ["criminal_record"])
        self.assertEqual(got["text"], "Two convictions, 2019 and 2022.")
        event = AuditEvent.objects.get(action="cooperation.replied")
        self.assertEqual(
            (event.actor_name, event.details["msg_id"], event.details["peer"]), ("hoi", str(reply.msg_id), THEM)
        )
        self.assertNotIn("convictions", json.dumps(event.details))
        # Answered once: a second answer is refused.
        again = client.post(
            reverse("cooperation:reply", args=[self.req.pk]), {"version": self.req.version, "text": "More."}
        )
        self.assertEqual(again.status_code, 409)

    def test_stale_version_is_refused(self):
        client = self.client_for("director")
        response = client.post(
            reverse("cooperation:reply", args=[self.req.pk]), {"version": self.req.version + 5, "text": "x"}
        )
        self.assertEqual(response.status_code, 409)
        self.assertContains(response, "Someone else changed this record", status_code=409)
        self.req.refresh_from_db()
        self.assertEqual(self.req.status, Status.RECEIVED)

    def test_decline_sends_the_reason(self):
        client = self.client_for("deputy")
        response = client.post(
            reverse("cooperation:decline", args=[self.req.pk]),
            {"version": self.req.version, "reason": "No legal basis between our countries."},
        )
        self.assertEqual(response.status_code, 302)
        self.req.refresh_from_db()
        self.assertEqual(self.req.status, Status.DECLINED)
        got = self.deliver(self.req.messages.get(kind=MessageKind.DECLINE))["inner"]
        self.assertEqual(got["reason"], "No legal basis between our countries.")
        close = client.post(reverse("cooperation:close", args=[self.req.pk]), {"version": self.req.version})
        self.assertEqual(close.status_code, 302)
        self.req.refresh_from_db()
        self.assertEqual(self.req.status, Status.CLOSED)

    def test_overdue_badge(self):
        CoopRequest.objects.filter(pk=self.req.pk).update(
            due_on=timezone.localdate() - datetime.timedelta(days=1),
            received_at=timezone.now() - datetime.timedelta(days=12),
        )
        page = self.client_for("hoi").get(reverse("cooperation:index"))
        self.assertContains(page, "Overdue")
        self.assertContains(page, "waiting for 12 days")

    def test_duplicate_exchange_is_refused(self):
        self.assertEqual(self.post(self.from_them(self.their_request())), 400)
        self.assertEqual(CoopRequest.objects.count(), 1)


class PermissionTests(CoopTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.mine = actions.create_request(
            actor=cls.investigator, peer=cls.peer, case_reference="TT-1", asked="a", legal_basis="b"
        )
        cls.theirs = actions.create_request(
            actor=cls.investigator2, peer=cls.peer, case_reference="TT-2", asked="a", legal_basis="b"
        )
        cls.incoming = CoopRequest.objects.create(
            direction=Direction.INCOMING, peer=cls.peer, case_reference="VE-9", asked="Sensitive question", legal_basis="c",
            status=Status.RECEIVED, received_at=timezone.now(), asked_items=["identity"],
        )  # fmt: skip

    def test_index_is_for_cooperation_roles_only(self):
        for name in ("director", "deputy", "hoi", "investigator", "sysadmin"):
            with self.subTest(user=name):
                self.assertEqual(self.client_for(name).get(reverse("cooperation:index")).status_code, 200)
        for name in ("care", "intake", "analyst", "auditor", "nobody", "other_director", "shelter"):
            with self.subTest(user=name):
                self.assertEqual(self.client_for(name).get(reverse("cooperation:index")).status_code, 403)
        self.assertEqual(Client().get(reverse("cooperation:index")).status_code, 302)

    def test_who_sees_which_request(self):
        expected = {
            "investigator": {self.mine},
            "investigator2": {self.theirs},
            "hoi": {self.mine, self.theirs, self.incoming},
            "director": {self.mine, self.theirs, self.incoming},
            "sysadmin": set(),
        }
        for name, visible in expected.items():
            with self.subTest(user=name):
                self.assertEqual(set(CoopRequest.objects.visible_to(self.users[name])), visible)
                client = self.client_for(name)
                for req in (self.mine, self.theirs, self.incoming):
                    status = client.get(req.get_absolute_url()).status_code
                    self.assertEqual(status, 200 if req in visible else (403 if name == "sysadmin" else 404))

    def test_index_lists_only_what_one_may_see(self):
        page = self.client_for("investigator").get(reverse("cooperation:index"))
        self.assertContains(page, "TT-1")
        self.assertNotContains(page, "TT-2")
        self.assertNotContains(page, "VE-9")

    def test_only_responders_answer(self):
        url = reverse("cooperation:reply", args=[self.incoming.pk])
        self.assertEqual(self.client_for("investigator").post(url, {"version": 1, "text": "x"}).status_code, 403)
        with self.assertRaises(PermissionDenied):
            actions.reply_to_request(self.incoming, actor=self.investigator, version=1, text="x")
        self.incoming.refresh_from_db()
        self.assertEqual(self.incoming.status, Status.RECEIVED)
        # The requester of another request cannot close or send it.
        self.assertEqual(
            self.client_for("investigator")
            .post(reverse("cooperation:close", args=[self.theirs.pk]), {"version": 1})
            .status_code,
            404,
        )

    def test_responder_page_shows_the_reply_form_with_only_the_items_asked(self):
        page = self.client_for("hoi").get(self.incoming.get_absolute_url())
        self.assertContains(page, "Sensitive question")
        self.assertContains(page, 'value="identity"')
        self.assertNotContains(page, 'value="travel"')

    def test_registry_is_for_administrators(self):
        for name in ("director", "investigator", "hoi"):
            with self.subTest(user=name):
                self.assertEqual(self.client_for(name).get(reverse("cooperation:peers")).status_code, 403)
        page = self.client_for("sysadmin").get(reverse("cooperation:peers"))
        self.assertContains(page, THEM)
        self.assertContains(page, instance_keys().signing_public)


class RegistryTests(CoopTestCase):
    def test_admin_adds_edits_and_deactivates_a_peer(self):
        other = InstanceKeys.generate()
        client = self.client_for("sysadmin")
        response = client.post(reverse("cooperation:peers"), {
            "instance_id": "GY-CTU", "name": "Guyana CTU", "country": "gy", "inbox_url": "https://gy.example.invalid/cooperation/inbox/",
            "signing_key": other.signing_public, "encryption_key": other.encryption_public,
        })  # fmt: skip
        self.assertEqual(response.status_code, 302)
        peer = Peer.objects.get(instance_id="GY-CTU")
        self.assertEqual(peer.country, "GY")
        response = client.post(reverse("cooperation:peer_edit", args=[peer.pk]), {
            "instance_id": "GY-CTU", "name": "Guyana Counter-Trafficking Unit", "country": "GY",
            "inbox_url": peer.inbox_url, "signing_key": InstanceKeys.generate().signing_public,
            "encryption_key": other.encryption_public, "version": peer.version,
        })  # fmt: skip
        self.assertEqual(response.status_code, 302)
        event = AuditEvent.objects.get(action="cooperation.peer_updated")
        self.assertEqual(sorted(event.changed_fields), ["name", "signing_key"])
        peer.refresh_from_db()
        client.post(reverse("cooperation:peer_active", args=[peer.pk]), {"active": "0", "version": peer.version})
        peer.refresh_from_db()
        self.assertFalse(peer.active)
        self.assertTrue(
            AuditEvent.objects.filter(action="cooperation.peer_deactivated", object_id=str(peer.pk)).exists()
        )

    def test_bad_keys_and_own_id_are_refused(self):
        client = self.client_for("sysadmin")
        for fields in ({"signing_key": "not-a-key"}, {"encryption_key": envelope.b64(b"short")}, {"instance_id": US}):
            data = {"instance_id": "GY-CTU", "name": "Guyana", "country": "GY", "inbox_url": "https://gy.example.invalid/cooperation/inbox/",
                    "signing_key": THEIR_KEYS.signing_public, "encryption_key": THEIR_KEYS.encryption_public} | fields  # fmt: skip
            with self.subTest(fields=fields):
                self.assertEqual(client.post(reverse("cooperation:peers"), data).status_code, 400)
        self.assertEqual(Peer.objects.count(), 1)

    def test_commands_print_keys_and_register_peers(self):
        out = StringIO()
        call_command("coop_keys", stdout=out)
        self.assertIn(f"instance_id: {US}", out.getvalue())
        self.assertIn(f"signing_key: {instance_keys().signing_public}", out.getvalue())
        other = InstanceKeys.generate()
        call_command("coop_add_peer", "JM-CTU", "Jamaica TIP Unit", "JM", "https://jm.example.invalid/cooperation/inbox/",
                     other.signing_public, other.encryption_public, stdout=StringIO())  # fmt: skip
        peer = Peer.objects.get(instance_id="JM-CTU")
        self.assertEqual(
            signing_public_key(peer.signing_key).public_bytes_raw(), other.signing.public_key().public_bytes_raw()
        )
        self.assertEqual(
            encryption_public_key(peer.encryption_key).public_bytes_raw(),
            other.encryption.public_key().public_bytes_raw(),
        )
        event = AuditEvent.objects.filter(action="cooperation.peer_added").order_by("id").last()
        self.assertEqual(event.details, {"peer": "JM-CTU"})

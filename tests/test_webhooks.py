"""Outgoing webhooks (issue #9), delivered to a real HTTP receiver on 127.0.0.1: signed with HMAC-SHA256,
ids and event types only (the seeded survivor's names never leave), retried with backoff, redirects not
followed, private addresses refused unless allow-listed, the delivery log and who may see it."""

from __future__ import annotations

import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from unittest import mock

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import actions as case_actions
from intake import actions as intake_actions
from integrations import actions, signing
from integrations.choices import MAX_ATTEMPTS, RETRY_DELAYS
from integrations.delivery import attempt
from integrations.events import emit
from integrations.models import Webhook, WebhookDelivery
from tests import test_referrals as base
from tests.smtp import free_port

ALL_EVENTS = ["referral.created", "referral.updated", "case.opened", "case.status_changed", "report.created"]
PERSONAL = (base.GIVEN, base.FAMILY, base.ALIAS, base.PSEUDONYM, base.SAFETY, base.NARRATIVE, "Quenisha", "Baptiste")


class Receiver:
    """A webhook receiver: records each request; answers with the queued statuses, then 200."""

    def __init__(self):
        self.received: list[dict] = []
        self.answers: list[tuple[int, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status, headers = receiver.answers.pop(0) if receiver.answers else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/beacon"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def resolving_to(address: str):
    """Pretend every host name resolves to ``address`` (DNS is not reachable in tests)."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        try:
            socket.inet_aton(host)
            return real(host, port, *args, **kwargs)
        except OSError:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    return mock.patch("integrations.net.socket.getaddrinfo", side_effect=fake)


# The receiver listens on 127.0.0.1: loopback is allowed only because it is listed here, explicitly.
@override_settings(BEACON_WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"])
class WebhookTestCase(base.ReferralTestCase):
    def setUp(self):
        super().setUp()
        self.receiver = Receiver()
        self.addCleanup(self.receiver.stop)
        self.hook, self.secret = actions.create_webhook(
            actor=self.sysadmin, name="Case dashboard", url=self.receiver.url, events=ALL_EVENTS
        )

    def worker(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            call_command("beacon_worker", "--once", stdout=StringIO())

    def bodies(self) -> list[dict]:
        return [json.loads(item["body"]) for item in self.receiver.received]


class DeliveryTests(WebhookTestCase):
    def test_a_referral_sends_signed_events_carrying_ids_only(self):
        with self.captureOnCommitCallbacks(execute=True):
            referral = self.referral()  # created, then sent
        self.worker()
        self.assertEqual(len(self.receiver.received), 2)
        for item in self.receiver.received:
            headers, body = item["headers"], item["body"]
            self.assertTrue(signing.verify(self.secret, body, headers["X-Beacon-Signature"]))
            self.assertFalse(signing.verify("another secret", body, headers["X-Beacon-Signature"]))
            payload = json.loads(body)
            self.assertEqual(headers["X-Beacon-Event"], payload["type"])
            self.assertEqual(headers["X-Beacon-Delivery"], payload["id"])
            self.assertEqual(
                payload["object"], {"type": "referral", "id": referral.pk, "reference": referral.reference}
            )
            self.assertEqual(
                set(payload), {"id", "type", "occurred_at", "object"} | ({"change"} if "change" in payload else set())
            )
            for value in PERSONAL:
                self.assertNotIn(value, body.decode())
        self.assertEqual([p["type"] for p in self.bodies()], ["referral.created", "referral.updated"])
        self.assertEqual(self.bodies()[1]["change"], "sent")
        self.assertEqual(WebhookDelivery.objects.filter(status="delivered").count(), 2)

    def test_case_status_changes_and_new_reports_are_events(self):
        with self.captureOnCommitCallbacks(execute=True):
            case = case_actions.close_case(
                self.case, actor=self.investigator, version=self.case.version, status="Closed", reason="Done"
            )
            case_actions.reopen_case(case, actor=self.investigator, version=case.version)
            report = intake_actions.create_report(
                actor=self.intake, channel="hotline", received_at=timezone.now(), narrative=base.NARRATIVE
            )
        self.worker()
        got = sorted((p["type"], p.get("change", ""), p["object"]["id"]) for p in self.bodies())
        self.assertEqual(
            got,
            sorted([("case.status_changed", "Closed", self.case.pk), ("case.status_changed", "Active", self.case.pk),
                    ("report.created", "", report.pk)]),
        )  # fmt: skip
        self.assertNotIn(base.NARRATIVE, b"".join(item["body"] for item in self.receiver.received).decode())

    def test_only_subscribed_active_webhooks_get_the_event(self):
        other, _secret = actions.create_webhook(
            actor=self.sysadmin, name="Reports only", url=self.receiver.url, events=["report.created"]
        )
        self.assertEqual([d.webhook_id for d in emit("referral.updated", self.case)], [self.hook.pk])
        actions.deactivate_webhook(self.hook, actor=self.sysadmin, version=self.hook.version)
        self.assertEqual(emit("referral.updated", self.case), [])
        self.assertEqual([d.webhook_id for d in emit("report.created", self.case)], [other.pk])

    def test_a_rolled_back_action_sends_nothing(self):
        with self.assertRaises(ValidationError):
            case_actions.close_case(
                self.case, actor=self.investigator, version=self.case.version, status="Closed", reason=""
            )
        self.assertFalse(WebhookDelivery.objects.exists())


class RetryTests(WebhookTestCase):
    def test_a_500_is_retried_with_backoff(self):
        self.receiver.answers = [(500, {})]
        with self.captureOnCommitCallbacks(execute=True):
            emit("case.status_changed", self.case, change="closed")
        self.worker()
        delivery = WebhookDelivery.objects.get()
        self.assertEqual((delivery.status, delivery.attempts, delivery.last_response_code), ("pending", 1, 500))
        self.assertEqual(delivery.last_error, "HTTP 500.")
        self.assertAlmostEqual(
            (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds(), RETRY_DELAYS[0].total_seconds()
        )
        self.worker()  # not due yet: nothing sent
        self.assertEqual(len(self.receiver.received), 1)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        self.worker()
        delivery.refresh_from_db()
        self.assertEqual((delivery.status, delivery.attempts, delivery.last_response_code), ("delivered", 2, 200))
        self.assertEqual(len(self.receiver.received), 2)
        # The same event, signed again: receivers de-duplicate on X-Beacon-Delivery.
        self.assertEqual(self.receiver.received[0]["body"], self.receiver.received[1]["body"])

    def test_the_backoff_schedule_then_failure(self):
        nobody_listens = f"http://127.0.0.1:{free_port()}/hook"
        Webhook.objects.filter(pk=self.hook.pk).update(url=nobody_listens)
        delivery = emit("case.opened", self.case)[0]
        now = timezone.now()
        gaps = []
        for _i in range(MAX_ATTEMPTS):
            result = attempt(delivery.pk, now=now)
            self.assertIsNone(attempt(delivery.pk, now=now))  # claimed or not due: never twice at once
            if result.next_attempt_at:
                gaps.append(result.next_attempt_at - now)
                now = result.next_attempt_at
        self.assertEqual(gaps, list(RETRY_DELAYS))
        self.assertEqual((result.status, result.attempts, result.last_response_code), ("failed", MAX_ATTEMPTS, None))
        self.assertEqual(result.last_error, "Connection refused.")
        self.assertIsNone(attempt(delivery.pk, now=now + timedelta(days=1)))


class SafetyTests(WebhookTestCase):
    def test_a_redirect_is_not_followed(self):
        elsewhere = Receiver()
        self.addCleanup(elsewhere.stop)
        self.receiver.answers = [(302, {"Location": elsewhere.url})]
        delivery = emit("case.opened", self.case)[0]
        delivery = attempt(delivery.pk)
        self.assertEqual((delivery.status, delivery.last_response_code), ("pending", 302))
        self.assertIn("Redirect not followed", delivery.last_error)
        self.assertEqual(elsewhere.received, [])

    def test_private_addresses_are_refused_unless_allow_listed(self):
        for url in ("http://10.0.0.5/hook", "https://169.254.169.254/latest/meta-data", "https://[::1]/hook"):
            with self.subTest(url=url), self.assertRaises(ValidationError):
                actions.create_webhook(actor=self.sysadmin, name="x", url=url, events=["case.opened"])
        with override_settings(BEACON_WEBHOOK_ALLOWED_HOSTS=["hooks.partner.example"]):
            # Allowing a host name does not allow it to point at a private address.
            with resolving_to("10.0.0.5"), self.assertRaises(ValidationError) as raised:
                actions.create_webhook(
                    actor=self.sysadmin, name="x", url="https://hooks.partner.example/h", events=["case.opened"]
                )
            self.assertIn("private", str(raised.exception))
            with resolving_to("93.184.216.34"):
                actions.create_webhook(
                    actor=self.sysadmin, name="ok", url="https://hooks.partner.example/h", events=["case.opened"]
                )
            # Not on the list at all.
            with resolving_to("93.184.216.34"), self.assertRaises(ValidationError):
                actions.create_webhook(
                    actor=self.sysadmin, name="x", url="https://other.example/h", events=["case.opened"]
                )
            # Plain http needs an address listed by IP.
            with resolving_to("93.184.216.34"), self.assertRaises(ValidationError):
                actions.create_webhook(
                    actor=self.sysadmin, name="x", url="http://hooks.partner.example/h", events=["case.opened"]
                )
        with override_settings(BEACON_WEBHOOK_ALLOWED_HOSTS=["10.0.0.0/8"]):
            hook, _secret = actions.create_webhook(
                actor=self.sysadmin, name="lab", url="http://10.0.0.5/hook", events=["case.opened"]
            )
        self.assertTrue(hook.is_active)

    def test_the_address_is_checked_again_at_delivery_and_the_checked_address_is_used(self):
        port = self.receiver.server.server_address[1]
        with override_settings(BEACON_WEBHOOK_ALLOWED_HOSTS=["hooks.partner.example", "127.0.0.1"]):
            with resolving_to("127.0.0.1"):
                hook, _secret = actions.create_webhook(
                    actor=self.sysadmin,
                    name="pinned",
                    url=f"http://hooks.partner.example:{port}/h",
                    events=["case.opened"],
                )
                delivery = attempt(emit("case.opened", self.case)[-1].pk)
            self.assertEqual(delivery.status, "delivered")
            # Sent to the address checked, under the host's own name.
            self.assertEqual(self.receiver.received[-1]["headers"]["Host"], f"hooks.partner.example:{port}")
        # DNS rebinding: the name now points at loopback, which is no longer listed: refused, nothing sent.
        with override_settings(BEACON_WEBHOOK_ALLOWED_HOSTS=["hooks.partner.example"]), resolving_to("127.0.0.1"):
            WebhookDelivery.objects.all().delete()
            Webhook.objects.exclude(pk=hook.pk).update(is_active=False)
            count = len(self.receiver.received)
            delivery = attempt(emit("case.opened", self.case)[0].pk)
        self.assertEqual(delivery.status, "pending")
        self.assertIn("private", delivery.last_error)
        self.assertEqual(len(self.receiver.received), count)

    def test_the_secret_is_stored_encrypted(self):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT secret FROM integrations_webhook WHERE id = %s", [self.hook.pk])
            self.assertNotIn(self.secret, cursor.fetchone()[0])
        row = AuditEvent.objects.get(action="integrations.webhook_created", object_id=str(self.hook.pk))
        self.assertNotIn(self.secret, json.dumps(row.details))


class PageTests(WebhookTestCase):
    def test_creating_a_webhook_shows_the_secret_once(self):
        client = self.client_for("sysadmin")
        response = client.post(
            reverse("integrations:webhook_create"),
            {"name": "Partner feed", "url": self.receiver.url, "events": ["referral.created", "case.opened"]},
        )
        hook = Webhook.objects.get(name="Partner feed")
        self.assertContains(response, hook.secret)
        self.assertEqual(response["Cache-Control"], "no-store")
        self.assertEqual(hook.events, ["referral.created", "case.opened"])
        self.assertNotContains(client.get(hook.get_absolute_url()), hook.secret)
        self.assertNotContains(client.get(reverse("integrations:index")), hook.secret)
        old = hook.secret
        regenerated = client.post(reverse("integrations:webhook_secret", args=[hook.pk]), {"version": hook.version})
        hook.refresh_from_db()
        self.assertNotEqual(hook.secret, old)
        self.assertContains(regenerated, hook.secret)
        self.assertTrue(AuditEvent.objects.filter(action="integrations.webhook_secret_regenerated").exists())

    def test_a_refused_address_is_explained_on_the_form(self):
        response = self.client_for("sysadmin").post(
            reverse("integrations:webhook_create"),
            {"name": "Metadata", "url": "http://169.254.169.254/", "events": ["case.opened"]},
        )
        self.assertContains(response, "allow-list")
        self.assertFalse(Webhook.objects.filter(name="Metadata").exists())

    def test_the_delivery_log_and_the_test_button(self):
        client = self.client_for("sysadmin")
        self.receiver.answers = [(503, {})]
        with self.captureOnCommitCallbacks(execute=True):
            response = client.post(reverse("integrations:webhook_test", args=[self.hook.pk]), follow=True)
        self.assertContains(response, "A test event was queued.")
        self.worker()
        self.assertEqual(self.bodies()[0]["type"], "webhook.test")
        page = client.get(self.hook.get_absolute_url())
        self.assertContains(page, "webhook.test")
        self.assertContains(page, "503")
        self.assertContains(page, "Pending")
        self.assertContains(page, "HTTP 503.")

    def test_editing_and_deactivating(self):
        client = self.client_for("sysadmin")
        url = reverse("integrations:webhook_edit", args=[self.hook.pk])
        data = {
            "name": "Renamed",
            "url": self.receiver.url,
            "events": ["case.opened"],
            "is_active": "on",
            "version": self.hook.version,
        }
        self.assertRedirects(client.post(url, data), self.hook.get_absolute_url())
        stale = client.post(url, data | {"name": "Stale"})
        self.assertEqual(stale.status_code, 409)
        self.hook.refresh_from_db()
        self.assertEqual((self.hook.name, self.hook.events), ("Renamed", ["case.opened"]))
        client.post(reverse("integrations:webhook_deactivate", args=[self.hook.pk]), {"version": self.hook.version})
        self.hook.refresh_from_db()
        self.assertFalse(self.hook.is_active)
        self.assertEqual(emit("case.opened", self.case), [])

    def test_only_the_administrator_manages_webhooks(self):
        urls = [
            reverse("integrations:webhook_create"), self.hook.get_absolute_url(),
            reverse("integrations:webhook_edit", args=[self.hook.pk]),
        ]  # fmt: skip
        for name in ("director", "analyst", "auditor", "other_sysadmin", "shelter", "nobody"):
            for url in urls:
                with self.subTest(user=name, url=url):
                    self.assertEqual(self.client_for(name).get(url).status_code, 403)
        for view in ("webhook_test", "webhook_deactivate", "webhook_secret"):
            with self.subTest(view=view):
                response = self.client_for("director").post(reverse(f"integrations:{view}", args=[self.hook.pk]))
                self.assertEqual(response.status_code, 403)
        with self.assertRaises(PermissionDenied):
            actions.create_webhook(actor=self.director, name="x", url=self.receiver.url, events=["case.opened"])
        self.assertEqual(self.client_for("sysadmin").get(self.hook.get_absolute_url()).status_code, 200)

    def test_the_forms_render_for_the_administrator(self):
        client = self.client_for("sysadmin")
        self.assertContains(client.get(reverse("integrations:webhook_create")), "Referral created")
        self.assertContains(client.get(reverse("integrations:webhook_edit", args=[self.hook.pk])), "Case dashboard")
        index = client.get(reverse("integrations:index"))
        self.assertContains(index, self.hook.get_absolute_url())
        self.assertNotContains(index, self.secret)

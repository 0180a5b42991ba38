"""Sending referrals to Primero (CPIMS+/GBVIMS+) (issue #9), against a local stand-in implementing Primero's
documented API v2 (tests/primero_standin.py): the documented calls in order, only the referral's snapshot
sent, the case found again for a second referral, consent enforced as for any referral (override behind a
second person's approval, audited, Director alerted), failures recorded without personal data, the allow-list, and who may do what."""

from __future__ import annotations

import json
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from alerts.models import Notification
from approvals import actions as approvals
from approvals.actions import ApprovalRequired
from approvals.choices import Kind as ApprovalKind
from approvals.models import ApprovalRequest
from audit.models import AuditEvent
from care import actions as care_actions
from care.models import Consent
from integrations import actions
from integrations.models import PrimeroConnection, PrimeroSubmission
from referrals import actions as referral_actions
from tests import test_referrals as base
from tests.approval_helpers import approve
from tests.primero_standin import PrimeroStandIn

PASSWORD = "primero-pass-1234"

# The steps of a send, for scripted failures: a predicate on (method, path).
STEPS = {
    "tokens": lambda method, path: (method, path) == ("POST", "/api/v2/tokens"),
    "find": lambda method, path: (method, path) == ("GET", "/api/v2/cases"),
    "create_case": lambda method, path: (method, path) == ("POST", "/api/v2/cases"),
    "list_referrals": lambda method, path: method == "GET" and path.endswith("/referrals"),
    "refer": lambda method, path: method == "POST" and path.endswith("/referrals"),
}


class Primero(PrimeroStandIn):
    """The stand-in, plus the documented ``GET /api/v2/cases/:id/referrals`` (doc/api/referrals/get.md: the
    case's referrals, without their notes) and scripted failures: ``fail("refer", 503, times=2)`` answers 503
    to the next two referral POSTs; ``after=True`` does the work first and then answers the error (the
    answer lost on the way back: Primero did it, Beacon cannot know)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.script: list[dict] = []

    def fail(self, step: str, status: int, *, times: int = 1, after: bool = False) -> None:
        self.script.append({"step": step, "status": status, "times": times, "after": after})

    def route(self, method, path, query, payload, headers):
        for rule in self.script:
            if rule["times"] > 0 and STEPS[rule["step"]](method, path):
                rule["times"] -= 1
                if rule["after"]:
                    self._route(method, path, query, payload, headers)
                return rule["status"], {"errors": [{"code": rule["status"], "message": "Scripted"}]}, {}
        return self._route(method, path, query, payload, headers)

    def _route(self, method, path, query, payload, headers):
        parts = path.strip("/").split("/")
        if method == "GET" and len(parts) == 5 and parts[:3] == ["api", "v2", "cases"] and parts[4] == "referrals":
            if not self._authorised(headers):
                return 401, {"errors": [{"code": 401, "message": "Unauthorized"}]}, {}
            if parts[3] not in self.cases:
                return 404, {"errors": [{"code": 404, "message": "Not Found"}]}, {}
            listed = [
                {k: v for k, v in r.items() if k != "notes"} for r in self.referrals if r["record_id"] == parts[3]
            ]
            return 200, {"data": listed}, {}
        return super().route(method, path, query, payload, headers)


# The stand-in listens on 127.0.0.1: loopback is allowed only because it is listed here, explicitly.
@override_settings(BEACON_WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"])
class PrimeroTestCase(base.ReferralTestCase):
    def setUp(self):
        super().setUp()
        self.primero = Primero(password=PASSWORD).start()
        self.addCleanup(self.primero.stop)
        self.connection = actions.create_primero_connection(
            actor=self.sysadmin, password=PASSWORD, name="Safe Harbour Primero", agency=self.safe_harbour,
            base_url=self.primero.base_url, username="beacon", module_id="primeroimsmodule-gbv",
            recipient="cp_manager", is_active=True,
        )  # fmt: skip

    def withdraw_consent(self):
        consent = Consent.objects.get(case_person=self.victim, agency=self.safe_harbour)
        care_actions.withdraw_consent(consent, actor=self.care, version=consent.version, withdrawal_method="verbal")

    def approve_override(self, referral, requester=None):
        return approve(
            ApprovalKind.PRIMERO_CONSENT_OVERRIDE, requester=requester or self.director, approver=self.deputy,
            target=referral, parameters={"connection_id": self.connection.pk},
        )  # fmt: skip

    def send(self, referral=None, actor=None, **kwargs) -> PrimeroSubmission:
        referral = referral or self.referral()
        return actions.send_referral_to_primero(
            referral, actor=actor or self.care, connection=self.connection, **kwargs
        )

    def everything_sent(self) -> str:
        return "\n".join(r["raw"].decode() + json.dumps(r["query"]) for r in self.primero.requests)

    def calls(self) -> list[tuple[str, str]]:
        return [(r["method"], r["path"]) for r in self.primero.requests]


class ConnectorTests(PrimeroTestCase):
    def test_the_documented_calls_create_the_case_and_the_referral(self):
        referral = self.referral()
        submission = self.send(referral)
        self.assertEqual(submission.status, "sent", submission.error)
        self.assertTrue(submission.case_created)
        case_id = submission.remote_case_id
        self.assertEqual(
            self.calls(),
            [("POST", "/api/v2/tokens"), ("GET", "/api/v2/cases"), ("POST", "/api/v2/cases"),
             ("POST", f"/api/v2/cases/{case_id}/referrals")],
        )  # fmt: skip
        tokens, search, create, refer = self.primero.requests
        self.assertEqual(tokens["json"], {"user": {"user_name": "beacon", "password": PASSWORD}})
        # Every later call carries the JWT the stand-in issued.
        for call in (search, create, refer):
            self.assertIn(call["headers"]["Authorization"][7:], self.primero.tokens)
        # The case holds what the referral shares, and nothing else.
        case = self.primero.cases[case_id]
        self.assertEqual(case["name"], base.ALIAS)
        self.assertEqual(case["sex"], "female")
        self.assertEqual(case["language"], ["spa"])
        self.assertEqual(case["module_id"], "primeroimsmodule-gbv")
        self.assertTrue(case["other_agency_id"].startswith("BEACON-"))
        self.assertEqual(search["query"]["query"], [case["other_agency_id"]])
        self.assertEqual(create["json"]["data"]["id"], case_id)  # client-generated id, answered 204
        # The referral is addressed to the configured Primero user, with the shared notes.
        remote = self.primero.referrals[0]
        self.assertEqual(submission.remote_referral_id, remote["id"])
        self.assertEqual(remote["record_id"], case_id)
        self.assertEqual(remote["transitioned_to"], "cp_manager")
        self.assertIn(referral.reference, remote["notes"])
        self.assertIn(base.SAFETY, remote["notes"])
        # Never what the officer did not share: family name, given names, nationality, the case, the narrative.
        sent = self.everything_sent()
        for secret in (base.FAMILY, base.GIVEN, base.PSEUDONYM, base.NARRATIVE, self.case.reference, "VE"):
            self.assertNotIn(secret, sent)

    def test_a_second_referral_of_the_same_survivor_finds_the_case(self):
        first = self.send()
        referral_actions.withdraw_referral(
            base.Referral.objects.get(pk=first.referral_id), actor=self.care, version=first.referral.version,
            reason="Duplicate",
        )  # fmt: skip
        # Forget the local record of the case id: the case must be found in Primero by its opaque id.
        PrimeroSubmission.objects.filter(pk=first.pk).update(status="failed")
        self.primero.requests.clear()
        second = self.send(self.referral())
        self.assertEqual(second.status, "sent", second.error)
        self.assertFalse(second.case_created)
        self.assertEqual(second.remote_case_id, first.remote_case_id)
        self.assertEqual(len(self.primero.cases), 1)
        self.assertEqual(len(self.primero.referrals), 2)
        self.assertNotIn(("POST", "/api/v2/cases"), self.calls())
        # The case found may hold referrals already (the first one): they are listed before posting, so that a
        # retry can tell its own referral from them.
        referrals = f"/api/v2/cases/{first.remote_case_id}/referrals"
        self.assertEqual(
            self.calls(),
            [("POST", "/api/v2/tokens"), ("GET", "/api/v2/cases"), ("GET", referrals), ("POST", referrals)],
        )

    def test_the_password_is_stored_encrypted(self):
        from django.db import connection as db

        with db.cursor() as cursor:
            cursor.execute("SELECT password FROM integrations_primeroconnection WHERE id = %s", [self.connection.pk])
            stored = cursor.fetchone()[0]
        self.assertNotIn(PASSWORD, stored)
        self.assertEqual(PrimeroConnection.objects.get(pk=self.connection.pk).password, PASSWORD)

    def test_wrong_credentials_are_recorded_as_a_failure_without_personal_data(self):
        PrimeroConnection.objects.filter(pk=self.connection.pk).update(password="wrong password here")
        self.connection.refresh_from_db()
        submission = self.send()
        self.assertEqual(submission.status, "failed")
        self.assertIn("401", submission.error)
        self.assertEqual(self.calls(), [("POST", "/api/v2/tokens")])
        row = AuditEvent.objects.get(action="integrations.primero_failed")
        self.assertEqual(row.details["submission_id"], submission.pk)
        for value in (base.ALIAS, base.SAFETY, PASSWORD):
            self.assertNotIn(value, submission.error)
            self.assertNotIn(value, json.dumps(row.details))

    def test_a_redirect_is_not_followed(self):
        self.primero.fail_next[("POST", "/api/v2/cases")] = 302
        submission = self.send()
        self.assertEqual(submission.status, "failed")
        self.assertIn("redirect not followed", submission.error)
        self.assertEqual(self.primero.referrals, [])
        self.assertEqual(len(self.calls()), 3)  # nothing was sent to the Location given

    def test_a_primero_error_is_recorded(self):
        self.primero.recipients = set()  # the recipient may not receive referrals: 403
        submission = self.send()
        self.assertEqual(submission.status, "failed")
        self.assertIn("403", submission.error)
        # The case was made before the referral was refused, and is recorded: a later send finds it.
        self.assertTrue(submission.case_created)
        self.assertIn(submission.remote_case_id, self.primero.cases)
        self.assertEqual(submission.remote_referral_id, "")
        self.assertEqual(submission.attempts, 1)  # a refusal is not retried


class ConsentTests(PrimeroTestCase):
    def test_without_consent_nothing_leaves_beacon(self):
        referral = self.referral()
        self.withdraw_consent()
        with self.assertRaises(ValidationError) as raised:
            self.send(referral)
        self.assertEqual(raised.exception.code, "no_consent")
        self.assertEqual(self.primero.requests, [])
        self.assertFalse(PrimeroSubmission.objects.exists())

    def test_a_care_officer_cannot_override(self):
        referral = self.referral()
        self.withdraw_consent()
        with self.assertRaises(PermissionDenied):
            self.send(referral, override_reason="Urgent placement tonight")
        self.assertEqual(self.primero.requests, [])

    def test_the_director_can_override_with_a_reason_audited_and_alerted(self):
        referral = self.referral()
        self.withdraw_consent()
        self.approve_override(referral)
        submission = self.send(referral, actor=self.director, override_reason="Child at immediate risk")
        self.assertEqual(submission.status, "sent", submission.error)
        self.assertTrue(submission.consent_overridden)
        self.assertTrue(AuditEvent.objects.filter(action="integrations.primero_consent_overridden").exists())
        self.assertTrue(
            Notification.objects.filter(
                recipient=self.director, event="referral.consent_overridden", urgent=True
            ).exists()
        )
        self.assertIn("without recorded consent", self.primero.referrals[0]["notes"])

    def test_a_referral_to_another_partner_or_a_draft_cannot_be_sent(self):
        with self.assertRaises(ValidationError):
            self.send(self.referral(send=False))
        other = PrimeroConnection.objects.create(
            name="Other", agency=self.blue_basin, base_url=self.primero.base_url, username="beacon", password=PASSWORD,
            recipient="cp_manager",
        )  # fmt: skip
        with self.assertRaises(ValidationError):
            actions.send_referral_to_primero(self.referral(), actor=self.care, connection=other)
        self.assertEqual(self.primero.requests, [])


class OverrideApprovalTests(PrimeroTestCase):
    """Primero's own consent override is behind the same four eyes as any referral's (issue #10)."""

    def setUp(self):
        super().setUp()
        self.referral_sent = self.referral()
        self.withdraw_consent()

    def test_without_a_second_persons_approval_nothing_is_sent(self):
        with self.assertRaises(ApprovalRequired):
            self.send(self.referral_sent, actor=self.director, override_reason="Child at immediate risk")
        self.assertEqual(self.primero.requests, [])
        self.assertFalse(PrimeroSubmission.objects.exists())
        self.assertFalse(AuditEvent.objects.filter(action="integrations.primero_consent_overridden").exists())

    def test_the_requester_cannot_approve_their_own_request(self):
        item = actions.request_primero_override(
            self.referral_sent, actor=self.director, connection=self.connection, reason="Child at immediate risk"
        )
        with self.assertRaises(PermissionDenied):
            approvals.approve(item, actor=self.director, version=item.version)
        with self.assertRaises(ApprovalRequired):
            self.send(self.referral_sent, actor=self.director, override_reason="Child at immediate risk")
        self.assertEqual(self.primero.requests, [])

    def test_an_approval_is_spent_by_one_send_and_audited(self):
        item = self.approve_override(self.referral_sent)
        submission = self.send(self.referral_sent, actor=self.director, override_reason="Child at immediate risk")
        self.assertEqual(submission.status, "sent", submission.error)
        item.refresh_from_db()
        self.assertEqual(item.status, "used")
        used = AuditEvent.objects.get(action="approvals.used", object_id=str(item.pk))
        self.assertEqual(used.details["decided_by_id"], self.deputy.pk)
        self.assertNotIn("immediate risk", json.dumps(used.details))
        with self.assertRaises(ApprovalRequired):
            self.send(self.referral_sent, actor=self.director, override_reason="Again")
        self.assertEqual(len(self.primero.referrals), 1)

    def test_an_expired_approval_cannot_be_used(self):
        item = self.approve_override(self.referral_sent)
        ApprovalRequest.objects.filter(pk=item.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        with self.assertRaises(ApprovalRequired):
            self.send(self.referral_sent, actor=self.director, override_reason="Child at immediate risk")
        self.assertEqual(self.primero.requests, [])

    def test_an_approval_for_the_referral_itself_does_not_open_primero(self):
        # The provider-side override (send_referral) and Primero's are separate approvals.
        approve(ApprovalKind.CONSENT_OVERRIDE, requester=self.director, approver=self.deputy, target=self.referral_sent)
        with self.assertRaises(ApprovalRequired):
            self.send(self.referral_sent, actor=self.director, override_reason="Child at immediate risk")

    def test_a_care_officer_cannot_even_ask(self):
        with self.assertRaises(PermissionDenied):
            actions.request_primero_override(
                self.referral_sent, actor=self.care, connection=self.connection, reason="Urgent placement tonight"
            )

    def test_on_the_page_the_first_send_asks_and_the_approved_one_sends(self):
        url = reverse("integrations:primero_send", args=[self.referral_sent.pk])
        client = self.client_for("director")
        data = {"connection": self.connection.pk, "override_reason": "Child at immediate risk"}
        response = client.post(url, data, follow=True)
        self.assertContains(response, "Nothing was sent: sending to Primero without recorded consent needs")
        self.assertContains(response, "to send to Primero without recorded consent awaits a second person")
        self.assertEqual(self.primero.requests, [])
        item = ApprovalRequest.objects.get(kind="primero_consent_override")
        self.assertEqual(
            (item.reason, item.parameters), ("Child at immediate risk", {"connection_id": self.connection.pk})
        )
        self.assertTrue(Notification.objects.filter(recipient=self.deputy, event="approval.requested").exists())
        approvals.approve(item, actor=self.deputy, version=item.version)
        self.assertContains(client.get(url), "you may send this referral to Primero without recorded consent once")
        response = client.post(url, data, follow=True)
        self.assertContains(response, "The referral was sent to Primero.")
        self.assertEqual(len(self.primero.referrals), 1)


class AllowListTests(PrimeroTestCase):
    def test_loopback_is_refused_unless_listed(self):
        referral = self.referral()
        with override_settings(BEACON_WEBHOOK_ALLOWED_HOSTS=[]):
            with self.assertRaises(ValidationError):
                self.send(referral)
            with self.assertRaises(ValidationError):
                actions.create_primero_connection(
                    actor=self.sysadmin, password="x" * 12, name="Lab", agency=self.safe_harbour,
                    base_url=self.primero.base_url, username="beacon", module_id="primeroimsmodule-cp",
                    recipient="cp_manager", is_active=True,
                )  # fmt: skip
        # A host name that resolves to loopback is not enough: the address itself must be listed.
        with override_settings(BEACON_WEBHOOK_ALLOWED_HOSTS=["localhost"]):
            PrimeroConnection.objects.filter(pk=self.connection.pk).update(
                base_url=self.primero.base_url.replace("127.0.0.1", "localhost")
            )
            self.connection.refresh_from_db()
            with self.assertRaises(ValidationError):
                self.send(referral)
        self.assertEqual(self.primero.requests, [])


class PageTests(PrimeroTestCase):
    def test_index_lists_connections_and_sendable_referrals(self):
        referral = self.referral()
        response = self.client_for("care").get(reverse("integrations:index"))
        self.assertContains(response, "Safe Harbour Primero")
        self.assertContains(response, reverse("integrations:primero_send", args=[referral.pk]))
        self.assertNotContains(response, reverse("integrations:webhook_create"))
        admin = self.client_for("sysadmin").get(reverse("integrations:index"))
        self.assertContains(admin, reverse("integrations:primero_edit", args=[self.connection.pk]))
        for name in ("analyst", "investigator", "shelter", "nobody"):
            with self.subTest(user=name):
                self.assertEqual(self.client_for(name).get(reverse("integrations:index")).status_code, 403)

    def test_sending_from_the_page(self):
        referral = self.referral()
        url = reverse("integrations:primero_send", args=[referral.pk])
        client = self.client_for("care")
        self.assertContains(client.get(url), "Consent to share with this partner is recorded.")
        response = client.post(url, {"connection": self.connection.pk}, follow=True)
        self.assertContains(response, "The referral was sent to Primero.")
        submission = PrimeroSubmission.objects.get()
        self.assertContains(response, submission.remote_referral_id)
        self.assertEqual(len(self.primero.referrals), 1)

    def test_who_may_open_the_send_page(self):
        referral = self.referral()
        url = reverse("integrations:primero_send", args=[referral.pk])
        self.assertEqual(self.client_for("care").get(url).status_code, 200)
        self.assertEqual(self.client_for("care2").get(url).status_code, 404)  # not on the case's team
        for name in ("investigator", "analyst", "shelter", "sysadmin"):  # no integrations.send_primero
            with self.subTest(user=name):
                self.assertEqual(self.client_for(name).get(url).status_code, 403)

    def test_the_administrator_creates_a_connection(self):
        client = self.client_for("sysadmin")
        data = {
            "name": "Children's Authority", "agency": self.blue_basin.pk, "base_url": self.primero.base_url,
            "username": "ctu", "password": "another-secret-99", "module_id": "primeroimsmodule-cp",
            "recipient": "cp_manager", "is_active": "on",
        }  # fmt: skip
        response = client.post(reverse("integrations:primero_create"), data)
        self.assertRedirects(response, reverse("integrations:index"))
        created = PrimeroConnection.objects.get(name="Children's Authority")
        self.assertEqual(created.password, "another-secret-99")
        row = AuditEvent.objects.get(action="integrations.primero_connection_created", object_id=str(created.pk))
        self.assertIn("password", row.changed_fields)
        self.assertNotIn("another-secret-99", json.dumps(row.details))
        refused = client.post(reverse("integrations:primero_create"), data | {"base_url": "http://10.1.2.3/"})
        self.assertContains(refused, "allow-list")
        self.assertEqual(self.client_for("care").get(reverse("integrations:primero_create")).status_code, 403)

    def test_editing_a_connection_keeps_the_password_unless_a_new_one_is_given(self):
        client = self.client_for("sysadmin")
        url = reverse("integrations:primero_edit", args=[self.connection.pk])
        page = client.get(url)
        self.assertContains(page, "Leave blank to keep the stored password.")
        self.assertNotContains(page, PASSWORD)
        data = {
            "name": "Renamed", "agency": self.safe_harbour.pk, "base_url": self.primero.base_url, "username": "beacon",
            "password": "", "module_id": "primeroimsmodule-cp", "recipient": "cp_manager", "is_active": "on",
            "version": self.connection.version,
        }  # fmt: skip
        self.assertRedirects(client.post(url, data), reverse("integrations:index"))
        self.connection.refresh_from_db()
        self.assertEqual((self.connection.name, self.connection.password), ("Renamed", PASSWORD))
        self.assertEqual(client.post(url, data).status_code, 409)  # the version moved on
        self.assertEqual(self.send().status, "sent")

    def test_the_referral_page_links_to_sending_only_when_it_can_be_sent(self):
        referral = self.referral()
        link = reverse("integrations:primero_send", args=[referral.pk])
        page = reverse("referrals:referral_detail", args=[referral.pk])
        self.assertContains(self.client_for("care").get(page), link)
        investigator = self.client_for("investigator").get(page)
        self.assertEqual(investigator.status_code, 200)
        self.assertNotContains(investigator, link)  # no integrations.send_primero
        PrimeroConnection.objects.update(is_active=False)
        self.assertNotContains(self.client_for("care").get(page), link)

"""Four-eyes approval of the riskiest actions (issue #10): bulk HTCDS export, revealing identities in a court
file, sending a referral without recorded consent, merging person records. Nobody approves their own request;
an approval is used once, by its requester, before it expires; every step is audited."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from alerts.models import Notification
from alerts.tasks import run_periodic_checks
from approvals import actions as approvals
from approvals.actions import ApprovalRequired
from approvals.choices import Kind, Status
from approvals.models import ApprovalRequest
from audit.models import AuditEvent
from cases import actions as case_actions
from cases.models import PersonMerge
from directory.models import Agency
from investigations import actions as investigation_actions
from investigations.models import CourtFile
from referrals import actions as referral_actions
from tests import factories
from tests.approval_helpers import approve
from tests.base import BeaconTestCase

EXPORT = {"target_type": "exchange.htcds"}
REASON = "Annual data call from IOM; Esperanza's file included."


def ask(user, kind=Kind.BULK_EXPORT_HTCDS, reason=REASON, **target) -> ApprovalRequest:
    return approvals.request_approval(kind, actor=user, reason=reason, **(target or EXPORT))


class ActionTests(BeaconTestCase):
    def test_the_requester_can_never_decide_their_own_request(self):
        item = ask(self.director)
        for decide in (approvals.approve, approvals.reject):
            with self.subTest(decide=decide.__name__), self.assertRaises(PermissionDenied):
                decide(item, actor=self.director, version=item.version, note="Fine by me.")
        item.refresh_from_db()
        self.assertEqual((item.status, item.decided_by), (Status.PENDING, None))
        with self.assertRaises(ApprovalRequired):
            approvals.consume(Kind.BULK_EXPORT_HTCDS, actor=self.director, **EXPORT)
        self.assertFalse(AuditEvent.objects.filter(action__in=["approvals.approved", "approvals.rejected"]).exists())

    def test_an_approver_approves_and_the_requester_uses_it_once(self):
        item = ask(self.director)
        approvals.approve(item, actor=self.deputy, version=item.version, note="Agreed for the data call.")
        item.refresh_from_db()
        self.assertEqual((item.status, item.decided_by), (Status.APPROVED, self.deputy))
        # Someone else cannot spend the requester's approval.
        with self.assertRaises(ApprovalRequired):
            approvals.consume(Kind.BULK_EXPORT_HTCDS, actor=self.deputy, **EXPORT)
        used = approvals.consume(Kind.BULK_EXPORT_HTCDS, actor=self.director, **EXPORT)
        self.assertEqual((used.pk, used.status), (item.pk, Status.USED))
        self.assertIsNotNone(used.used_at)
        with self.assertRaises(ApprovalRequired):
            approvals.consume(Kind.BULK_EXPORT_HTCDS, actor=self.director, **EXPORT)
        rows = AuditEvent.objects.filter(object_type="approvals.approvalrequest", object_id=str(item.pk)).order_by("id")
        self.assertEqual(
            [(r.action, r.actor_name) for r in rows],
            [("approvals.requested", "director"), ("approvals.approved", "deputy"), ("approvals.used", "director")],
        )
        self.assertNotIn("Esperanza", str([r.details for r in rows]))
        self.assertEqual(rows[0].changed_fields, ["reason"])

    def test_an_approval_expires(self):
        item = ask(self.director)
        approvals.approve(item, actor=self.hoi, version=item.version)
        ApprovalRequest.objects.filter(pk=item.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        with self.assertRaises(ApprovalRequired):
            approvals.consume(Kind.BULK_EXPORT_HTCDS, actor=self.director, **EXPORT)
        item.refresh_from_db()
        self.assertEqual(item.shown_status, Status.EXPIRED)
        self.assertEqual(approvals.expire_stale(), 1)
        item.refresh_from_db()
        self.assertEqual(item.status, Status.EXPIRED)
        self.assertTrue(AuditEvent.objects.filter(action="approvals.expired", object_id=str(item.pk)).exists())
        self.assertEqual(approvals.expire_stale(), 0)
        # A pending request past its time can no longer be decided either.
        late = ask(self.director, reason="Another export.")
        ApprovalRequest.objects.filter(pk=late.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        with self.assertRaises(ValidationError):
            approvals.approve(late, actor=self.deputy, version=late.version)

    def test_the_periodic_checks_expire_stale_requests(self):
        stale = ask(self.director)
        fresh = ask(self.director, reason="Another export.", target_type="exchange.htcds", target_id="2")
        approved = ask(self.deputy, reason="A third export.", target_type="exchange.htcds", target_id="3")
        approved = approvals.approve(approved, actor=self.director, version=approved.version)
        ApprovalRequest.objects.filter(pk__in=[stale.pk, approved.pk]).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
        result = run_periodic_checks.call()
        self.assertEqual(result["approvals_expired"], 2)
        statuses = dict(ApprovalRequest.objects.values_list("pk", "status"))
        self.assertEqual(
            (statuses[stale.pk], statuses[approved.pk], statuses[fresh.pk]),
            (Status.EXPIRED, Status.EXPIRED, Status.PENDING),
        )
        self.assertEqual(AuditEvent.objects.filter(action="approvals.expired").count(), 2)
        self.assertEqual(run_periodic_checks.call()["approvals_expired"], 0)  # safe to run twice

    def test_a_rejection_needs_a_note_and_tells_the_requester(self):
        item = ask(self.director)
        with self.assertRaises(ValidationError):
            approvals.reject(item, actor=self.deputy, version=item.version, note=" ")
        approvals.reject(item, actor=self.deputy, version=item.version, note="Send the anonymised set instead.")
        item.refresh_from_db()
        self.assertEqual(item.status, Status.REJECTED)
        with self.assertRaises(ApprovalRequired):
            approvals.consume(Kind.BULK_EXPORT_HTCDS, actor=self.director, **EXPORT)
        told = Notification.objects.get(recipient=self.director, event="approval.decided")
        self.assertIn(item.reference, told.message)
        self.assertNotIn("anonymised", told.message)
        self.assertEqual(told.link, item.get_absolute_url())
        event = AuditEvent.objects.get(action="approvals.rejected")
        self.assertEqual(
            (event.actor_name, event.changed_fields),
            ("deputy", ["decided_at", "decided_by", "decision_note", "status"]),
        )
        # A decided request is not decided again.
        with self.assertRaises(ValidationError):
            approvals.approve(item, actor=self.hoi, version=item.version)

    def test_cancel_is_the_requesters_and_audited(self):
        item = ask(self.director)
        with self.assertRaises(PermissionDenied):
            approvals.cancel(item, actor=self.deputy, version=item.version)
        approvals.cancel(item, actor=self.director, version=item.version)
        item.refresh_from_db()
        self.assertEqual(item.status, Status.CANCELLED)
        self.assertTrue(AuditEvent.objects.filter(action="approvals.cancelled", actor_name="director").exists())
        with self.assertRaises(ValidationError):
            approvals.approve(item, actor=self.deputy, version=item.version)

    def test_who_may_request_and_who_may_approve(self):
        for name in ("analyst", "investigator", "other_director"):
            with self.subTest(name), self.assertRaises(PermissionDenied):
                ask(self.users[name])
        with self.assertRaises(PermissionDenied):
            ask(self.care, Kind.MERGE_PERSONS, **case_actions.merge_approval_target(1, 2))
        with self.assertRaises(ValidationError):
            ask(self.director, reason="  ")
        item = ask(self.director)
        for name in ("investigator", "analyst", "sysadmin", "auditor", "other_director"):
            with self.subTest(name), self.assertRaises(PermissionDenied):
                approvals.approve(item, actor=self.users[name], version=item.version)
        self.assertEqual(ask(self.director).pk, item.pk)  # asking again returns the open request
        self.assertTrue(self.hoi.has_perm("approvals.approve"))

    def test_approvers_are_alerted_with_a_link_only(self):
        item = ask(self.director)
        alerts = Notification.objects.filter(event="approval.requested")
        self.assertEqual(sorted(n.recipient.username for n in alerts), ["deputy", "hoi"])
        for n in alerts:
            self.assertEqual(n.link, item.get_absolute_url())
            self.assertIn(item.reference, n.message)
            self.assertNotIn("Esperanza", n.message)
            self.assertTrue(n.urgent)

    def test_the_reason_is_encrypted_at_rest(self):
        item = ask(self.director)
        with connection.cursor() as cursor:
            cursor.execute("SELECT reason FROM approvals_approvalrequest WHERE id = %s", [item.pk])
            self.assertNotIn("Esperanza", cursor.fetchone()[0])


class PageTests(BeaconTestCase):
    def test_the_approver_sees_pending_requests_and_the_requester_their_own(self):
        item = ask(self.director)
        deputy = self.client_for("deputy")
        page = deputy.get(reverse("approvals:index"))
        self.assertContains(page, item.reference)
        self.assertContains(page, "Esperanza")  # the reason, shown to the approver
        self.assertContains(page, "director")
        own = self.client_for("director").get(reverse("approvals:index"))
        self.assertContains(own, item.reference)
        self.assertContains(own, "Pending")
        self.assertContains(own, "Nothing awaits your decision.")  # their own request is not theirs to decide
        self.assertContains(deputy.get(reverse("home")), 'class="badge text-bg-danger"')
        self.assertNotContains(self.client_for("director").get(reverse("home")), 'class="badge text-bg-danger"')
        self.assertNotContains(self.client_for("analyst").get(reverse("approvals:index")), item.reference)

    def test_a_request_someone_may_not_see_is_404(self):
        item = ask(self.director)
        url = reverse("approvals:detail", args=[item.pk])
        for name in ("analyst", "investigator", "other_director", "shelter"):
            with self.subTest(name):
                self.assertEqual(self.client_for(name).get(url).status_code, 404)
                self.assertEqual(
                    self.client_for(name)
                    .post(reverse("approvals:decide", args=[item.pk, "approve"]), {"version": item.version})
                    .status_code,
                    404,
                )
        self.assertContains(self.client_for("director").get(url), "Esperanza")
        self.assertContains(self.client_for("hoi").get(url), "Approve")
        self.assertTrue(AuditEvent.objects.filter(action="approvals.viewed", actor_name="hoi").exists())
        response = self.client.get(url)
        self.assertEqual(response.status_code, 302)
        self.assertIn("login", response["Location"])

    def test_approve_and_reject_through_the_page_never_ones_own(self):
        item = ask(self.director)
        decide = reverse("approvals:decide", args=[item.pk, "approve"])
        own = self.client_for("director").post(decide, {"version": item.version})
        self.assertEqual(own.status_code, 403)
        self.assertNotContains(self.client_for("director").get(item.get_absolute_url()), "formaction")
        item.refresh_from_db()
        self.assertEqual(item.status, Status.PENDING)
        response = self.client_for("deputy").post(decide, {"version": item.version, "note": "Agreed."})
        self.assertRedirects(response, reverse("approvals:index"))
        item.refresh_from_db()
        self.assertEqual((item.status, item.decision_note), (Status.APPROVED, "Agreed."))
        # A stale second decision is refused.
        again = self.client_for("hoi").post(
            reverse("approvals:decide", args=[item.pk, "reject"]), {"version": 1, "note": "No."}
        )
        self.assertEqual(again.status_code, 409)
        ApprovalRequest.objects.filter(pk=item.pk).update(status=Status.USED)
        other = ask(self.director, reason="Second export.")
        reject = reverse("approvals:decide", args=[other.pk, "reject"])
        self.assertEqual(self.client_for("hoi").post(reject, {"version": other.version}).status_code, 400)
        self.client_for("hoi").post(reject, {"version": other.version, "note": "Not now."})
        other.refresh_from_db()
        self.assertEqual(other.status, Status.REJECTED)
        cancel = self.client_for("director").post(
            reverse("approvals:cancel", args=[other.pk]), {"version": other.version}
        )
        self.assertEqual(cancel.status_code, 409)  # a rejected request cannot be cancelled


class GatedFlowTests(BeaconTestCase):
    """Each gated action refuses without an approval and works with one (the pages are tested with their flows:
    tests/test_htcds.py, tests/test_duplicates.py, tests/test_referrals.py, tests/test_court_file.py)."""

    def test_htcds_export_page(self):
        case = factories.make_case(owner=self.director)
        factories.add_victim(case, given_names="Esperanza")
        client = self.client_for("director")
        url = reverse("exchange:htcds_export")
        response = client.post(url, {"format": "csv"}, follow=True)
        self.assertContains(response, "second person")
        self.assertFalse(AuditEvent.objects.filter(action="exchange.htcds_exported").exists())
        approve(Kind.BULK_EXPORT_HTCDS, requester=self.director, approver=self.hoi, **EXPORT)
        page = client.post(url, {"format": "csv"})  # prepares the encrypted archive (tests/test_export_archives.py)
        self.assertContains(page, "archive-password")
        download = re.search(r'action="(/exchange/htcds/export/archive/[0-9a-f]+/)"', page.content.decode()).group(1)
        self.assertEqual(client.post(download)["Content-Type"], "application/zip")
        self.assertEqual(ApprovalRequest.objects.get().status, Status.USED)
        self.assertTrue(AuditEvent.objects.filter(action="exchange.htcds_archive_prepared").exists())

    def test_merging_persons(self):
        case = factories.make_case(owner=self.director)
        a = factories.add_victim(case, given_names="Esperanza").person
        b = factories.add_victim(factories.make_case(owner=self.director), given_names="Esperansa").person
        with self.assertRaises(ApprovalRequired):
            case_actions.merge_persons(a, b, actor=self.director)
        self.assertFalse(PersonMerge.objects.exists())
        c = factories.add_victim(case, given_names="Someone else").person
        approve(
            Kind.MERGE_PERSONS,
            requester=self.director,
            approver=self.deputy,
            **case_actions.merge_approval_target(a.pk, c.pk),
        )
        with self.assertRaises(ApprovalRequired):  # approved for another pair
            case_actions.merge_persons(a, b, actor=self.director)
        approve(
            Kind.MERGE_PERSONS,
            requester=self.director,
            approver=self.deputy,
            **case_actions.merge_approval_target(b.pk, a.pk),
        )
        merge = case_actions.merge_persons(a, b, actor=self.director)  # either record may be the one kept
        self.assertEqual(merge.merged, b)
        self.assertTrue(AuditEvent.objects.filter(action="approvals.used", actor_name="director").exists())

    def test_sending_a_referral_without_consent(self):
        Agency.objects.filter(pk=self.blue_basin.pk).update(authorised_for_referrals=True)
        self.blue_basin.refresh_from_db()
        link = factories.add_victim(factories.make_case(owner=self.director), given_names="Esperanza")
        referral = referral_actions.create_referral(
            link,
            actor=self.director,
            provider=self.blue_basin,
            needs=["shelter"],
            urgency="urgent",
            shared_fields=["age"],
        )
        with self.assertRaises(ValidationError) as raised:
            referral_actions.send_referral(
                referral, actor=self.director, version=referral.version, override_reason="Danger tonight."
            )
        self.assertEqual(raised.exception.code, "approval_required")
        referral.refresh_from_db()
        self.assertEqual(referral.status, "draft")
        item = referral_actions.request_consent_override(referral, actor=self.director, reason="Danger tonight.")
        approvals.approve(item, actor=self.hoi, version=item.version)
        referral = referral_actions.send_referral(
            referral, actor=self.director, version=referral.version, override_reason="Danger tonight."
        )
        self.assertEqual((referral.status, referral.consent_overridden), ("sent", True))
        item.refresh_from_db()
        self.assertEqual(item.status, Status.USED)

    def test_revealing_identities_in_a_court_file(self):
        case = factories.make_case(owner=self.director)
        investigation_actions.request_court_file(case, actor=self.director)  # pseudonyms only: no approval needed
        with self.assertRaises(ApprovalRequired):
            investigation_actions.request_court_file(
                case, actor=self.director, reveal_identity=True, reason="Court order."
            )
        self.assertEqual(CourtFile.objects.filter(reveal_identity=True).count(), 0)
        item = investigation_actions.request_reveal_approval(case, actor=self.director, reason="Court order.")
        approvals.approve(item, actor=self.deputy, version=item.version)
        investigation_actions.request_court_file(case, actor=self.director, reveal_identity=True, reason="Court order.")
        self.assertEqual(CourtFile.objects.filter(reveal_identity=True).count(), 1)
        with self.assertRaises(ApprovalRequired):  # used once
            investigation_actions.request_court_file(case, actor=self.director, reveal_identity=True, reason="Again.")

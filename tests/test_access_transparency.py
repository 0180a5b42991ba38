"""Access transparency (issue #10): owners see who else read their records; the Director gets a weekly digest
of unusual access (heavy readers, reads outside working hours, break-glass), notified with a link only."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from unittest import mock

from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from alerts.models import Notification
from alerts.tasks import send_notification_email
from audit import log as audit
from cases.models import BreakGlass
from retention import actions
from retention.access import compute_digest, is_out_of_hours
from retention.models import AccessDigest
from retention.tasks import run_due
from tests import factories as f
from tests.base import BeaconTestCase


class WhoSawMyRecordsTests(BeaconTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.case = f.make_case(owner=cls.users["investigator"])
        cls.link = f.add_victim(cls.case, given_names="Philippa", family_names="Drummond")
        cls.other_case = f.make_case(owner=cls.users["investigator2"])

    def rows(self, name: str) -> list[dict]:
        response = self.client_for(name).get("/access/")
        self.assertEqual(response.status_code, 200)
        return response.context["rows"]

    def test_owner_sees_another_users_reads_but_not_their_own(self):
        director = self.client_for("director")
        self.assertEqual(director.get(f"/cases/{self.case.pk}/").status_code, 200)
        self.assertEqual(director.get(f"/cases/{self.case.pk}/people/{self.link.pk}/").status_code, 200)
        self.assertEqual(self.client_for("investigator").get(f"/cases/{self.case.pk}/").status_code, 200)
        rows = self.rows("investigator")
        self.assertEqual({row["who"] for row in rows}, {"director"})
        self.assertEqual({row["action"] for row in rows}, {"cases.case_viewed", "cases.person_viewed"})
        self.assertTrue(all(row["case"] == self.case.reference for row in rows))
        person_rows = [row for row in rows if row["action"] == "cases.person_viewed"]
        self.assertEqual(person_rows[0]["person"], self.link.pseudonym)
        page = self.client_for("investigator").get("/access/")
        self.assertContains(page, self.case.reference)
        self.assertNotContains(page, "Philippa")

    def test_other_users_do_not_see_reads_of_records_they_do_not_own(self):
        self.client_for("director").get(f"/cases/{self.case.pk}/")
        self.assertEqual(self.rows("investigator2"), [])
        self.assertContains(self.client_for("investigator2").get("/access/"), "Nobody else has opened your records.")

    def test_the_page_is_audited_and_private(self):
        self.rows("investigator")
        self.assertTrue(
            audit.AuditEvent.objects.filter(action="access.my_records_viewed", actor_id=self.investigator.pk).exists()
        )
        response = self.client.get("/access/")
        self.assertEqual(response.status_code, 302)


def _read(user, obj, when):
    with mock.patch("django.utils.timezone.now", return_value=when):
        audit.record("cases.case_viewed", actor=user, object_type="cases.case", object_id=obj)


def _last(weekday: int, hour: int, before):
    """The latest local time with ISO ``weekday`` at ``hour`` strictly before ``before``."""
    local = timezone.localtime(before).replace(hour=hour, minute=0, second=0, microsecond=0)
    while local.isoweekday() != weekday or local >= before:
        local -= timedelta(days=1)
    return local


class DigestTests(BeaconTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.case = f.make_case(owner=cls.users["investigator"])

    def setUp(self):
        self.now = timezone.now() + timedelta(minutes=1)
        self.weekday = _last(3, 10, self.now)  # a Wednesday, 10:00: working hours
        # investigator2: two records a week for eight weeks, then 25 this week. hoi: 25 every week.
        for week in range(1, 9):
            for i in range(2):
                _read(self.investigator2, 1000 + i, self.weekday - timedelta(days=7 * week))
            for i in range(25):
                _read(self.hoi, 2000 + i, self.weekday - timedelta(days=7 * week))
        for i in range(25):
            _read(self.investigator2, 3000 + i, self.weekday)
            _read(self.hoi, 4000 + i, self.weekday)
        # care: one read on a Sunday at 03:00.
        self.sunday_night = _last(7, 3, self.now)
        _read(self.care, self.case.pk, self.sunday_night)
        BreakGlass.objects.create(
            case=self.case,
            user=self.investigator,
            reason="Urgent safety check",
            expires_at=self.now + timedelta(hours=4),
        )

    def test_the_digest_flags_heavy_readers_late_reads_and_break_glass(self):
        self.assertTrue(is_out_of_hours(self.sunday_night))
        self.assertFalse(is_out_of_hours(self.weekday))
        findings = compute_digest(self.now)
        heavy = {row["user"]: row for row in findings["heavy_readers"]}
        self.assertEqual(set(heavy), {"investigator2"})  # hoi reads as much every week
        self.assertEqual((heavy["investigator2"]["records"], heavy["investigator2"]["median"]), (25, 2))
        late = {row["user"]: row for row in findings["out_of_hours"]}
        self.assertEqual(set(late), {"care"})
        self.assertEqual(late["care"]["reads"], 1)
        self.assertEqual(
            [(row["user"], row["case"]) for row in findings["break_glass"]], [("investigator", self.case.reference)]
        )

    def test_the_director_is_notified_with_a_link_only(self):
        with self.captureOnCommitCallbacks(execute=False) as callbacks:
            digest = actions.create_access_digest(now=self.now)
        note = Notification.objects.get(recipient=self.director, event="access.digest")
        self.assertEqual(note.link, f"/access/digests/{digest.pk}/")
        for secret in ("investigator2", "care", self.case.reference):
            self.assertNotIn(secret, note.message)
        self.assertFalse(Notification.objects.filter(event="access.digest").exclude(recipient=self.director).exists())
        self.assertTrue(callbacks)  # the email is queued once the digest is saved
        self.assertTrue(send_notification_email.call(note.pk))
        body = mail.outbox[-1].body
        self.assertIn("/notifications/", body)
        for secret in ("investigator2", self.case.reference, "break"):
            self.assertNotIn(secret, body)
        page = self.client_for("director").get(note.link)
        self.assertContains(page, "investigator2")
        self.assertContains(page, self.case.reference)
        self.assertNotContains(page, "Urgent safety check")

    def test_digest_pages_are_for_retention_managers(self):
        digest = actions.create_access_digest(now=self.now, notify_directors=False)
        self.assertEqual(self.client_for("sysadmin").get(f"/access/digests/{digest.pk}/").status_code, 200)
        self.assertEqual(self.client_for("director").get("/access/digests/").status_code, 200)
        for name in ("investigator", "deputy", "analyst", "auditor"):
            with self.subTest(user=name):
                self.assertEqual(self.client_for(name).get(f"/access/digests/{digest.pk}/").status_code, 403)

    def test_the_digest_is_made_weekly_by_the_periodic_task(self):
        self.assertIn("access_digest", run_due(now=self.now))
        self.assertNotIn("access_digest", run_due(now=self.now + timedelta(days=1)))
        self.assertEqual(AccessDigest.objects.count(), 1)

    def test_the_command_prints_the_digest(self):
        out = StringIO()
        call_command("access_digest", "--dry-run", stdout=out)
        self.assertIn("investigator2: 25 records", out.getvalue())
        self.assertIn("Break-glass uses: 1", out.getvalue())
        self.assertFalse(AccessDigest.objects.exists())

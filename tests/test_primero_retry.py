"""Automatic retries of Primero sends (issue #9), against the stand-in Primero server: a send that fails for a
passing reason (no answer, connection refused, HTTP 5xx or 429) is retried by the worker after a delay that
doubles, up to a cap; a refusal (other 4xx, a redirect) or consent withdrawn meanwhile is not retried; each
attempt is recorded and audited; after the last attempt the officer who sent it is alerted (in Beacon, and
by an email with a link only); the page shows the attempts and the next retry; and nothing is ever sent twice,
even when Primero did the work and its answer was lost, or two workers hold the same retry."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from unittest import mock

from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from alerts.models import Notification
from audit.models import AuditEvent
from integrations import actions
from integrations.choices import PRIMERO_MAX_ATTEMPTS, PRIMERO_RETRY_DELAYS
from integrations.models import PrimeroAttempt, PrimeroConnection, PrimeroSubmission
from integrations.tasks import retry_due_primero_sends, retry_primero_send
from referrals import actions as referral_actions
from tests import test_referrals as base
from tests.smtp import SMTPServerMixin, free_port
from tests.test_primero import PrimeroTestCase

LATER = timedelta(days=1)  # past any retry delay


class RetryTestCase(PrimeroTestCase):
    def first_send(self, referral=None) -> PrimeroSubmission:
        """The officer's send; the retry it may schedule is queued on commit, for real."""
        with self.captureOnCommitCallbacks(execute=True):
            return self.send(referral)

    def retry(self, submission: PrimeroSubmission, now=None) -> PrimeroSubmission | None:
        with self.captureOnCommitCallbacks(execute=True):
            return actions.attempt_primero_send(submission.pk, now=now or timezone.now() + LATER)

    def queued_retries(self):
        return DBTaskResult.objects.filter(task_path=retry_primero_send.module_path, status=TaskResultStatus.READY)

    def worker(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            call_command("beacon_worker", "--once", stdout=StringIO())

    def make_due(self, submission: PrimeroSubmission) -> None:
        past = timezone.now() - timedelta(seconds=1)
        PrimeroSubmission.objects.filter(pk=submission.pk).update(next_attempt_at=past)
        self.queued_retries().update(run_after=past)

    def attempts_audited(self) -> list[str]:
        rows = AuditEvent.objects.filter(action="integrations.primero_attempt").order_by("id")
        return [row.details["outcome"] for row in rows]

    def outcomes(self, submission) -> list[str]:
        return list(submission.attempt_log.order_by("number").values_list("outcome", flat=True))


class TransientFailureTests(RetryTestCase):
    def test_fails_twice_then_the_worker_sends_it_once(self):
        self.primero.fail("tokens", 503, times=2)
        before = timezone.now()
        submission = self.first_send()
        self.assertEqual((submission.status, submission.attempts), ("retrying", 1))
        self.assertIn("503", submission.error)
        self.assertGreaterEqual(submission.next_attempt_at, before + PRIMERO_RETRY_DELAYS[0])
        self.assertLess(submission.next_attempt_at, before + PRIMERO_RETRY_DELAYS[1])
        self.assertEqual(self.queued_retries().get().run_after, submission.next_attempt_at)
        self.assertFalse(
            AuditEvent.objects.filter(action__in=["integrations.primero_failed", "integrations.primero_sent"]).exists()
        )

        self.worker()  # not due yet: nothing happens
        self.assertEqual(len(self.primero.requests), 1)

        self.make_due(submission)
        self.worker()  # the second attempt fails too, and waits twice as long
        submission.refresh_from_db()
        self.assertEqual((submission.status, submission.attempts), ("retrying", 2))
        self.assertGreaterEqual(submission.next_attempt_at - submission.last_attempt_at, PRIMERO_RETRY_DELAYS[1])

        self.make_due(submission)
        self.worker()
        submission.refresh_from_db()
        self.assertEqual((submission.status, submission.attempts), ("sent", 3), submission.error)
        self.assertIsNone(submission.next_attempt_at)
        self.assertEqual(submission.error, "")
        self.assertEqual((len(self.primero.cases), len(self.primero.referrals)), (1, 1))
        self.assertEqual(submission.remote_referral_id, self.primero.referrals[0]["id"])
        self.assertEqual(self.outcomes(submission), ["retry", "retry", "sent"])
        self.assertEqual(list(submission.attempt_log.values_list("by", flat=True)), [self.care.pk, None, None])
        self.assertEqual(self.attempts_audited(), ["retry", "retry", "sent"])
        self.assertEqual(AuditEvent.objects.get(action="integrations.primero_sent").details["attempts"], 3)
        self.assertFalse(Notification.objects.filter(event="integrations.primero_failed").exists())
        self.worker()  # nothing left to do
        self.assertEqual(len(self.primero.referrals), 1)

    def test_429_and_connection_errors_and_time_outs_are_retried(self):
        self.primero.fail("refer", 429)
        self.assertEqual(self.first_send().status, "retrying")
        real_url = self.connection.base_url
        PrimeroConnection.objects.filter(pk=self.connection.pk).update(base_url=f"http://127.0.0.1:{free_port()}")
        refused = self.first_send(self.referral())
        self.assertEqual(refused.status, "retrying")
        self.assertIn("Connection refused", refused.error)
        PrimeroConnection.objects.filter(pk=self.connection.pk).update(base_url=real_url)
        with mock.patch("integrations.net.request", side_effect=TimeoutError):
            timed_out = self.first_send(self.referral())
        self.assertEqual(timed_out.status, "retrying")
        self.assertIn("No answer in time", timed_out.error)
        for submission in PrimeroSubmission.objects.all():
            self.assertEqual(self.retry(submission).status, "sent")
        self.assertEqual(len(self.primero.referrals), 3)

    def test_after_the_last_attempt_the_officer_is_alerted(self):
        self.primero.fail("tokens", 502, times=100)
        submission = self.first_send()
        for number in range(2, PRIMERO_MAX_ATTEMPTS + 1):
            submission = self.retry(submission)
            self.assertEqual(submission.attempts, number)
        self.assertEqual(submission.status, "failed")
        self.assertIsNone(submission.next_attempt_at)
        self.assertIsNone(self.retry(submission))  # capped: no further attempt
        self.assertEqual(len(self.primero.requests), PRIMERO_MAX_ATTEMPTS)
        self.assertEqual(self.attempts_audited(), ["retry"] * (PRIMERO_MAX_ATTEMPTS - 1) + ["failed"])
        note = Notification.objects.get(event="integrations.primero_failed")
        self.assertEqual(note.recipient, self.care)  # the officer who sent it, nobody else
        self.assertEqual(note.link, reverse("integrations:primero_send", args=[submission.referral_id]))
        self.assertIn(submission.referral.reference, note.message)
        self.assertEqual(AuditEvent.objects.filter(action="integrations.primero_failed").count(), 1)


class PermanentFailureTests(RetryTestCase):
    def test_a_refusal_is_not_retried(self):
        for status in (400, 403, 404, 422):
            with self.subTest(status=status):
                self.primero.fail("create_case", status)
                submission = self.first_send(self.referral())
                self.assertEqual((submission.status, submission.attempts), ("failed", 1))
                self.assertIn(str(status), submission.error)
                self.assertIsNone(submission.next_attempt_at)
                self.assertIsNone(self.retry(submission))
        self.assertFalse(self.queued_retries().exists())
        self.assertEqual(self.primero.referrals, [])
        # The officer saw the failure on the page: no alert besides.
        self.assertFalse(Notification.objects.filter(event="integrations.primero_failed").exists())

    def test_consent_withdrawn_while_waiting_stops_the_retry(self):
        self.primero.fail("tokens", 503)
        submission = self.first_send()
        self.withdraw_consent()
        self.primero.requests.clear()
        submission = self.retry(submission)
        self.assertEqual(submission.status, "failed")
        self.assertIn("consent", submission.error)
        self.assertEqual(self.primero.requests, [])  # nothing left Beacon
        self.assertEqual(self.outcomes(submission), ["retry", "failed"])
        self.assertTrue(Notification.objects.filter(event="integrations.primero_failed", recipient=self.care).exists())

    def test_a_referral_withdrawn_meanwhile_is_not_retried(self):
        self.primero.fail("tokens", 503)
        submission = self.first_send()
        referral = submission.referral
        referral.refresh_from_db()
        referral_actions.withdraw_referral(referral, actor=self.care, version=referral.version, reason="Moved")
        self.primero.requests.clear()
        self.assertEqual(self.retry(submission).status, "failed")
        self.assertEqual(self.primero.requests, [])


class NeverTwiceTests(RetryTestCase):
    def test_a_lost_answer_to_the_referral_post_does_not_send_it_twice(self):
        self.primero.fail("refer", 502, after=True)  # Primero made the referral; Beacon heard 502
        submission = self.first_send()
        self.assertEqual(submission.status, "retrying")
        self.assertEqual(len(self.primero.referrals), 1)
        self.primero.requests.clear()
        submission = self.retry(submission)
        self.assertEqual(submission.status, "sent", submission.error)
        self.assertEqual(len(self.primero.referrals), 1)
        self.assertEqual(submission.remote_referral_id, self.primero.referrals[0]["id"])
        self.assertEqual(
            self.calls(), [("POST", "/api/v2/tokens"), ("GET", f"/api/v2/cases/{submission.remote_case_id}/referrals")]
        )
        row = AuditEvent.objects.filter(action="integrations.primero_attempt").latest("id")
        self.assertTrue(row.details["found_again"])

    def test_a_lost_answer_to_the_case_creation_does_not_create_it_twice(self):
        self.primero.fail("create_case", 504, after=True)
        submission = self.first_send()
        self.assertEqual(submission.status, "retrying")
        self.assertEqual(len(self.primero.cases), 1)
        submission = self.retry(submission)
        self.assertEqual(submission.status, "sent", submission.error)
        self.assertEqual(len(self.primero.cases), 1)
        self.assertTrue(submission.case_created)
        self.assertEqual(self.primero.referrals[0]["record_id"], submission.remote_case_id)

    def test_a_retry_after_a_failed_referral_post_does_post_it(self):
        """When the referral POST did not happen (the case's list shows nothing new), the retry posts it."""
        self.primero.fail("refer", 503)
        submission = self.first_send()
        self.assertEqual(self.primero.referrals, [])
        self.assertEqual(self.retry(submission).status, "sent")
        self.assertEqual(len(self.primero.referrals), 1)

    def test_referrals_already_on_a_found_case_are_not_taken_for_ours(self):
        first = self.first_send()
        self.primero.fail("refer", 503)
        second = self.first_send(self.referral())
        self.assertEqual(second.referral_baseline, [first.remote_referral_id])
        second = self.retry(second)
        self.assertEqual(second.status, "sent")
        self.assertEqual(len(self.primero.referrals), 2)
        self.assertNotEqual(second.remote_referral_id, first.remote_referral_id)

    def test_one_retry_is_made_once_however_many_workers_hold_it(self):
        self.primero.fail("tokens", 503)
        submission = self.first_send()
        retry_primero_send.enqueue(submission.pk)  # a second task for the same retry (a lost task re-queued)
        self.assertEqual(retry_due_primero_sends(now=timezone.now() + LATER), 1)  # and a third
        self.make_due(submission)
        self.primero.requests.clear()
        self.worker()
        submission.refresh_from_db()
        self.assertEqual((submission.status, submission.attempts), ("sent", 2))
        self.assertEqual(len(self.primero.referrals), 1)
        self.assertEqual(self.calls().count(("POST", "/api/v2/tokens")), 1)
        # The same attempt number can never be recorded twice.
        with self.assertRaises(IntegrityError), transaction.atomic():
            PrimeroAttempt.objects.create(submission=submission, number=2, started_at=timezone.now())

    def test_a_retry_not_yet_due_or_being_made_is_left_alone(self):
        self.primero.fail("tokens", 503)
        submission = self.first_send()
        self.assertIsNone(actions.attempt_primero_send(submission.pk))  # due in a minute, not now
        when = timezone.now() + LATER
        real_submit, second_worker = actions.primero.submit, []

        def submit_while_another_worker_tries(*args, **kwargs):
            second_worker.append(actions.attempt_primero_send(submission.pk, now=when))
            return real_submit(*args, **kwargs)

        with mock.patch.object(actions.primero, "submit", side_effect=submit_while_another_worker_tries):
            self.assertEqual(self.retry(submission, now=when).status, "sent")
        self.assertEqual(second_worker, [None])  # the first worker's lease keeps the second out
        self.assertEqual(len(self.primero.referrals), 1)

    def test_an_attempt_whose_worker_died_is_taken_up_once_its_lease_runs_out(self):
        self.primero.fail("refer", 502, after=True)
        submission = self.first_send()
        # A worker claimed the retry, made the referral and died before recording it.
        PrimeroSubmission.objects.filter(pk=submission.pk).update(
            status="pending", next_attempt_at=timezone.now() + timedelta(minutes=5)
        )
        DBTaskResult.objects.all().delete()
        self.assertEqual(retry_due_primero_sends(), 0)  # still leased
        self.assertEqual(retry_due_primero_sends(now=timezone.now() + timedelta(minutes=6)), 1)
        PrimeroSubmission.objects.filter(pk=submission.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        self.worker()
        submission.refresh_from_db()
        self.assertEqual(submission.status, "sent", submission.error)
        self.assertEqual(len(self.primero.referrals), 1)


class AlertEmailTests(SMTPServerMixin, RetryTestCase):
    def test_the_failure_email_carries_a_link_only(self):
        self.primero.fail("tokens", 503, times=100)
        referral = self.referral()  # made outside the captured commit: its own emails (to the shelter) stay out
        submission = self.first_send(referral)
        for _number in range(2, PRIMERO_MAX_ATTEMPTS + 1):
            submission = self.retry(submission)
        self.assertEqual(submission.status, "failed")
        self.worker()
        self.assertEqual(self.smtp.recipients, [self.care.email])
        note = Notification.objects.get(event="integrations.primero_failed")
        for text in self.smtp.texts():
            self.assertIn(f"{settings.BEACON_SITE_URL}/notifications/", text)
            for secret in (note.message, submission.referral.reference, self.connection.name, base.ALIAS, note.link):
                self.assertNotIn(secret, text)


class PageTests(RetryTestCase):
    def test_the_send_page_shows_attempts_and_the_next_retry(self):
        self.primero.fail("tokens", 503, times=2)
        referral = self.referral()
        url = reverse("integrations:primero_send", args=[referral.pk])
        client = self.client_for("care")
        with self.captureOnCommitCallbacks(execute=True):
            response = client.post(url, {"connection": self.connection.pk}, follow=True)
        self.assertContains(response, "Beacon will try again by itself")
        submission = PrimeroSubmission.objects.get()
        self.assertContains(response, "Waiting to retry")
        self.assertContains(response, f"next attempt {timezone.localtime(submission.next_attempt_at):%Y-%m-%d %H:%M}")
        submission = self.retry(submission)
        page = client.get(url)
        self.assertContains(page, "Failed, will be retried", count=2)
        self.assertContains(page, "automatic retry")
        self.assertContains(page, "HTTP 503")
        submission = self.retry(submission)
        page = client.get(url)
        self.assertContains(page, "badge text-bg-success")
        self.assertNotContains(page, "next attempt")
        self.assertContains(client.get(reverse("integrations:index")), "<td>3</td>", html=False)

    def test_no_personal_data_in_what_is_recorded(self):
        self.primero.fail("refer", 503)
        submission = self.first_send()
        self.retry(submission)
        recorded = json.dumps(
            list(AuditEvent.objects.filter(action__startswith="integrations.").values_list("details", flat=True))
        )
        recorded += json.dumps(list(PrimeroAttempt.objects.values_list("error", flat=True)))
        for secret in (base.ALIAS, base.SAFETY, base.FAMILY, "primero-pass-1234"):
            self.assertNotIn(secret, recorded)

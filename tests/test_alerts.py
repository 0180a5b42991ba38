"""Alerts that reach the right role (issue #3): the default rules, emails through a real SMTP server that
carry no details, the worker, escalation of unanswered urgent alerts, overdue alerts and the rules pages."""

from __future__ import annotations

import os
import re
import signal
import threading
from datetime import timedelta
from io import StringIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db.models import F
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from accounts.models import User
from alerts import actions
from alerts.management.commands.beacon_worker import enqueue_periodic_checks
from alerts.models import AlertRule, Notification
from alerts.tasks import escalate_unacknowledged, run_periodic_checks, send_notification_email
from audit.models import AuditEvent
from intake.actions import assign_report, create_report, flag_overdue_reports
from intake.models import Report
from tests.base import AccessTestMixin, BeaconTestCase
from tests.smtp import SMTPServerMixin, free_port

# Distinctive enough that finding it anywhere in an email can only mean the report leaked into it.
SURVIVOR = "Quenisha Baptiste-Ramdeen"
REPORTER = "Marcus Villafana"
PLACE = "Chaguaramas"


class AlertTestCase(BeaconTestCase):
    def report(self, actor=None, **fields) -> Report:
        values = {"channel": "hotline", "received_at": timezone.now(), "narrative": "A call about workers on a farm."}
        return create_report(actor=actor or self.intake, **(values | fields))

    def recipients(self, event: str) -> set[str]:
        return set(Notification.objects.filter(event=event).values_list("recipient__username", flat=True))

    def worker(self, *args: str) -> str:
        """`manage.py beacon_worker --once`, with the emails its tasks queue on commit queued for real."""
        out = StringIO()
        with self.captureOnCommitCallbacks(execute=True):
            call_command("beacon_worker", "--once", *args, stdout=out)
        return out.getvalue()

    def queued_emails(self) -> int:
        return DBTaskResult.objects.filter(
            task_path=send_notification_email.module_path, status=TaskResultStatus.READY
        ).count()


class DefaultRulesTests(AlertTestCase):
    """The unit's SOP as shipped: who hears about what."""

    def test_new_report_alerts_director_and_head_of_investigations_only(self):
        self.report()
        self.assertEqual(self.recipients("report.created"), {"director", "hoi"})
        # Not the intake officer who recorded it, not the police's Director (same role, partner agency), not
        # shelter staff, nobody else at all.
        self.assertFalse(Notification.objects.exclude(recipient__in=[self.director, self.hoi]).exists())
        self.assertFalse(
            Notification.objects.filter(recipient__in=[self.other_director, self.shelter, self.intake]).exists()
        )

    def test_the_actor_is_not_alerted_about_their_own_report(self):
        self.report(actor=self.hoi)
        self.assertEqual(self.recipients("report.created"), {"director"})

    def test_child_and_immediate_danger_alerts_are_urgent(self):
        self.report(child_involved=True, immediate_danger=True)
        for event in ("report.child", "report.immediate_danger"):
            with self.subTest(event=event):
                self.assertEqual(self.recipients(event), {"director", "hoi"})
                self.assertFalse(Notification.objects.filter(event=event, urgent=False).exists())
        self.assertFalse(Notification.objects.filter(event="report.created", urgent=True).exists())
        self.assertFalse(Notification.objects.filter(recipient=self.other_director).exists())

    def test_the_assigned_investigator_is_alerted(self):
        report = self.report()
        assign_report(report, actor=self.hoi, version=report.version, investigator=self.investigator)
        self.assertEqual(self.recipients("report.assigned"), {"investigator"})
        item = Notification.objects.get(event="report.assigned")
        self.assertIn(report.reference, item.message)
        self.assertEqual(item.link, report.get_absolute_url())

    def test_notification_text_names_the_reference_never_the_people(self):
        report = self.report(narrative=f"{SURVIVOR} was seen at {PLACE}.", reporter_name=REPORTER, child_involved=True)
        for item in Notification.objects.all():
            self.assertIn(report.reference, item.message)
            for secret in (SURVIVOR, REPORTER, PLACE):
                self.assertNotIn(secret, item.message)

    def test_issue_9_rules_ship_and_appear_in_the_rule_form(self):
        """Cooperation arrivals and failed Primero sends are alerted through rules like any other event."""
        expected = {
            "cooperation.request_received": (["director", "head_of_investigations"], False),
            "cooperation.answer_received": (["director", "head_of_investigations"], True),
            "integrations.primero_failed": ([], True),
        }
        for event, (roles, assignee) in expected.items():
            with self.subTest(event=event):
                rule = AlertRule.objects.get(event=event)
                self.assertEqual((rule.target_roles, rule.target_assignee), (roles, assignee))
                self.assertTrue(rule.send_email and rule.is_active and not rule.urgent)
        page = self.client_for("sysadmin").get(reverse("alert_rules:create"))
        for event in expected:
            self.assertContains(page, f'value="{event}"')

    def test_inactive_users_are_not_alerted(self):
        User.objects.filter(pk=self.director.pk).update(is_active=False)
        self.report()
        self.assertEqual(self.recipients("report.created"), {"hoi"})

    def test_a_partner_officer_cannot_be_named_in_a_rule(self):
        rule = AlertRule.objects.get(event="report.created")
        with self.assertRaises(ValidationError) as raised:
            actions.update_rule(rule, actor=self.sysadmin, version=rule.version, target_users=[self.other_investigator])
        self.assertIn("target_users", raised.exception.message_dict)

    def test_a_role_handed_to_partner_staff_never_routes_alerts_to_them(self):
        self.shelter.roles.add(*self.director.roles.all())
        self.report()
        self.assertEqual(self.recipients("report.created"), {"director", "hoi"})


class EmailTests(SMTPServerMixin, AlertTestCase):
    """Emails travel through Django's SMTP backend to a real SMTP server on the loopback interface."""

    def setUp(self):
        super().setUp()
        # Names on the accounts too, so a test can check that no name of anyone reaches an email.
        User.objects.filter(pk=self.intake.pk).update(first_name="Ignatius", last_name="Ollivierre")
        User.objects.filter(pk=self.director.pk).update(first_name="Dolores", last_name="Achong")

    def child_report(self) -> Report:
        with self.captureOnCommitCallbacks(execute=True):
            return self.report(
                narrative=f"{SURVIVOR}, 15, was seen at {PLACE} with a man who holds her passport.",
                reporter_name=REPORTER,
                child_involved=True,
            )

    def test_nothing_is_emailed_before_the_transaction_commits(self):
        with self.captureOnCommitCallbacks(execute=False) as callbacks:
            self.report()
        self.assertEqual(self.queued_emails(), 0)
        self.assertEqual(len(callbacks), 2)  # director and hoi, once the report is saved

    def test_emails_reach_the_smtp_server_with_a_link_and_no_details(self):
        report = self.child_report()
        self.assertEqual(self.queued_emails(), 4)  # "new report" and "involves a child", to director and hoi
        self.assertEqual(self.smtp.messages, [])  # the request never waits for the mail relay
        self.worker()
        self.assertEqual(sorted(self.smtp.recipients), ["director@example.invalid"] * 2 + ["hoi@example.invalid"] * 2)
        secrets = [
            report.reference,
            report.get_absolute_url(),
            SURVIVOR,
            "Quenisha",
            "Baptiste",
            REPORTER,
            "Villafana",
            PLACE,
            "passport",
            "Ignatius",
            "Ollivierre",
            "Dolores",
            "Achong",
            "intake",
        ]
        secrets += list(Notification.objects.values_list("message", flat=True))
        for text in self.smtp.texts():
            self.assertIn(f"{settings.BEACON_SITE_URL}/notifications/", text)
            for secret in secrets:
                self.assertNotIn(secret, text)
        subjects = sorted(message["Subject"] for message in self.smtp.messages)
        self.assertEqual(
            subjects, ["Beacon: something needs your attention"] * 2 + ["Beacon: urgent, please acknowledge"] * 2
        )
        self.assertFalse(Notification.objects.filter(emailed_at__isnull=True).exists())

    def test_running_the_worker_twice_sends_nothing_twice(self):
        self.child_report()
        self.worker()
        self.assertEqual(len(self.smtp.messages), 4)
        self.worker()
        self.assertEqual(len(self.smtp.messages), 4)
        # Even a notification queued twice (a retry, a second worker) is emailed once.
        item = Notification.objects.filter(event="report.child").first()
        send_notification_email.enqueue(item.pk)
        self.worker()
        self.assertEqual(len(self.smtp.messages), 4)
        self.assertFalse(send_notification_email.call(item.pk))

    def test_no_email_when_the_rule_says_so_or_the_user_has_no_address(self):
        AlertRule.objects.filter(event="report.child").update(send_email=False)
        User.objects.filter(pk=self.hoi.pk).update(email="")
        self.child_report()
        self.worker()
        self.assertEqual(self.smtp.recipients, ["director@example.invalid"])
        self.assertEqual(Notification.objects.count(), 4)  # everyone still has the alert in Beacon

    def test_a_failed_delivery_is_retried_later(self):
        with self.captureOnCommitCallbacks(execute=True):
            self.report(actor=self.hoi)  # one email: to the director
        with override_settings(EMAIL_PORT=free_port()):  # nothing listens there: the relay is down
            self.worker()
        self.assertEqual(self.smtp.messages, [])
        self.assertTrue(DBTaskResult.objects.filter(status=TaskResultStatus.FAILED).exists())
        self.assertTrue(Notification.objects.get().emailed_at is None)
        retry = DBTaskResult.objects.get(status=TaskResultStatus.READY, task_path=send_notification_email.module_path)
        self.assertGreater(retry.run_after, timezone.now())
        self.worker()
        self.assertEqual(self.smtp.messages, [])  # not yet due
        DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
        self.worker()
        self.assertEqual(self.smtp.recipients, ["director@example.invalid"])

    def test_escalation_reaches_the_deputy_by_email(self):
        self.child_report()
        self.worker()
        self.smtp.clear()
        Notification.objects.filter(event="report.child").update(created_at=F("created_at") - timedelta(minutes=61))
        self.worker()  # the periodic check escalates and queues the email
        self.worker()  # which the next cycle sends
        self.assertEqual(self.smtp.recipients, ["deputy@example.invalid"])
        self.assertNotIn(SURVIVOR, self.smtp.texts()[0])
        self.assertEqual(self.smtp.messages[0]["Subject"], "Beacon: urgent, please acknowledge")


class WorkerTests(AlertTestCase):
    def test_once_runs_the_periodic_checks_and_drains_the_queue(self):
        with self.captureOnCommitCallbacks(execute=True):
            self.report()
        self.assertEqual(self.queued_emails(), 2)
        self.assertIn("3 tasks run.", self.worker())
        done = DBTaskResult.objects.filter(status=TaskResultStatus.SUCCESSFUL)
        self.assertEqual(done.filter(task_path=run_periodic_checks.module_path).count(), 1)
        self.assertEqual(done.filter(task_path=send_notification_email.module_path).count(), 2)
        self.assertFalse(DBTaskResult.objects.ready().exists())

    def test_the_periodic_checks_are_queued_once_however_many_workers(self):
        checks = DBTaskResult.objects.filter(task_path=run_periodic_checks.module_path)
        self.assertTrue(enqueue_periodic_checks())
        self.assertFalse(enqueue_periodic_checks())  # one is already waiting
        checks.update(status=TaskResultStatus.RUNNING, started_at=timezone.now())
        self.assertFalse(enqueue_periodic_checks())  # one is running
        checks.update(status=TaskResultStatus.SUCCESSFUL, finished_at=timezone.now())
        self.assertFalse(enqueue_periodic_checks(min_gap_seconds=60))  # another worker ran them a moment ago
        self.assertTrue(enqueue_periodic_checks())
        self.assertEqual(checks.count(), 2)

    def test_a_check_left_running_by_a_dead_worker_does_not_block_the_next(self):
        self.assertTrue(enqueue_periodic_checks())
        DBTaskResult.objects.update(status=TaskResultStatus.RUNNING, started_at=timezone.now() - timedelta(hours=1))
        self.assertTrue(enqueue_periodic_checks())

    def test_sigterm_stops_the_worker_cleanly(self):
        before = signal.getsignal(signal.SIGTERM)
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
        timer.start()
        try:
            call_command("beacon_worker", "--interval", "0.05", "--periodic-seconds", "3600", stdout=StringIO())
        finally:
            timer.cancel()
        # It returned (rather than the process dying), ran its cycle and put the signal handlers back.
        self.assertEqual(signal.getsignal(signal.SIGTERM), before)
        self.assertTrue(
            DBTaskResult.objects.filter(
                task_path=run_periodic_checks.module_path, status=TaskResultStatus.SUCCESSFUL
            ).exists()
        )


class EscalationTests(AlertTestCase):
    """Urgent alerts left unacknowledged go, once, to the rule's escalation roles."""

    def setUp(self):
        super().setUp()
        self.child = self.report(child_involved=True)
        self.start = timezone.now()

    def escalations(self):
        return Notification.objects.filter(event="alert.escalated")

    def test_escalates_after_the_delay_exactly_once_to_the_deputy(self):
        hoi_copy = Notification.objects.get(event="report.child", recipient=self.hoi)
        actions.acknowledge(hoi_copy, actor=self.hoi)
        self.assertEqual(escalate_unacknowledged(now=self.start + timedelta(minutes=59)), 0)
        self.assertFalse(self.escalations().exists())
        self.assertEqual(escalate_unacknowledged(now=self.start + timedelta(minutes=61)), 1)
        escalation = self.escalations().get()
        self.assertEqual(escalation.recipient, self.deputy)
        self.assertTrue(escalation.urgent)
        self.assertIn("director", escalation.message)  # who did not acknowledge
        self.assertNotIn("hoi", escalation.message)  # who did
        self.assertIn(self.child.reference, escalation.message)
        self.assertEqual(escalation.link, self.child.get_absolute_url())
        # Once: later checks, and the acknowledged copy, never escalate again.
        self.assertEqual(escalate_unacknowledged(now=self.start + timedelta(hours=5)), 0)
        self.assertEqual(self.escalations().count(), 1)
        self.assertFalse(Notification.objects.filter(recipient=self.other_deputy).exists())

    def test_copies_left_unanswered_by_several_people_make_one_escalation(self):
        Notification.objects.filter(event="report.child").update(created_at=F("created_at") - timedelta(minutes=61))
        run_periodic_checks.call()
        escalation = self.escalations().get()
        self.assertEqual(escalation.recipient, self.deputy)
        self.assertIn("director, hoi", escalation.message)
        run_periodic_checks.call()
        self.assertEqual(self.escalations().count(), 1)

    def test_nothing_escalates_when_everyone_acknowledged(self):
        for item in Notification.objects.filter(event="report.child"):
            actions.acknowledge(item, actor=item.recipient)
        self.assertEqual(escalate_unacknowledged(now=self.start + timedelta(hours=2)), 0)
        self.assertFalse(self.escalations().exists())

    def test_alerts_that_are_not_urgent_never_escalate(self):
        self.assertEqual(escalate_unacknowledged(now=self.start + timedelta(days=3)), 1)  # the child alert only
        self.assertFalse(Notification.objects.filter(event="report.created", escalated_at__isnull=False).exists())

    def test_the_rules_escalation_roles_and_delay_apply(self):
        rule = AlertRule.objects.get(event="report.child")
        actions.update_rule(
            rule,
            actor=self.sysadmin,
            version=rule.version,
            escalate_after_minutes=10,
            escalate_to_roles=["analyst", "auditor"],
        )
        self.assertEqual(escalate_unacknowledged(now=self.start + timedelta(minutes=11)), 1)
        self.assertEqual(set(self.escalations().values_list("recipient__username", flat=True)), {"analyst", "auditor"})

    def test_an_escalation_rule_adds_people_to_every_escalation(self):
        actions.create_rule(
            actor=self.director, event="alert.escalated", target_users=[self.analyst], target_roles=["auditor"]
        )
        self.assertEqual(escalate_unacknowledged(now=self.start + timedelta(minutes=61)), 1)
        self.assertEqual(
            set(self.escalations().values_list("recipient__username", flat=True)), {"deputy", "analyst", "auditor"}
        )
        self.assertFalse(self.escalations().filter(urgent=False).exists())


class OverdueTests(AlertTestCase):
    """Overdue acknowledgement and overdue screening alert once (the periodic checks)."""

    def setUp(self):
        super().setUp()
        self.case = self.report()
        self.case = assign_report(self.case, actor=self.hoi, version=self.case.version, investigator=self.investigator)
        self.start = timezone.now()

    def test_overdue_acknowledgement_alerts_once(self):
        self.assertEqual(flag_overdue_reports(now=self.start + timedelta(hours=1)), 0)
        self.assertEqual(flag_overdue_reports(now=self.start + timedelta(hours=25)), 1)
        self.assertEqual(self.recipients("report.ack_overdue"), {"hoi", "investigator"})
        self.assertFalse(Notification.objects.filter(event="report.ack_overdue", urgent=False).exists())
        self.assertEqual(flag_overdue_reports(now=self.start + timedelta(hours=26)), 0)
        self.assertEqual(Notification.objects.filter(event="report.ack_overdue").count(), 2)
        # Left unanswered, it goes to the Director, once.
        self.assertEqual(escalate_unacknowledged(now=self.start + timedelta(hours=3)), 1)
        self.assertEqual(
            set(Notification.objects.filter(event="alert.escalated").values_list("recipient__username", flat=True)),
            {"director"},
        )
        self.assertEqual(escalate_unacknowledged(now=self.start + timedelta(hours=4)), 0)

    def test_overdue_screening_alerts_once(self):
        flag_overdue_reports(now=self.start + timedelta(days=8))
        self.assertEqual(self.recipients("report.screening_overdue"), {"hoi", "investigator"})
        flag_overdue_reports(now=self.start + timedelta(days=9))
        self.assertEqual(Notification.objects.filter(event="report.screening_overdue").count(), 2)
        self.assertEqual(Notification.objects.filter(event="report.ack_overdue").count(), 2)

    def test_the_worker_flags_overdue_reports_once(self):
        Report.objects.filter(pk=self.case.pk).update(ack_due_at=self.start - timedelta(minutes=1))
        self.worker()
        self.worker()
        self.assertEqual(Notification.objects.filter(event="report.ack_overdue").count(), 2)

    def test_an_acknowledged_report_is_not_overdue(self):
        from intake.actions import acknowledge_report

        acknowledge_report(self.case, actor=self.investigator, version=self.case.version)
        self.assertEqual(flag_overdue_reports(now=self.start + timedelta(hours=25)), 0)


def rule_data(rule: AlertRule, **changes) -> dict:
    """The rule's edit form as a browser would submit it, with ``changes``."""
    values = {
        "event": rule.event,
        "target_roles": list(rule.target_roles),
        "target_assignee": rule.target_assignee,
        "target_users": [u.pk for u in rule.target_users.all()],
        "urgent": rule.urgent,
        "send_email": rule.send_email,
        "escalate_after_minutes": rule.escalate_after_minutes,
        "escalate_to_roles": list(rule.escalate_to_roles),
        "is_active": rule.is_active,
        "version": rule.version,
    } | changes
    data = {}
    for name, value in values.items():
        if value is True:
            data[name] = "on"
        elif value not in (False, None):
            data[name] = value
    return data


class RuleListAccess(AccessTestMixin, BeaconTestCase):
    allowed = ("sysadmin", "director")
    forbidden = (
        "investigator",
        "hoi",
        "deputy",
        "analyst",
        "auditor",
        "intake",
        "nobody",
        "other_sysadmin",
        "other_director",
        "shelter",
    )

    def url(self):
        return reverse("alert_rules:list")


class RuleEditAccess(AccessTestMixin, BeaconTestCase):
    allowed = ("sysadmin", "director")
    forbidden = ("investigator", "hoi", "deputy", "auditor", "other_sysadmin", "shelter")

    def url(self):
        return reverse("alert_rules:edit", args=[AlertRule.objects.get(event="report.created").pk])


class RuleEditPostAccess(AccessTestMixin, BeaconTestCase):
    method = "post"
    allowed = ("sysadmin",)
    allowed_status = (302,)
    forbidden = ("investigator", "hoi", "other_director", "shelter")

    def url(self):
        return reverse("alert_rules:edit", args=[AlertRule.objects.get(event="report.created").pk])

    def data(self):
        rule = AlertRule.objects.get(event="report.created")
        return rule_data(rule, target_roles=[*rule.target_roles, "analyst"])

    def test_forbidden_posts_change_nothing(self):
        self.test_users_without_permission_get_403()
        self.assertEqual(AlertRule.objects.get(event="report.created").version, 1)


class RuleCreateAccess(AccessTestMixin, BeaconTestCase):
    allowed = ("sysadmin", "director")
    forbidden = ("investigator", "hoi", "other_sysadmin", "shelter")

    def url(self):
        return reverse("alert_rules:create")


class RulePagesTests(AlertTestCase):
    def setUp(self):
        super().setUp()
        self.rule = AlertRule.objects.get(event="report.created")
        self.client = self.client_for("sysadmin")

    def edit_url(self):
        return reverse("alert_rules:edit", args=[self.rule.pk])

    def test_rules_are_listed_by_event(self):
        response = self.client.get(reverse("alert_rules:list"))
        self.assertContains(response, "<h1", count=1)
        for label in (
            "New report",
            "Report involving a child",
            "Someone in immediate danger",
            "Acknowledgement overdue",
        ):
            self.assertContains(response, label)
        self.assertContains(response, "Head of Investigations")
        self.assertContains(response, self.edit_url())

    def test_adding_a_role_changes_who_is_alerted_and_is_audited(self):
        self.report()
        self.assertNotIn("analyst", self.recipients("report.created"))
        response = self.client.post(
            self.edit_url(), rule_data(self.rule, target_roles=[*self.rule.target_roles, "analyst"])
        )
        self.assertRedirects(response, reverse("alert_rules:list"))
        self.rule.refresh_from_db()
        self.assertEqual(self.rule.target_roles, ["director", "head_of_investigations", "analyst"])
        self.assertEqual(self.rule.version, 2)
        Notification.objects.all().delete()
        self.report()
        self.assertEqual(self.recipients("report.created"), {"director", "hoi", "analyst"})
        event = AuditEvent.objects.get(action="alerts.rule_updated")
        self.assertEqual(
            (event.actor_name, event.object_type, event.object_id), ("sysadmin", "alerts.alertrule", str(self.rule.pk))
        )
        self.assertEqual(event.changed_fields, ["target_roles"])

    def test_a_stale_edit_is_refused_and_changes_nothing(self):
        stale = rule_data(self.rule, target_roles=["analyst"])
        actions.update_rule(self.rule, actor=self.director, version=1, urgent=True)
        response = self.client.post(self.edit_url(), stale)
        self.assertEqual(response.status_code, 409)
        self.assertContains(response, "Someone else changed this record", status_code=409)
        self.rule.refresh_from_db()
        self.assertEqual(
            (self.rule.target_roles, self.rule.urgent, self.rule.version),
            (["director", "head_of_investigations"], True, 2),
        )
        self.assertEqual(AuditEvent.objects.filter(action="alerts.rule_updated").count(), 1)

    def test_a_new_rule_names_a_user(self):
        response = self.client.get(reverse("alert_rules:create") + "?event=decision.recorded")
        self.assertContains(response, '<option value="decision.recorded" selected>')
        data = {"event": "report.created", "target_users": [self.analyst.pk], "send_email": "on", "is_active": "on"}
        response = self.client.post(reverse("alert_rules:create"), data)
        self.assertRedirects(response, reverse("alert_rules:list"))
        rule = AlertRule.objects.get(target_users=self.analyst)
        self.assertEqual(AuditEvent.objects.get(action="alerts.rule_created").object_id, str(rule.pk))
        self.report()
        self.assertEqual(self.recipients("report.created"), {"director", "hoi", "analyst"})
        self.assertEqual(Notification.objects.filter(recipient=self.analyst).count(), 1)

    def test_only_unit_members_can_be_named(self):
        data = {"event": "report.created", "target_users": [self.other_investigator.pk], "is_active": "on"}
        response = self.client.post(reverse("alert_rules:create"), data)
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, "other_investigator")  # not even offered
        self.assertEqual(AlertRule.objects.filter(event="report.created").count(), 1)

    def test_a_rule_must_alert_someone_and_escalate_sensibly(self):
        response = self.client.post(self.edit_url(), rule_data(self.rule, target_roles=[], escalate_after_minutes=30))
        self.assertContains(response, "Choose who is alerted")
        self.assertContains(response, "Only urgent alerts")
        response = self.client.post(self.edit_url(), rule_data(self.rule, urgent=True, escalate_after_minutes=30))
        self.assertContains(response, "Choose the roles to escalate to.")
        self.rule.refresh_from_db()
        self.assertEqual(self.rule.version, 1)

    def test_switching_a_rule_off_stops_its_alerts(self):
        self.client.post(self.edit_url(), rule_data(self.rule, is_active=False))
        self.report()
        self.assertEqual(self.recipients("report.created"), set())

    def test_the_form_is_labelled_and_grouped(self):
        html = self.client.get(self.edit_url()).content.decode()
        self.assertGreaterEqual(html.count("<legend"), 6)
        self.assertEqual(html.count("<fieldset"), html.count("<legend"))
        ids = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\sid="([^"]+)"', html)
        self.assertGreater(len(ids), 20)
        for element_id in ids:
            self.assertIn(f'for="{element_id}"', html, f"#{element_id} has no label")

"""Liveness and readiness (issue #11): /healthz says the process is up, /readyz says it can serve, naming the
checks that fail and nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path
from unittest import mock

from django.db import connections
from django.test import Client, TestCase, override_settings
from django.urls import reverse

CHECKS = {"database", "migrations", "task_queue", "media"}


class ReadinessTests(TestCase):
    databases = {"default", "replica"}

    def setUp(self):
        self.media = tempfile.TemporaryDirectory()
        self.addCleanup(self.media.cleanup)

    def get(self):
        # No virus scanner unless a test names one: "auto" would depend on whether this machine runs clamd.
        with override_settings(MEDIA_ROOT=self.media.name, CLAMAV="off"):
            return Client().get(reverse("readyz"))

    def test_ready_instance_answers_200_with_every_check_ok(self):
        response = self.get()
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"status": "ready", "checks": dict.fromkeys(CHECKS, "ok")})
        self.assertEqual(response["Cache-Control"].split(",")[0], "max-age=0")
        # Nothing of the machine or of the data: no paths, host names or counts.
        self.assertNotIn(self.media.name, response.content.decode())

    def test_needs_no_sign_in(self):
        response = Client().get("/readyz")
        self.assertNotEqual(response.status_code, 302)

    def test_unwritable_media_root_is_not_ready(self):
        with override_settings(MEDIA_ROOT=str(Path(self.media.name) / "missing" / "dir")):
            response = Client().get(reverse("readyz"))
        self.assertEqual(response.status_code, 503)
        body = response.json()
        self.assertEqual(body["status"], "not ready")
        self.assertEqual(body["checks"]["media"], "fail")
        self.assertEqual(body["checks"]["database"], "ok")
        self.assertNotIn("missing", response.content.decode())

    def test_unreachable_task_queue_is_not_ready(self):
        from django_tasks_db.models import DBTaskResult

        with mock.patch.object(DBTaskResult.objects, "exists", side_effect=RuntimeError("no such table")):
            response = self.get()
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["checks"]["task_queue"], "fail")
        self.assertNotIn("no such table", response.content.decode())

    def test_pending_migrations_are_not_ready(self):
        from beacon import views

        with (
            mock.patch.object(views, "_migrated_aliases", set()),
            mock.patch("django.db.migrations.executor.MigrationExecutor.migration_plan", return_value=[("x", False)]),
        ):
            response = self.get()
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["checks"]["migrations"], "fail")

    def test_a_configured_replica_is_checked_too(self):
        with override_settings(STATS_DATABASE="replica"):
            response = self.get()
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["checks"]["replica"], "ok")

        replica = connections["replica"]
        with (
            override_settings(STATS_DATABASE="replica"),
            mock.patch.object(replica, "cursor", side_effect=RuntimeError("replica down")),
        ):
            response = self.get()
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["checks"], {**dict.fromkeys(CHECKS, "ok"), "replica": "fail"})

    def test_a_configured_virus_scanner_that_does_not_answer_is_not_ready(self):
        # Issue #10: uploads are refused while the scanner is down. (tests/test_antivirus.py checks a live clamd.)
        missing = str(Path(self.media.name) / "clamd.ctl")
        with override_settings(MEDIA_ROOT=self.media.name, CLAMAV=f"unix:{missing}"):
            response = Client().get(reverse("readyz"))
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["checks"], {**dict.fromkeys(CHECKS, "ok"), "antivirus": "fail"})
        self.assertNotIn("clamd.ctl", response.content.decode())

    def test_failures_are_logged_by_check_and_class_only(self):
        with (
            override_settings(MEDIA_ROOT="/nonexistent/María Pérez"),
            self.assertLogs("beacon.views", "WARNING") as logs,
        ):
            Client().get(reverse("readyz"))
        self.assertEqual(logs.output, ["WARNING:beacon.views:readiness check media failed: FileNotFoundError"])


class LivenessTests(TestCase):
    def test_healthz_stays_cheap_once_migrated(self):
        Client().get(reverse("healthz"))
        with mock.patch("django.db.migrations.executor.MigrationExecutor.migration_plan") as plan:
            response = Client().get(reverse("healthz"))
        self.assertEqual(response.json(), {"status": "ok"})
        plan.assert_not_called()

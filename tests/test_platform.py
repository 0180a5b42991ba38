"""Settings, health, demo data and the shell (issue #2)."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

from django.core.management import call_command
from django.test import Client, TestCase
from django.urls import reverse

from accounts.models import User
from audit.verify import verify_chain
from directory.models import Agency
from tests.base import BeaconTestCase
from utilities.env import parse_database_url

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "BEACON_ENV": "production",
    "SECRET_KEY": "p" * 20 + "roduction-secret-key-with-enough-entropy-1234567890",
    "BEACON_FIELD_KEYS": "5Kj0Vj1p3nM0pXo0x0c1q5a7f0o8c2l4e6n8s0t2u4w=",
    "BEACON_AUDIT_KEY": "audit-key-for-the-test-run-only",
    "BEACON_BLIND_INDEX_KEY": "blind-index-key-for-the-test-run-only",
    "ALLOWED_HOSTS": "beacon.example.org",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BEACON_", "DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_"))}
    clean.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)


class ProductionModeTests(TestCase):
    def test_refuses_to_start_without_secrets(self):
        for missing in ("SECRET_KEY", "BEACON_FIELD_KEYS", "BEACON_AUDIT_KEY", "ALLOWED_HOSTS"):
            with self.subTest(missing=missing):
                env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
                result = run_manage("check", env=env)
                self.assertNotEqual(result.returncode, 0)
                self.assertIn("ImproperlyConfigured", result.stderr)
                self.assertIn(missing, result.stderr)

    def test_secrets_can_come_from_files(self, tmp=None):
        import tempfile

        with tempfile.NamedTemporaryFile("w", delete=False) as handle:
            handle.write(PRODUCTION_ENV["SECRET_KEY"])
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
        env["SECRET_KEY_FILE"] = handle.name
        result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
        os.unlink(handle.name)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_check_deploy_passes_in_production_mode(self):
        result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_demo_mode_is_refused_in_production(self):
        result = run_manage("check", env={**PRODUCTION_ENV, "BEACON_DEMO_MODE": "1"})
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("BEACON_DEMO_MODE", result.stderr)


class DatabaseUrlTests(TestCase):
    def test_sqlite_default_uses_wal_and_immediate_transactions(self):
        config = parse_database_url("sqlite:///var/x.sqlite3", base_dir=ROOT)
        self.assertEqual(config["NAME"], ROOT / "var/x.sqlite3")
        self.assertIn("journal_mode=WAL", config["OPTIONS"]["init_command"])
        self.assertEqual(config["OPTIONS"]["transaction_mode"], "IMMEDIATE")

    def test_postgres_url(self):
        config = parse_database_url("postgres://bob:s%40cret@db.local:5433/beacon", base_dir=ROOT)
        self.assertEqual(
            (config["ENGINE"], config["USER"], config["PASSWORD"], config["HOST"], config["PORT"], config["NAME"]),
            ("django.db.backends.postgresql", "bob", "s@cret", "db.local", "5433", "beacon"),
        )

    def test_unknown_scheme_is_refused(self):
        from django.core.exceptions import ImproperlyConfigured

        with self.assertRaises(ImproperlyConfigured):
            parse_database_url("mysql://x/y", base_dir=ROOT)


class HealthTests(TestCase):
    def test_healthy_when_migrated(self):
        response = Client().get(reverse("healthz"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"status": "ok"})

    def test_unhealthy_when_not_migrated(self):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            script = (
                "import django; django.setup();"
                "from django.test import Client;"
                "r = Client().get('/healthz'); print(r.status_code, r.json()['status'])"
            )
            env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}}
            env.update({"DATABASE_URL": f"sqlite:///{tmp}/empty.sqlite3", "DJANGO_SETTINGS_MODULE": "beacon.settings", "BEACON_ENV": "test"})
            result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(result.stdout.strip(), "503 migrations pending", result.stderr)


class DemoDataTests(TestCase):
    def test_seed_is_idempotent_and_audited(self):
        call_command("seed_demo", stdout=StringIO())
        counts = (Agency.objects.count(), User.objects.count())
        out = StringIO()
        call_command("seed_demo", stdout=out)
        self.assertEqual(counts, (Agency.objects.count(), User.objects.count()))
        self.assertIn("0 new records", out.getvalue())
        self.assertIn("hoi", out.getvalue())
        self.assertEqual(Agency.objects.filter(is_home_unit=True).count(), 1)
        roles = set(User.objects.values_list("roles__code", flat=True))
        self.assertTrue({"director", "head_of_investigations", "service_provider_staff", "auditor"} <= roles)
        self.assertTrue(verify_chain().ok)
        from intake.choices import Status
        from intake.models import Report

        self.assertEqual(set(Report.objects.values_list("status", flat=True)), set(Status.values))


class ShellTests(BeaconTestCase):
    def test_spanish_switch_translates_the_shell(self):
        client = self.client_for("care")
        response = client.post(reverse("accounts:set_language"), {"language": "es", "next": reverse("home")})
        self.assertEqual(response.status_code, 302)
        page = client.get(reverse("home"))
        self.assertContains(page, 'lang="es"')
        self.assertContains(page, "Mi trabajo")
        self.assertEqual(User.objects.get(pk=self.care.pk).preferred_language, "es")

    def test_language_switch_refuses_offsite_redirects(self):
        response = Client().post(reverse("accounts:set_language"), {"language": "es", "next": "https://evil.example/"})
        self.assertEqual(response["Location"], "/")

    def test_login_page_in_spanish_for_a_spanish_browser(self):
        response = Client().get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="es")
        self.assertContains(response, "Iniciar sesión")

    def test_pages_use_only_vendored_assets_and_no_inline_script(self):
        response = self.client_for("director").get(reverse("home"))
        html = response.content.decode()
        self.assertNotIn("<script>", html)
        self.assertNotRegex(html, r'(src|href)="https?://')
        self.assertIn("/static/vendor/htmx-2.0.11/htmx.min.js", html)
        self.assertEqual(response["Cache-Control"], "no-store")
        self.assertTrue(response["X-Request-ID"])

    def test_home_shows_role_panels(self):
        self.assertContains(self.client_for("sysadmin").get(reverse("home")), "Locked accounts")
        self.assertNotContains(self.client_for("care").get(reverse("home")), "Locked accounts")
        self.assertContains(self.client_for("auditor").get(reverse("home")), "Latest audit events")


class StaticFilesTests(TestCase):
    def test_collectstatic_with_the_manifest_storage_succeeds(self):
        """`make run` and production run collectstatic with hashed names; a vendored file that references a
        missing one (a source map, an image) must fail here, not on a user's machine."""
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            env = {"STATIC_ROOT": tmp, "BEACON_VAR_DIR": tmp}
            result = run_manage("collectstatic", "--noinput", "-v", "0", env=env)
            self.assertEqual(result.returncode, 0, result.stderr[-2000:])
            self.assertTrue((Path(tmp) / "staticfiles.json").exists())

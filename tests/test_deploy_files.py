"""The production files in deploy/ (issue #11) agree with the code: units start commands that exist, nginx
logs no query strings and lets the largest upload through, and the environment example names every setting."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from django.conf import settings
from django.test import SimpleTestCase
from django.urls import reverse

from intake.public import FIELDS_ALLOWANCE
from intake.public_forms import MAX_FILES

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
INSTALL_DIR = "/opt/beacon/"
UNITS = ("beacon-web.service", "beacon-worker@.service", "beacon-backup.service")


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A systemd unit as {section: {key: [values]}}, with backslash continuations joined."""
    text = (DEPLOY / "systemd" / name).read_text().replace("\\\n", " ")
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def command_exists(name: str) -> bool:
    return any(ROOT.glob(f"*/management/commands/{name}.py")) or name in {"migrate", "check", "collectstatic"}


def megabytes(value: str) -> int:
    number, unit_ = re.fullmatch(r"(\d+)([kKmM]?)", value).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024 * 1024}[unit_.lower()]


class SystemdTests(SimpleTestCase):
    def test_every_service_runs_as_beacon_with_the_environment_file_and_hardening(self):
        for name in UNITS:
            with self.subTest(unit=name):
                service = unit(name)["Service"]
                self.assertEqual(service["User"], ["beacon"])
                self.assertEqual(service["EnvironmentFile"], ["/etc/beacon/beacon.env"])
                self.assertEqual(service["WorkingDirectory"], [INSTALL_DIR.rstrip("/")])
                for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome"):
                    self.assertEqual(service[key], ["yes"], key)
                self.assertEqual(service["ProtectSystem"], ["strict"])
                self.assertIn("/var/lib/beacon", service["ReadWritePaths"][0].split())

    def test_exec_start_points_at_files_and_commands_that_exist(self):
        for name in UNITS:
            with self.subTest(unit=name):
                (exec_start,) = unit(name)["Service"]["ExecStart"]
                words = shlex.split(exec_start)
                if words[:2] == ["/bin/sh", "-c"]:
                    words = shlex.split(words[2].removeprefix("exec "))
                program = words[0]
                self.assertTrue(program.startswith(INSTALL_DIR + ".venv/bin/"), program)
                self.assertIn(Path(program).name, {"python", "gunicorn"})
                if Path(program).name == "gunicorn":
                    module, _, attr = words[1].partition(":")
                    source = (ROOT / (module.replace(".", "/") + ".py")).read_text()
                    self.assertIn(f"{attr or 'application'} = ", source)
                    self.assertIn("--workers", words)
                else:
                    script = words[1]
                    self.assertTrue(script.startswith(INSTALL_DIR), script)
                    self.assertTrue((ROOT / script.removeprefix(INSTALL_DIR)).is_file(), script)
                    self.assertTrue(command_exists(words[2]), f"no management command {words[2]}")

    def test_workers_are_a_template_and_the_backup_has_a_timer(self):
        self.assertIn("%i", unit("beacon-worker@.service")["Service"]["ExecStart"][0])
        timer = unit("beacon-backup.timer")
        self.assertEqual(timer["Timer"]["Unit"], ["beacon-backup.service"])
        self.assertTrue((DEPLOY / "systemd" / timer["Timer"]["Unit"][0]).is_file())
        self.assertTrue(timer["Timer"]["OnCalendar"])


class NginxTests(SimpleTestCase):
    conf = (DEPLOY / "nginx" / "beacon.conf").read_text()

    def location(self, path: str) -> str:
        match = re.search(r"location\s+" + re.escape(path) + r"\s*\{(.*?)\}", self.conf, re.S)
        self.assertIsNotNone(match, f"no location {path}")
        return match.group(1)

    def test_access_log_has_paths_without_query_strings(self):
        formats = re.findall(r"log_format\s+\w+\s+(.*?);", self.conf, re.S)
        self.assertTrue(formats)
        for fmt in formats:
            self.assertIn("$uri", fmt)
            for variable in ("$request_uri", "$request ", '$request"', "$args", "$query_string", "$http_referer", "$request_body"):
                self.assertNotIn(variable, fmt)
        logs = re.findall(r"access_log\s+(\S+)(?:\s+(\w+))?;", self.conf)
        self.assertTrue(logs)
        for target, fmt in logs:
            if target != "off":
                self.assertEqual(fmt, "beacon_private", target)

    def test_public_endpoints_are_rate_limited(self):
        for path in (reverse("public:report"), reverse("cooperation:inbox")):
            with self.subTest(path=path):
                self.assertIn("limit_req zone=", self.location(path))

    def test_body_limits_let_the_largest_uploads_through(self):
        overall = megabytes(re.search(r"^\s{4}client_max_body_size\s+(\w+);", self.conf, re.M).group(1))
        self.assertGreaterEqual(overall, settings.CASE_ATTACHMENT_MAX_BYTES + 256 * 1024)
        public = megabytes(re.search(r"client_max_body_size\s+(\w+);", self.location("/report/")).group(1))
        self.assertGreaterEqual(public, MAX_FILES * settings.PUBLIC_FORM_MAX_FILE_BYTES + FIELDS_ALLOWANCE)

    def test_tls_hsts_and_proxy_headers(self):
        self.assertIn("listen 443 ssl", self.conf)
        self.assertRegex(self.conf, r'Strict-Transport-Security "max-age=\d{8,}')
        for header in ("X-Forwarded-For $proxy_add_x_forwarded_for", "X-Forwarded-Proto $scheme", "Host $host"):
            self.assertIn(f"proxy_set_header {header};", self.conf)


class EnvironmentExampleTests(SimpleTestCase):
    def test_every_variable_settings_read_is_in_the_example(self):
        source = (ROOT / "beacon" / "settings.py").read_text()
        names = set(re.findall(r"\benv(?:bool|int|list)?\(\s*\"([A-Z][A-Z0-9_]+)\"", source))
        secrets = re.search(r"_REQUIRED_SECRETS = \(([^)]*)\)", source).group(1)
        names |= set(re.findall(r"\"([A-Z][A-Z0-9_]+)\"", secrets))
        self.assertLessEqual({"DATABASE_URL", "DATABASE_REPLICA_URL", "BEACON_LOG_FORMAT", "SECRET_KEY"}, names)
        example = (DEPLOY / "beacon.env.example").read_text()
        assigned = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.M)
        mentioned = {*assigned, *(name.removesuffix("_FILE") for name in assigned)}
        self.assertEqual(names - mentioned, set())

    def test_production_essentials_are_set_not_commented(self):
        example = (DEPLOY / "beacon.env.example").read_text()
        set_names = {name.removesuffix("_FILE") for name in re.findall(r"^([A-Z][A-Z0-9_]+)=", example, re.M)}
        required = {"BEACON_ENV", "ALLOWED_HOSTS", "DATABASE_URL", "SECRET_KEY", "BEACON_FIELD_KEYS",
                    "BEACON_AUDIT_KEY", "BEACON_BLIND_INDEX_KEY"}  # fmt: skip
        self.assertLessEqual(required, set_names)
        self.assertIn("BEACON_ENV=production", example)

"""Every upload is scanned by ClamAV when a scanner is in use (issue #10), against a real clamd.

The official signature databases need the internet, so this module builds its own: ClamAV's hash signature
format (``.hdb``, ``md5:size:Name``) for the EICAR anti-virus test file, assembled here from parts so that this
source file is not itself a virus signature. clamd is started once for the module from a clamd.conf in a
temporary directory and stopped at the end. The CI installs it (``apt-get install clamav-daemon``); where it is
missing the tests fail and say so rather than skip.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, SimpleTestCase, TestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases.models import CaseAttachment
from directory.models import Agency
from intake.models import Report, ReportAttachment
from investigations.models import Evidence, LogEntry
from referrals.models import ReferralMessage
from tests.base import BeaconTestCase
from tests.test_case_record import open_case_for_tests
from tests.test_referrals import ReferralTestCase
from utilities import antivirus

CLAMD = Path("/usr/sbin/clamd")
# The EICAR test file (https://www.eicar.org), in pieces: the whole 68 bytes exist only in memory.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS" + b"-TEST-FILE!$H+H*"
# The same test virus behind a PDF header, so that it passes the content-type check of the photo/PDF paths.
EICAR_PDF = b"%PDF-1.4\n" + EICAR + b"\n%%EOF\n"
CLEAN_PDF = b"%PDF-1.4\n% a clean statement\n%%EOF\n"
# clamd marks every signature that does not come from ClamAV's own signed databases as UNOFFICIAL.
SIGNATURE = "Beacon-Test-EICAR.UNOFFICIAL"
STREAM_MAX = 1024 * 1024  # clamd's StreamMaxLength here, so the "too large to scan" answer is cheap to provoke
FILE_NAME = "maria-perez-passport.pdf"  # must never reach a log line or an audit row
INFECTED = "the virus scanner found malware in it (Beacon-Test-EICAR.UNOFFICIAL)."
UNANSWERED = "Files cannot be accepted right now because the virus scanner is not answering."

WORK = Path(tempfile.mkdtemp(prefix="beacon-clamd-"))
ADDRESS = f"unix:{WORK / 'clamd.sock'}"
STALE = f"unix:{WORK / 'stale.sock'}"  # a socket file nobody listens on: what a crashed clamd leaves behind
_clamd: dict = {}


def setUpModule():
    assert CLAMD.exists(), (
        f"{CLAMD} is missing: these tests need a real ClamAV daemon. Install it with "
        "`apt-get install clamav-daemon` (the official signature databases are not needed)."
    )
    # pytest-django runs database tests before the others, which can split this module in two: each half
    # starts (and stops) its own clamd.
    work = WORK
    (work / "db").mkdir(parents=True, exist_ok=True)
    (work / "stale.sock").unlink(missing_ok=True)
    with (work / "db" / "beacon-test.hdb").open("w") as db:
        for sample in (EICAR, EICAR_PDF):
            db.write(f"{hashlib.md5(sample).hexdigest()}:{len(sample)}:Beacon-Test-EICAR\n")  # noqa: S324 - ClamAV's format
    conf = work / "clamd.conf"
    conf.write_text(
        f"Foreground yes\nLocalSocket {work / 'clamd.sock'}\nDatabaseDirectory {work / 'db'}\n"
        f"LogFile {work / 'clamd.log'}\nStreamMaxLength {STREAM_MAX}\n"
    )
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(work / "stale.sock"))
    stale.close()
    process = subprocess.Popen([str(CLAMD), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    _clamd.update(
        work=work, process=process, address=f"unix:{work / 'clamd.sock'}", stale=f"unix:{work / 'stale.sock'}"
    )
    scanner = antivirus.Scanner.parse(ADDRESS)
    deadline = time.monotonic() + 20
    while True:
        try:
            scanner.ping()
            return
        except antivirus.ScannerError:
            if process.poll() is not None or time.monotonic() > deadline:
                log = (work / "clamd.log").read_text() if (work / "clamd.log").exists() else ""
                tearDownModule()
                raise AssertionError(f"clamd did not start and answer PING:\n{log[-2000:]}") from None
            time.sleep(0.1)


def tearDownModule():
    process = _clamd.get("process")
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    shutil.rmtree(WORK, ignore_errors=True)


def scanning(address: str | None = None):
    """Settings with the test clamd (or ``address``) as the scanner."""
    return override_settings(CLAMAV=address or ADDRESS)


class MediaMixin:
    """A fresh MEDIA_ROOT per test, so "nothing was stored" can be checked on disk."""

    def setUp(self):
        super().setUp()
        self.media = tempfile.mkdtemp(prefix="beacon-av-media-")
        self.addCleanup(shutil.rmtree, self.media, ignore_errors=True)
        media = override_settings(MEDIA_ROOT=self.media)
        media.enable()
        self.addCleanup(media.disable)

    def stored_files(self) -> list[Path]:
        return [p for p in Path(self.media).rglob("*") if p.is_file()]

    def assertInfectedAudited(self, upload: str, *, actor_name: str = "", obj=None):
        event = AuditEvent.objects.get(action="security.upload_infected", details__upload=upload)
        self.assertEqual(event.details, {"signature": SIGNATURE, "upload": upload})
        self.assertEqual(event.actor_name, actor_name)
        if obj is not None:
            self.assertEqual((event.object_type, event.object_id), ("cases.case", str(obj.pk)))
        self.assertNotIn("maria", str(event.details).lower())

    def assertLogsNoFileName(self, logs):
        self.assertTrue(any(SIGNATURE in line for line in logs.output), logs.output)
        self.assertFalse(any("maria" in line.lower() for line in logs.output), logs.output)


class ClientTests(SimpleTestCase):
    """utilities/antivirus.py against the real clamd: PING, verdicts, the size limit, failures."""

    def setUp(self):
        self.scanner = antivirus.Scanner.parse(ADDRESS)

    def test_ping_and_verdicts(self):
        self.scanner.ping()
        upload = io.BytesIO(b"An ordinary statement.\n" * 1000)
        self.assertIsNone(self.scanner.scan(upload))
        self.assertEqual(upload.tell(), 0)
        self.assertEqual(self.scanner.scan(io.BytesIO(EICAR)), SIGNATURE)
        self.assertEqual(self.scanner.scan(io.BytesIO(EICAR_PDF)), SIGNATURE)

    def test_a_stream_over_clamds_limit_is_not_scanned_and_says_so(self):
        with self.assertRaises(antivirus.TooLargeToScan):
            self.scanner.scan(io.BytesIO(b"\x00" * (STREAM_MAX + 200_000)))
        self.scanner.ping()  # clamd is still fine afterwards

    def test_unreachable_or_silent_scanners_raise(self):
        with self.assertRaises(antivirus.ScannerError):
            antivirus.Scanner.parse(STALE).ping()
        with self.assertRaises(antivirus.ScannerError):
            antivirus.Scanner.parse(STALE).scan(io.BytesIO(EICAR))
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        with self.assertRaises(antivirus.ScannerError):
            antivirus.Scanner.parse(f"tcp:127.0.0.1:{port}").scan(io.BytesIO(EICAR))
        # A listener that accepts and never answers: the timeouts end the wait.
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            accepted = []
            threading.Thread(target=lambda: accepted.append(silent.accept()), daemon=True).start()
            started = time.monotonic()
            with (
                mock.patch.object(antivirus, "SCAN_TIMEOUT", 0.5),
                self.assertRaises(antivirus.ScannerError),
            ):
                antivirus.Scanner.parse(f"tcp:127.0.0.1:{silent.getsockname()[1]}").scan(io.BytesIO(b"x"))
            self.assertLess(time.monotonic() - started, 5)
            for conn, _address in accepted:
                conn.close()

    def test_a_wrong_setting_stops_start_up(self):
        for value, ok in (("tcp:clamav.internal:3310", True), ("unix:/run/clamav/clamd.ctl", True), ("yes", False)):
            with self.subTest(value=value):
                result = subprocess.run(  # noqa: S603
                    [sys.executable, "-c", "import beacon.settings"],
                    env={"BEACON_ENV": "test", "BEACON_CLAMAV": value, "PATH": "/usr/bin:/bin"},
                    cwd=Path(__file__).resolve().parent.parent,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                self.assertEqual(result.returncode == 0, ok, result.stderr[-500:])
                if not ok:
                    self.assertIn(
                        "BEACON_CLAMAV must be auto, off, unix:/path/to/socket or tcp:host:port", result.stderr
                    )


@scanning()
class CaseAttachmentTests(MediaMixin, BeaconTestCase):
    def setUp(self):
        super().setUp()
        self.case = open_case_for_tests(self)
        self.url = reverse("cases:attachment_add", args=[self.case.pk])

    def attach(self, data: bytes, client=None):
        upload = SimpleUploadedFile(FILE_NAME, data, content_type="application/pdf")
        return (client or self.client_for("investigator")).post(self.url, {"upload": upload, "kind": "document"})

    def test_eicar_is_refused_nothing_stored_and_audited(self):
        with self.assertLogs("intake.filetypes", "WARNING") as logs:
            response = self.attach(EICAR_PDF)
        self.assertContains(response, INFECTED)
        self.assertFalse(CaseAttachment.objects.exists())
        self.assertEqual(self.stored_files(), [])
        self.assertInfectedAudited("cases.attachment")
        self.assertLogsNoFileName(logs)

    def test_a_clean_file_is_accepted(self):
        response = self.attach(CLEAN_PDF)
        self.assertEqual(response.status_code, 302)
        self.assertEqual(CaseAttachment.objects.get().size, len(CLEAN_PDF))
        self.assertEqual(len(self.stored_files()), 1)
        self.assertFalse(AuditEvent.objects.filter(action="security.upload_infected").exists())

    def test_a_file_over_clamds_limit_is_refused_as_unscannable(self):
        response = self.attach(b"%PDF-1.4\n" + b"0" * (STREAM_MAX + 1000))
        self.assertContains(response, "This file is too large to be checked for viruses, so it was not accepted.")
        self.assertFalse(CaseAttachment.objects.exists())
        self.assertEqual(self.stored_files(), [])

    def test_a_scanner_that_does_not_answer_refuses_every_upload(self):
        # Configured but not running (a stale socket file), then configured on a TCP port nobody listens on.
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        for address in (STALE, f"tcp:127.0.0.1:{port}"):
            with self.subTest(address=address), scanning(address), self.assertLogs("intake.filetypes", "WARNING"):
                response = self.attach(CLEAN_PDF)
                self.assertContains(response, UNANSWERED)
                self.assertFalse(CaseAttachment.objects.exists())
                self.assertEqual(self.stored_files(), [])

    def test_off_scans_nothing(self):
        with override_settings(CLAMAV="off"):
            response = self.attach(EICAR_PDF)
        self.assertEqual(response.status_code, 302)
        self.assertEqual(CaseAttachment.objects.count(), 1)
        self.assertFalse(AuditEvent.objects.filter(action="security.upload_infected").exists())

    def test_auto_uses_debians_socket_only_when_it_exists(self):
        socket_path = ADDRESS.removeprefix("unix:")
        with override_settings(CLAMAV="auto"), mock.patch.object(antivirus, "DEBIAN_SOCKET", socket_path):
            self.assertContains(self.attach(EICAR_PDF), INFECTED)
        self.assertFalse(CaseAttachment.objects.exists())
        missing = str(Path(self.media) / "no-clamd.ctl")
        with override_settings(CLAMAV="auto"), mock.patch.object(antivirus, "DEBIAN_SOCKET", missing):
            self.assertEqual(self.attach(EICAR_PDF).status_code, 302)
        self.assertEqual(CaseAttachment.objects.count(), 1)


@scanning()
class InvestigationUploadTests(MediaMixin, BeaconTestCase):
    def setUp(self):
        super().setUp()
        self.case = open_case_for_tests(self)

    def add(self, kind: str, data: dict, content: bytes):
        upload = SimpleUploadedFile(FILE_NAME, content, content_type="application/pdf")
        url = reverse("investigations:add", args=[self.case.pk, kind])
        return self.client_for("investigator").post(url, {**data, "upload": upload})

    def log_data(self):
        return {
            "kind": "interview",
            "occurred_on": timezone.localdate().isoformat(),
            "title": "First interview",
            "officers": [self.investigator.pk],
            "outcome": "Describes the compound.",
        }

    def evidence_data(self):
        return {
            "item": "Phone dump",
            "description": "Chat export",
            "found_at": "Back office",
            "seized_by": self.investigator.pk,
            "seized_at": timezone.now().strftime("%Y-%m-%dT%H:%M"),
            "storage_location": "Locker 4",
        }

    def test_eicar_is_refused_on_the_log_and_as_evidence(self):
        with self.assertLogs("intake.filetypes", "WARNING") as logs:
            self.assertContains(self.add("log", self.log_data(), EICAR_PDF), INFECTED, status_code=400)
        self.assertLogsNoFileName(logs)
        self.assertFalse(LogEntry.objects.exists())
        self.assertInfectedAudited("investigations.log_attachment", obj=self.case)

        with self.assertLogs("intake.filetypes", "WARNING"):
            self.assertContains(self.add("evidence", self.evidence_data(), EICAR_PDF), INFECTED, status_code=400)
        self.assertFalse(Evidence.objects.exists())
        self.assertInfectedAudited("investigations.evidence", obj=self.case)
        self.assertEqual(self.stored_files(), [])

    def test_clean_files_are_accepted(self):
        self.assertEqual(self.add("log", self.log_data(), CLEAN_PDF).status_code, 302)
        self.assertEqual(LogEntry.objects.get().attachments.count(), 1)
        self.assertEqual(self.add("evidence", self.evidence_data(), CLEAN_PDF).status_code, 302)
        self.assertEqual(Evidence.objects.count(), 1)


@scanning()
class ReferralMessageTests(MediaMixin, ReferralTestCase):
    def post(self, content: bytes):
        referral = self.referral()
        upload = SimpleUploadedFile(FILE_NAME, content, content_type="application/pdf")
        return self.client_for("care").post(
            reverse("referrals:message_post", args=[referral.pk]),
            {"text": "The letter.", "attachment": upload},
            HTTP_HX_REQUEST="true",
        )

    def test_eicar_is_refused_and_a_clean_file_accepted(self):
        with self.assertLogs("intake.filetypes", "WARNING") as logs:
            response = self.post(EICAR_PDF)
        self.assertEqual(response.status_code, 400)
        self.assertLogsNoFileName(logs)
        self.assertFalse(ReferralMessage.objects.exists())
        self.assertEqual(self.stored_files(), [])
        self.assertInfectedAudited("referrals.message")

        # Sent from the referral page itself (a plain form post), the page it returns to says why.
        referral = self.referral()
        upload = SimpleUploadedFile(FILE_NAME, EICAR_PDF, content_type="application/pdf")
        with self.assertLogs("intake.filetypes", "WARNING"):
            page = self.client_for("care").post(
                reverse("referrals:message_post", args=[referral.pk]),
                {"text": "The letter.", "attachment": upload},
                follow=True,
            )
        self.assertContains(page, INFECTED)
        self.assertFalse(ReferralMessage.objects.exists())

        self.assertEqual(self.post(CLEAN_PDF).status_code, 200)
        self.assertEqual(ReferralMessage.objects.exclude(stored_name="").count(), 1)


@scanning()
class DirectoryAndExchangeTests(MediaMixin, BeaconTestCase):
    def test_terms_of_reference(self):
        agency = Agency.objects.get(pk=self.safe_harbour.pk)
        url = reverse("directory:terms_upload", args=[agency.pk])
        client = self.client_for("hoi")
        with self.assertLogs("intake.filetypes", "WARNING"):
            response = client.post(url, {"upload": SimpleUploadedFile(FILE_NAME, EICAR_PDF), "version": agency.version})
        self.assertContains(response, INFECTED)
        self.assertFalse(Agency.objects.get(pk=agency.pk).terms_stored_name)
        self.assertEqual(self.stored_files(), [])
        self.assertInfectedAudited("directory.terms")
        response = client.post(url, {"upload": SimpleUploadedFile(FILE_NAME, CLEAN_PDF), "version": agency.version})
        self.assertEqual(response.status_code, 302)
        self.assertTrue(Agency.objects.get(pk=agency.pk).terms_stored_name)

    def test_directory_import(self):
        before = Agency.objects.count()
        with self.assertLogs("intake.filetypes", "WARNING"):
            response = self.client_for("hoi").post(
                reverse("directory:import"), {"upload": SimpleUploadedFile("directory.csv", EICAR)}
            )
        self.assertContains(response, INFECTED)
        self.assertEqual(Agency.objects.count(), before)
        self.assertInfectedAudited("directory.import")

    def test_htcds_import(self):
        with self.assertLogs("intake.filetypes", "WARNING"):
            response = self.client_for("director").post(
                reverse("exchange:htcds_import"), {"upload": SimpleUploadedFile("records.csv", EICAR)}
            )
        self.assertContains(response, INFECTED, status_code=400)
        self.assertFalse(AuditEvent.objects.filter(action="exchange.htcds_imported").exists())
        self.assertInfectedAudited("exchange.htcds_import")


@scanning()
class PublicReportTests(MediaMixin, TestCase):
    def submit(self, content: bytes):
        data = {
            "narrative": "Three young women are kept in a bar on the Main Road and are not allowed to leave.",
            "victim_sex": "female",
            "file_1": SimpleUploadedFile(FILE_NAME, content, content_type="application/pdf"),
        }
        return Client(REMOTE_ADDR="203.0.113.9").post("/report/", data)

    def test_eicar_is_refused_and_audited_without_the_senders_address(self):
        with self.assertLogs("intake.filetypes", "WARNING") as logs:
            response = self.submit(EICAR_PDF)
        self.assertContains(response, INFECTED)
        self.assertLogsNoFileName(logs)
        self.assertFalse(Report.objects.exists())
        self.assertFalse(ReportAttachment.objects.exists())
        self.assertEqual(self.stored_files(), [])
        self.assertInfectedAudited("intake.public_report")
        event = AuditEvent.objects.get(action="security.upload_infected")
        self.assertIsNone(event.client_ip)
        self.assertNotIn("203.0.113.9", str(AuditEvent.objects.values_list()))

    def test_a_clean_file_is_accepted_and_a_silent_scanner_refuses(self):
        self.assertContains(self.submit(CLEAN_PDF), "Your report was sent.")
        self.assertEqual(ReportAttachment.objects.count(), 1)
        with scanning(STALE), self.assertLogs("intake.filetypes", "WARNING"):
            self.assertContains(self.submit(CLEAN_PDF), UNANSWERED)
        self.assertEqual(Report.objects.count(), 1)


class ReadinessTests(TestCase):
    databases = {"default", "replica"}

    def get(self):
        with override_settings(MEDIA_ROOT=tempfile.gettempdir()):
            return Client().get(reverse("readyz"))

    def test_a_configured_scanner_is_part_of_readiness(self):
        with scanning():
            response = self.get()
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["checks"]["antivirus"], "ok")
        with scanning(STALE), self.assertLogs("beacon.views", "WARNING") as logs:
            response = self.get()
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["checks"]["antivirus"], "fail")
        self.assertNotIn(STALE, response.content.decode())
        self.assertEqual(logs.output, ["WARNING:beacon.views:readiness check antivirus failed: ScannerError"])
        with override_settings(CLAMAV="off"):
            self.assertNotIn("antivirus", self.get().json()["checks"])


class EveryUploadIsScannedTests(SimpleTestCase):
    """A new form with a file field cannot forget the scan: each one's clean method calls check_upload."""

    NOT_YET: set[str] = set()

    def test_every_file_field_of_every_form_is_checked(self):
        import importlib
        import inspect
        import re

        from django import forms

        root = Path(__file__).resolve().parent.parent
        checked, missing = set(), set()
        for path in sorted(root.glob("*/*forms*.py")):
            module = importlib.import_module(f"{path.parent.name}.{path.stem}")
            for name, cls in vars(module).items():
                if not (inspect.isclass(cls) and issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__):
                    continue
                for field_name, field in cls.base_fields.items():
                    if not isinstance(field, forms.FileField):
                        continue
                    label = f"{module.__name__}.{name}"
                    method = getattr(cls, f"clean_{field_name}", None)
                    source = inspect.getsource(method) if method else ""
                    for helper in re.findall(r"self\.(_\w+)\(", source):
                        source += inspect.getsource(getattr(cls, helper))
                    (checked if "check_upload(" in source else missing).add(label)
        self.assertEqual(missing, self.NOT_YET)
        self.assertLessEqual(
            {
                "cases.forms.AttachmentForm",
                "intake.public_forms.PublicFormBase",
                "referrals.forms.MessageForm",
                "investigations.forms.LogForm",
                "investigations.forms.EvidenceForm",
                "directory.forms.TermsForm",
                "directory.forms.ImportForm",
                "exchange.forms.HTCDSImportForm",
            },
            checked,
        )

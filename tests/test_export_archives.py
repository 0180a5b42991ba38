"""Identifiable exports leave as AES-256 encrypted ZIPs whose password is given separately (issue #10): the
archive helper, the HTCDS export page (password shown once, archive downloaded once by the requester only)
and ``manage.py export_htcds --encrypt``."""

from __future__ import annotations

import csv
import io
import logging
import re
import tempfile
import zipfile
from datetime import timedelta
from pathlib import Path

import pyzipper
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from approvals.choices import Kind as ApprovalKind
from audit.models import AuditEvent
from exchange import actions
from tests import factories
from tests.approval_helpers import approve
from tests.base import BeaconTestCase
from utilities.archive import ALPHABET, encrypted_zip

EXPORT = {"target_type": "exchange.htcds"}
FORMULA = '=HYPERLINK("http://evil.example","x")'
PASSWORD_SHAPE = re.compile(rf"[{ALPHABET}]{{4}}(?:-[{ALPHABET}]{{4}}){{5}}")


def open_zip(content: bytes, password: str | None) -> dict[str, bytes]:
    with pyzipper.AESZipFile(io.BytesIO(content)) as archive:
        if password is not None:
            archive.setpassword(password.encode())
        return {name: archive.read(name) for name in archive.namelist()}


class CapturedLogs(logging.Handler):
    """Every log record of every logger while the test runs, formatted, to look for the password in."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record) + repr(record.args) + repr(getattr(record, "__dict__", {})))


class ArchiveHelperTests(BeaconTestCase):
    def test_archive_opens_with_its_password_only(self):
        content, password = encrypted_zip({"a.csv": b"name\nRosa\n"})
        self.assertRegex(password, PASSWORD_SHAPE)
        self.assertEqual(open_zip(content, password), {"a.csv": b"name\nRosa\n"})
        with self.assertRaises(RuntimeError):  # no password
            open_zip(content, None)
        with self.assertRaises(RuntimeError):  # wrong password
            open_zip(content, encrypted_zip({})[1])
        with zipfile.ZipFile(io.BytesIO(content)) as plain, self.assertRaises((RuntimeError, NotImplementedError)):
            plain.read("a.csv")
        self.assertNotIn(b"Rosa", content)
        info = pyzipper.AESZipFile(io.BytesIO(content)).getinfo("a.csv")
        self.assertEqual(info.wz_aes_strength, 3)  # 3 = AES-256 in the WinZip AES format

    def test_every_archive_gets_a_fresh_password(self):
        passwords = {encrypted_zip({"a": b"x"})[1] for _ in range(20)}
        self.assertEqual(len(passwords), 20)


class ExportPageTests(BeaconTestCase):
    def setUp(self):
        super().setUp()
        media = tempfile.TemporaryDirectory()
        self.addCleanup(media.cleanup)
        self.media = Path(media.name)
        settings = override_settings(MEDIA_ROOT=self.media)
        settings.enable()
        self.addCleanup(settings.disable)
        case = factories.make_case(owner=self.director)
        factories.add_victim(case, given_names="Esperanza", family_names=FORMULA)
        self.url = reverse("exchange:htcds_export")
        self.logs = CapturedLogs()
        root = logging.getLogger()
        old_level = root.level
        root.addHandler(self.logs)
        root.setLevel(logging.DEBUG)
        self.addCleanup(root.removeHandler, self.logs)
        self.addCleanup(root.setLevel, old_level)

    def prepare(self, client, fmt: str = "csv"):
        approve(ApprovalKind.BULK_EXPORT_HTCDS, requester=self.director, approver=self.deputy, **EXPORT)
        page = client.post(self.url, {"format": fmt})
        self.assertEqual(page.status_code, 200)
        self.assertEqual(page["Cache-Control"], "no-store")
        password = PASSWORD_SHAPE.search(page.content.decode()).group(0)
        form = re.search(r'action="(/exchange/htcds/export/archive/[0-9a-f]+/)"', page.content.decode())
        return page, password, form.group(1)

    def test_page_shows_the_password_once_and_serves_the_archive_once(self):
        client = self.client_for("director")
        page, password, download = self.prepare(client)
        self.assertContains(page, "shown this once")
        self.assertNotIn(password, download)
        self.assertEqual(len([p for p in self.media.rglob("*") if p.is_file()]), 1)  # the kept archive
        # Kept encrypted at rest: neither the ZIP's nor the records' bytes are on disk as such.
        stored = next(p for p in self.media.rglob("*") if p.is_file()).read_bytes()
        self.assertFalse(stored.startswith(b"PK"))
        self.assertNotIn(password.encode(), stored)

        response = client.post(download)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/zip")
        self.assertRegex(response["Content-Disposition"], r'^attachment; filename="beacon-htcds-\d{4}-\d\d-\d\d\.zip"$')
        self.assertEqual(response["Cache-Control"], "no-store")
        self.assertNotIn(password.encode(), response.content)
        self.assertNotIn(password, str(response.headers))
        files = open_zip(response.content, password)
        ((name, body),) = files.items()
        self.assertRegex(name, r"^beacon-htcds-\d{4}-\d\d-\d\d\.csv$")
        row = next(csv.DictReader(io.StringIO(body.decode())))
        self.assertEqual(row["prs_FirstName"], "Esperanza")
        self.assertEqual(row["prs_SecondName"], "'" + FORMULA)  # neutralised: a spreadsheet shows it as text
        with self.assertRaises(RuntimeError):
            open_zip(response.content, None)

        # Once: the second download finds nothing, and the file is gone from the disk.
        self.assertEqual(client.post(download).status_code, 404)
        self.assertFalse([p for p in self.media.rglob("*") if p.is_file()])
        # The page does not show the password again; a new export needs a new approval.
        again = client.get(self.url)
        self.assertNotContains(again, password)
        self.assertContains(client.post(self.url, {"format": "csv"}, follow=True), "second person")

        # Audit: the export, the archive (SHA-256) and the download; never the password.
        prepared = AuditEvent.objects.get(action="exchange.htcds_archive_prepared")
        self.assertEqual(prepared.actor_id, self.director.pk)
        self.assertEqual(prepared.details["encryption"], "zip-aes256")
        self.assertRegex(prepared.details["sha256"], r"^[0-9a-f]{64}$")
        downloaded = AuditEvent.objects.get(action="exchange.htcds_archive_downloaded")
        self.assertEqual(downloaded.details["sha256"], prepared.details["sha256"])
        self.assertTrue(AuditEvent.objects.filter(action="exchange.htcds_exported", actor_id=self.director.pk).exists())
        for event in AuditEvent.objects.all():
            self.assertNotIn(password, repr(event.__dict__))
        self.assertEqual(sum("HTCDS export archive" in line for line in self.logs.lines), 2)  # logged ...
        self.assertFalse([line for line in self.logs.lines if password in line])  # ... without the password

    def test_xlsx_inside_the_archive_is_neutralised(self):
        client = self.client_for("director")
        _page, password, download = self.prepare(client, "xlsx")
        response = client.post(download)
        ((name, body),) = open_zip(response.content, password).items()
        self.assertTrue(name.endswith(".xlsx"))
        sheet = load_workbook(io.BytesIO(body)).active
        header = [c.value for c in next(sheet.iter_rows(max_row=1))]
        value = sheet.cell(row=2, column=header.index("prs_SecondName") + 1)
        self.assertEqual(value.value, "'" + FORMULA)
        self.assertNotEqual(value.data_type, "f")

    def test_only_the_requester_can_download(self):
        client = self.client_for("director")
        _page, password, download = self.prepare(client)
        # Another exporter, someone without the permission, the requester in another session: nothing there.
        self.assertEqual(self.client_for("deputy").post(download).status_code, 404)
        self.assertEqual(self.client_for("analyst").post(download).status_code, 403)
        self.assertEqual(self.client_for("director").post(download).status_code, 404)
        self.assertEqual(self.client.post(download).status_code, 302)  # anonymous: to the sign-in page
        self.assertEqual(client.get(download).status_code, 405)  # a link prefetch cannot spend it
        # Still there for the requester, once.
        response = client.post(download)
        self.assertEqual(len(open_zip(response.content, password)), 1)
        self.assertEqual(client.post(download).status_code, 404)

    def test_an_archive_not_downloaded_in_time_is_deleted(self):
        client = self.client_for("director")
        _page, _password, download = self.prepare(client)
        later = timezone.now() + actions.ARCHIVE_TTL + timedelta(minutes=1)
        self.assertEqual(actions.sweep_archives(now=later), 1)
        self.assertEqual(client.post(download).status_code, 404)


class ExportCommandTests(BeaconTestCase):
    def test_command_writes_an_encrypted_zip_and_prints_the_password_apart(self):
        case = factories.make_case(owner=self.director)
        factories.add_victim(case, given_names="Rosa", family_names=FORMULA)
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp, "out.zip")  # .zip: encrypted without asking
            out, err = io.StringIO(), io.StringIO()
            call_command("export_htcds", "--output", str(target), stdout=out, stderr=err)
            password = PASSWORD_SHAPE.search(err.getvalue()).group(0)
            self.assertIn("Exported 1 rows", out.getvalue())
            self.assertNotIn(password, out.getvalue())
            content = target.read_bytes()
            self.assertNotIn(password.encode(), content)
            with self.assertRaises(RuntimeError):
                open_zip(content, None)
            ((name, body),) = open_zip(content, password).items()
            self.assertTrue(name.endswith(".csv"))
            row = next(csv.DictReader(io.StringIO(body.decode())))
            self.assertEqual((row["prs_FirstName"], row["prs_SecondName"]), ("Rosa", "'" + FORMULA))

            xlsx = Path(tmp, "out.bin")
            err = io.StringIO()
            call_command("export_htcds", "--format", "xlsx", "--encrypt", "--output", str(xlsx), stdout=out, stderr=err)
            password = PASSWORD_SHAPE.search(err.getvalue()).group(0)
            ((name, _body),) = open_zip(xlsx.read_bytes(), password).items()
            self.assertTrue(name.endswith(".xlsx"))

            plain = Path(tmp, "plain.zip")
            call_command("export_htcds", "--no-encrypt", "--output", str(plain), stdout=out, stderr=io.StringIO())
            self.assertTrue(plain.read_text().startswith("x_ExternalId,"))
        events = AuditEvent.objects.filter(action="exchange.htcds_archive_prepared", details__via="command")
        self.assertEqual(events.count(), 2)
        self.assertFalse([e for e in AuditEvent.objects.all() if password in repr(e.__dict__)])

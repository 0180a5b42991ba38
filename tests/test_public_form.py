"""The anonymous public report form (issue #3): what a reporter sees, what is stored, and what an abuser,
a bot or a snooping browser can and cannot get out of it."""

from __future__ import annotations

import re
import shutil
import struct
import tempfile
import zlib
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile, SimpleUploadedFile
from django.db import connection
from django.test import Client, TestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from intake import filetypes
from intake.actions import public_code_hash
from intake.models import PublicSubmissionThrottle, Report, ReportAddition, ReportAttachment
from intake.public import address_hash
from tests.base import BeaconTestCase
from utilities.storage import read_encrypted

REPORT_URL = "/report/"
ADD_URL = "/report/add/"
SCRIPT = "<script>alert(1)</script>"
CODE_RE = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b")
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
TEXT_FIELDS = ("narrative", "location_text", "victim_nationality", "victim_language", "named_persons")
CONTACT_TEXT_FIELDS = ("reporter_name", "reporter_phone", "reporter_email")


def png_bytes() -> bytes:
    """A real 1x1 PNG, built here so the test carries no binary fixture."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def pdf_bytes() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def report_data(**overrides) -> dict:
    data = {
        "narrative": "Three young women are kept in a bar on the Main Road and are not allowed to leave.",
        "location_text": "Bar next to the gas station, Main Road",
        "incident_from": "2025-01-10",
        "incident_to": "",
        "victim_count": "3",
        "victim_sex": "female",
        "victim_age_group": "adult",
        "victim_nationality": "Venezuela",
        "victim_language": "Spanish",
        "exploitation": ["sexual", "forced_labour"],
        "immediate_danger": "on",
        "named_persons": "a man called Shorty",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def strip_csrf(body: bytes) -> str:
    return CSRF_RE.sub('name="csrfmiddlewaretoken" value=""', body.decode())


class PublicFormTestCase(TestCase):
    def setUp(self):
        self.media = tempfile.mkdtemp(prefix="beacon-public-test-")
        self.addCleanup(shutil.rmtree, self.media, ignore_errors=True)
        media_override = override_settings(MEDIA_ROOT=self.media)
        media_override.enable()
        self.addCleanup(media_override.disable)

    def submit(self, client: Client | None = None, url: str = REPORT_URL, **kwargs):
        data = kwargs.pop("data", None)
        return (client or self.client).post(url, report_data() if data is None else data, **kwargs)

    def stored_files(self) -> list[Path]:
        return [p for p in Path(self.media).rglob("*") if p.is_file()]

    def assertNothingStored(self):
        self.assertEqual(Report.objects.count(), 0)
        self.assertEqual(ReportAttachment.objects.count(), 0)
        self.assertEqual(self.stored_files(), [])

    def assertSafePage(self, response):
        body = response.content.decode()
        self.assertNotIn("<script", body.lower())
        self.assertNotRegex(body, r"https?://")
        self.assertEqual(response["Cache-Control"], "no-store")
        self.assertIn("default-src 'none'", response["Content-Security-Policy"])
        self.assertIn('href="tel:999"', body)
        self.assertIn("800-4CTU (800-4288)", body)


class FormPageTests(PublicFormTestCase):
    def test_anyone_can_open_the_form_without_signing_in(self):
        response = self.client.get(REPORT_URL)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Report human trafficking")
        self.assertContains(response, 'enctype="multipart/form-data"')
        self.assertContains(response, 'name="csrfmiddlewaretoken"')

    def test_page_has_no_script_and_no_outside_assets_and_is_not_cached(self):
        for url in (REPORT_URL, ADD_URL):
            with self.subTest(url=url):
                self.assertSafePage(self.client.get(url))

    def test_language_switch_is_offered(self):
        response = self.client.get(REPORT_URL)
        self.assertContains(response, f'action="{reverse("accounts:set_language")}"')
        self.assertContains(response, 'value="es"')
        self.assertContains(response, "Español")

    def test_switching_language_as_an_anonymous_visitor(self):
        response = self.client.post(reverse("accounts:set_language"), {"language": "es", "next": REPORT_URL})
        self.assertRedirects(response, REPORT_URL, fetch_redirect_response=False)
        self.assertContains(self.client.get(REPORT_URL), '<html lang="es">')

    def test_honeypot_is_hidden_from_people(self):
        body = self.client.get(REPORT_URL).content.decode()
        block = re.search(r'<div class="d-none" aria-hidden="true">.*?</div>', body, re.S)
        self.assertIsNotNone(block)
        self.assertIn('name="website"', block.group(0))
        self.assertIn('tabindex="-1"', block.group(0))
        self.assertIn('autocomplete="off"', block.group(0))

    def test_other_methods_are_refused(self):
        self.assertEqual(self.client.put(REPORT_URL).status_code, 405)


class SubmissionTests(PublicFormTestCase):
    def test_successful_anonymous_report(self):
        response = self.submit()
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Thank you. Your report was sent.")
        self.assertContains(response, "Keep it secret and safe")
        code = CODE_RE.search(response.content.decode()).group(0)

        report = Report.objects.get()
        self.assertEqual(report.channel, "public_form")
        self.assertEqual(report.public_code_hash, public_code_hash(code))
        self.assertIsNone(report.created_by)
        self.assertTrue(report.reporter_anonymous)
        self.assertEqual((report.reporter_name, report.reporter_phone, report.reporter_email), ("", "", ""))
        self.assertEqual(report.victim_count, 3)
        self.assertEqual(report.victim_sex, "female")
        self.assertEqual(report.victim_age_group, "adult")
        self.assertEqual(report.exploitation, ["sexual", "forced_labour"])
        self.assertTrue(report.immediate_danger)
        self.assertEqual(report.urgency, "urgent")
        self.assertEqual(str(report.incident_from), "2025-01-10")
        self.assertEqual(report.named_persons, "a man called Shorty")
        self.assertSafePage(response)

    def test_narrative_is_encrypted_at_rest(self):
        self.submit()
        with connection.cursor() as cursor:
            cursor.execute("SELECT narrative, named_persons, location_text FROM intake_report")
            raw = " ".join(cursor.fetchone())
        self.assertNotIn("young women", raw)
        self.assertNotIn("Shorty", raw)
        self.assertNotIn("gas station", raw)

    def test_successful_report_in_spanish(self):
        response = self.submit(HTTP_ACCEPT_LANGUAGE="es")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, '<html lang="es">')
        self.assertContains(response, "Ir al contenido principal")
        self.assertEqual(response["Content-Language"], "es")
        self.assertEqual(Report.objects.filter(channel="public_form").count(), 1)

    def test_spanish_errors_are_in_spanish(self):
        response = self.submit(data=report_data(narrative=""), HTTP_ACCEPT_LANGUAGE="es")
        self.assertContains(response, '<html lang="es">')
        self.assertContains(response, "Este campo es obligatorio.")
        self.assertEqual(Report.objects.count(), 0)

    def test_form_and_confirmation_read_in_spanish(self):
        self.assertContains(self.client.get(REPORT_URL, HTTP_ACCEPT_LANGUAGE="es"), "¿Qué pasó?")
        response = self.submit(HTTP_ACCEPT_LANGUAGE="es")
        self.assertContains(response, "Gracias. Su reporte fue enviado.")

    def test_the_code_never_appears_in_a_url_or_redirect(self):
        response = self.submit()
        self.assertEqual(response.status_code, 200)
        self.assertFalse(response.has_header("Location"))
        body = response.content.decode()
        code = CODE_RE.search(body).group(0)
        for attribute in re.findall(r'(?:href|action|src)="([^"]*)"', body):
            self.assertNotIn(code, attribute)
            self.assertNotIn(code.replace("-", ""), attribute)
        self.assertEqual(body.count(code), 1)
        # There is no way back to it: the form's URL shows an empty form.
        self.assertNotContains(self.client.get(REPORT_URL), code)

    def test_confirmation_has_no_language_switch(self):
        # Leaving the confirmation (even to change language) loses the code, so nothing invites it.
        self.assertNotContains(self.submit(), reverse("accounts:set_language"))

    def test_contact_details_are_kept_only_when_the_reporter_agrees(self):
        details = {"reporter_name": "Ana", "reporter_phone": "+1 868 555 0101", "reporter_email": "ana@example.invalid"}
        response = self.submit(data=report_data(**details))
        self.assertContains(response, "did not tick")
        self.assertEqual(Report.objects.count(), 0)

        response = self.submit(data=report_data(contact_me="on", **details))
        self.assertContains(response, "Your report was sent.")
        report = Report.objects.get()
        self.assertFalse(report.reporter_anonymous)
        self.assertEqual(report.reporter_phone, "+1 868 555 0101")
        self.assertEqual(report.reporter_email, "ana@example.invalid")

    def test_asking_for_contact_without_a_way_to_reach_you_is_explained(self):
        response = self.submit(data=report_data(contact_me="on"))
        self.assertContains(response, "give a phone number or an email")
        self.assertEqual(Report.objects.count(), 0)

    def test_choosing_child_marks_the_report_urgent(self):
        self.submit(data=report_data(victim_age_group="child", immediate_danger=None))
        report = Report.objects.get()
        self.assertTrue(report.child_involved)
        self.assertEqual(report.urgency, "urgent")

    def test_only_the_narrative_is_required(self):
        response = self.submit(data={"narrative": "Something is wrong at the farm."})
        self.assertContains(response, "Your report was sent.")
        report = Report.objects.get()
        self.assertEqual((report.victim_sex, report.victim_age_group), ("unknown", "unknown"))

    def test_audit_row_keeps_no_client_address(self):
        self.submit(REMOTE_ADDR="198.51.100.7")
        event = AuditEvent.objects.get(action="intake.public_report_received")
        self.assertIsNone(event.client_ip)
        self.assertFalse(AuditEvent.objects.filter(client_ip="198.51.100.7").exists())


class HostileInputTests(PublicFormTestCase):
    def test_oversized_narrative_is_refused(self):
        response = self.submit(data=report_data(narrative="x" * 5001))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "at most 5000 characters")
        self.assertNothingStored()

    def test_oversized_other_fields_are_refused(self):
        limits = {"location_text": 500, "named_persons": 500, "victim_nationality": 60, "victim_language": 60}
        for field, size in limits.items():
            with self.subTest(field=field):
                self.submit(data=report_data(**{field: "y" * size}))
                self.assertEqual(Report.objects.count(), 1)
                Report.objects.all().delete()
                self.submit(data=report_data(**{field: "y" * (size + 1)}))
                self.assertEqual(Report.objects.count(), 0)
        for field, size in {"reporter_name": 200, "reporter_phone": 30, "reporter_email": 254}.items():
            with self.subTest(field=field):
                contact = {"contact_me": "on", "reporter_phone": "555 0101", field: "9" * (size + 1)}
                response = self.submit(data=report_data(**contact), REMOTE_ADDR="192.0.2.99")
                self.assertIn(field, response.context["form"].errors)
                self.assertEqual(Report.objects.count(), 0)

    def test_script_in_every_text_field_is_stored_as_text_and_never_rendered(self):
        hostile = {name: f"{SCRIPT} {name}" for name in TEXT_FIELDS}
        response = self.submit(
            data=report_data(contact_me="on", reporter_name=SCRIPT, reporter_email="a@example.invalid", **hostile)
        )
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, SCRIPT)
        self.assertSafePage(response)
        report = Report.objects.get()
        for name in TEXT_FIELDS:
            self.assertEqual(getattr(report, name), f"{SCRIPT} {name}")
        self.assertEqual(report.reporter_name, SCRIPT)

    def test_script_is_escaped_when_the_form_is_shown_again(self):
        hostile = {name: SCRIPT for name in TEXT_FIELDS + CONTACT_TEXT_FIELDS}
        response = self.submit(data=report_data(victim_count="many", contact_me="on", **hostile))
        self.assertEqual(Report.objects.count(), 0)
        self.assertNotContains(response, SCRIPT)
        self.assertContains(response, "&lt;script&gt;alert(1)&lt;/script&gt;")
        self.assertSafePage(response)

    def test_script_in_the_addition_form_is_escaped(self):
        response = self.client.post(ADD_URL, {"code": SCRIPT, "text": SCRIPT})
        self.assertNotContains(response, SCRIPT)
        self.assertContains(response, "&lt;script&gt;")

    def test_wrong_types_are_form_errors_and_store_nothing(self):
        cases = {
            "victim_count": "abc",
            "incident_from": "2024-13-45",
            "incident_to": "yesterday",
            "victim_sex": "robot",
            "victim_age_group": "ancient",
            "exploitation": ["sexual", "piracy"],
        }
        for field, value in cases.items():
            with self.subTest(field=field):
                response = self.submit(data=report_data(**{field: value}))
                self.assertEqual(response.status_code, 200)
                self.assertIn(field, response.context["form"].errors)
                self.assertEqual(Report.objects.count(), 0)

    def test_impossible_dates_are_refused(self):
        future = (timezone.localdate() + timedelta(days=30)).isoformat()
        for data in (
            report_data(incident_from=future),
            report_data(incident_from="1800-01-01"),
            report_data(incident_from="2025-02-01", incident_to="2025-01-01"),
            report_data(victim_count="0"),
            report_data(victim_count="-3"),
            report_data(victim_count="1" * 30),
            report_data(contact_me="on", reporter_phone="call me maybe"),
            report_data(contact_me="on", reporter_email="not-an-email"),
        ):
            with self.subTest(data=data):
                response = self.submit(data=data)
                self.assertTrue(response.context["form"].errors)
        self.assertEqual(Report.objects.count(), 0)


class OfficerViewTests(BeaconTestCase):
    """What the form stored, seen by an intake officer: hostile text stays text."""

    def setUp(self):
        self.media = tempfile.mkdtemp(prefix="beacon-public-test-")
        self.addCleanup(shutil.rmtree, self.media, ignore_errors=True)

    def test_officer_sees_escaped_text(self):
        with override_settings(MEDIA_ROOT=self.media):
            self.client.post(REPORT_URL, report_data(**{name: SCRIPT for name in TEXT_FIELDS}))
        report = Report.objects.get()
        response = self.client_for("intake").get(reverse("intake:report_detail", args=[report.pk]))
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, SCRIPT)
        self.assertContains(response, "&lt;script&gt;alert(1)&lt;/script&gt;")


class AttachmentTests(PublicFormTestCase):
    def test_png_and_pdf_are_accepted_and_stored_encrypted(self):
        png, pdf = png_bytes(), pdf_bytes()
        # Declared name and type are wrong on purpose: only the content counts.
        files = {
            "file_1": SimpleUploadedFile("notes.txt", png, content_type="text/html"),
            "file_2": SimpleUploadedFile("statement.pdf", pdf, content_type="application/pdf"),
        }
        response = self.submit(data={**report_data(), **files})
        self.assertContains(response, "Your report was sent.")
        report = Report.objects.get()
        attachments = {a.content_type: a for a in report.attachments.all()}
        self.assertEqual(set(attachments), {"image/png", "application/pdf"})
        self.assertTrue(all(a.from_public for a in attachments.values()))
        self.assertEqual(attachments["image/png"].size, len(png))
        stored = self.stored_files()
        self.assertEqual(len(stored), 2)
        for path in stored:
            raw = path.read_bytes()
            self.assertNotIn(png[:16], raw)
            self.assertNotIn(b"%PDF", raw)
        self.assertEqual(read_encrypted("attachments", attachments["image/png"].stored_name), png)
        self.assertEqual(read_encrypted("attachments", attachments["application/pdf"].stored_name), pdf)
        with connection.cursor() as cursor:
            cursor.execute("SELECT original_name FROM intake_reportattachment")
            self.assertFalse(any("statement" in row[0] for row in cursor.fetchall()))

    def test_disguised_files_are_refused(self):
        disguises = {
            "photo.jpg": b"<html><body><script>alert(1)</script></body></html>",
            "photo2.jpg": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64,
            "doc.pdf": b"#!/bin/sh\nrm -rf /\n",
            "image.png": b"\x7fELF\x02\x01\x01" + b"\x00" * 32,
            "scan.webp": b"RIFF\x00\x00\x00\x00WAVEfmt ",
        }
        for name, content in disguises.items():
            with self.subTest(name=name):
                upload = SimpleUploadedFile(name, content, content_type="image/jpeg")
                response = self.submit(data={**report_data(), "file_1": upload})
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, "Only photos (JPEG, PNG, WebP, GIF) and PDF documents are accepted.")
                self.assertNothingStored()

    def test_one_bad_file_refuses_the_whole_submission(self):
        files = {
            "file_1": SimpleUploadedFile("a.png", png_bytes(), content_type="image/png"),
            "file_2": SimpleUploadedFile("b.jpg", b"<svg onload=alert(1)>", content_type="image/jpeg"),
        }
        self.submit(data={**report_data(), **files})
        self.assertNothingStored()

    @override_settings(PUBLIC_FORM_MAX_FILE_BYTES=1024)
    def test_file_over_the_size_limit_is_refused(self):
        big = png_bytes() + b"\x00" * 2048
        response = self.submit(
            data={**report_data(), "file_1": SimpleUploadedFile("big.png", big, content_type="image/png")}
        )
        self.assertContains(response, "This file is too big.")
        self.assertNothingStored()

    @override_settings(PUBLIC_FORM_MAX_FILE_BYTES=1024)
    def test_request_over_the_total_limit_is_refused_before_reading_it(self):
        huge = png_bytes() + b"\x00" * (400 * 1024)
        response = self.submit(
            data={**report_data(), "file_1": SimpleUploadedFile("huge.png", huge, content_type="image/png")}
        )
        self.assertEqual(response.status_code, 413)
        self.assertContains(response, "too big", status_code=413)
        self.assertSafePage(response)
        self.assertNothingStored()

    @override_settings(FILE_UPLOAD_MAX_MEMORY_SIZE=16)
    def test_uploads_never_touch_the_disk_unencrypted(self):
        # Django would spool a file above FILE_UPLOAD_MAX_MEMORY_SIZE to a plaintext temporary file.
        upload = SimpleUploadedFile("p.png", png_bytes(), content_type="image/png")
        response = self.submit(data={**report_data(), "file_1": upload})
        self.assertContains(response, "Your report was sent.")
        self.assertIsInstance(response.wsgi_request.FILES["file_1"], InMemoryUploadedFile)

    def test_webp_jpeg_and_gif_are_recognised(self):
        self.assertEqual(filetypes.sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF"), "image/jpeg")
        self.assertEqual(filetypes.sniff(b"RIFF\x24\x00\x00\x00WEBPVP8 "), "image/webp")
        self.assertEqual(filetypes.sniff(b"GIF89a\x01\x00\x01\x00"), "image/gif")
        self.assertEqual(filetypes.sniff(b"GIF87a\x01\x00\x01\x00"), "image/gif")
        self.assertIsNone(filetypes.sniff(b""))
        self.assertIsNone(filetypes.sniff(b"<?xml version='1.0'?><svg/>"))


class AddInformationTests(PublicFormTestCase):
    def make_report(self) -> tuple[Report, str]:
        response = self.submit(REMOTE_ADDR="192.0.2.50")
        return Report.objects.get(), CODE_RE.search(response.content.decode()).group(0)

    def test_the_code_adds_information(self):
        report, code = self.make_report()
        response = self.client.post(
            ADD_URL, {"code": code.lower().replace("-", " "), "text": "They were moved to a house in Arima."}
        )
        self.assertContains(response, "Thank you, your information was received.")
        addition = ReportAddition.objects.get()
        self.assertEqual(addition.report, report)
        self.assertTrue(addition.from_public)
        self.assertEqual(addition.text, "They were moved to a house in Arima.")
        self.assertTrue(AuditEvent.objects.filter(action="intake.public_addition", client_ip__isnull=True).exists())
        self.assertSafePage(response)

    def test_a_wrong_code_gets_the_identical_answer(self):
        _report, code = self.make_report()
        wrong = "ZZZZ-ZZZZ-ZZZZ" if code != "ZZZZ-ZZZZ-ZZZZ" else "YYYY-YYYY-YYYY"
        right = self.client.post(ADD_URL, {"code": code, "text": "More details."})
        other = self.client.post(ADD_URL, {"code": wrong, "text": "More details."})
        self.assertEqual(right.status_code, other.status_code)
        self.assertEqual(strip_csrf(right.content), strip_csrf(other.content))
        self.assertEqual(ReportAddition.objects.count(), 1)
        self.assertTrue(AuditEvent.objects.filter(action="intake.public_addition_unmatched").exists())

    def test_the_addition_shows_nothing_of_the_report(self):
        _report, code = self.make_report()
        response = self.client.post(ADD_URL, {"code": code, "text": "More details."})
        for secret in ("young women", "Main Road", "Shorty", "R-"):
            self.assertNotContains(response, secret)
        self.assertNotContains(response, code)

    def test_files_can_be_added_with_the_same_rules(self):
        report, code = self.make_report()
        good = SimpleUploadedFile("p.png", png_bytes(), content_type="image/png")
        self.client.post(ADD_URL, {"code": code, "text": "A photo.", "file_1": good})
        self.assertEqual(report.attachments.count(), 1)
        bad = SimpleUploadedFile("p.jpg", b"<html>not a photo</html>", content_type="image/jpeg")
        response = self.client.post(ADD_URL, {"code": code, "text": "Another.", "file_1": bad})
        self.assertContains(response, "Only photos")
        self.assertEqual(report.attachments.count(), 1)
        self.assertEqual(ReportAddition.objects.count(), 1)

    def test_files_with_a_wrong_code_are_not_kept(self):
        self.make_report()
        good = SimpleUploadedFile("p.png", png_bytes(), content_type="image/png")
        self.client.post(ADD_URL, {"code": "ZZZZ-ZZZZ-ZZZ2", "text": "A photo.", "file_1": good})
        self.assertEqual(ReportAttachment.objects.count(), 0)
        self.assertEqual(self.stored_files(), [])

    def test_a_malformed_code_is_a_form_error_that_reveals_nothing(self):
        response = self.client.post(ADD_URL, {"code": "1234", "text": "More."})
        self.assertContains(response, "A code has 12 letters and numbers")
        self.assertEqual(ReportAddition.objects.count(), 0)

    def test_oversized_addition_is_refused(self):
        _report, code = self.make_report()
        response = self.client.post(ADD_URL, {"code": code, "text": "x" * 5001})
        self.assertContains(response, "at most 5000 characters")
        self.assertEqual(ReportAddition.objects.count(), 0)


class AbuseTests(PublicFormTestCase):
    def test_flooding_from_one_address_is_refused(self):
        limit = settings.PUBLIC_FORM_MAX_PER_HOUR
        for _i in range(limit):
            self.assertContains(self.submit(REMOTE_ADDR="203.0.113.9"), "Your report was sent.")
        response = self.submit(REMOTE_ADDR="203.0.113.9")
        self.assertEqual(response.status_code, 429)
        self.assertContains(response, "Please wait", status_code=429)
        self.assertSafePage(response)  # still shows the emergency numbers
        self.assertEqual(Report.objects.count(), limit)
        # Another address is not affected.
        self.assertContains(self.submit(REMOTE_ADDR="203.0.113.10"), "Your report was sent.")
        self.assertEqual(Report.objects.count(), limit + 1)

    def test_the_limit_lifts_after_an_hour(self):
        limit = settings.PUBLIC_FORM_MAX_PER_HOUR
        for _i in range(limit):
            self.submit(REMOTE_ADDR="203.0.113.9")
        self.assertEqual(self.submit(REMOTE_ADDR="203.0.113.9").status_code, 429)
        PublicSubmissionThrottle.objects.update(at=timezone.now() - timedelta(minutes=61))
        self.assertContains(self.submit(REMOTE_ADDR="203.0.113.9"), "Your report was sent.")
        # Expired rows are not kept.
        self.assertEqual(PublicSubmissionThrottle.objects.count(), 1)

    def test_the_throttle_keeps_no_address(self):
        self.submit(REMOTE_ADDR="203.0.113.9")
        row = PublicSubmissionThrottle.objects.get()
        self.assertNotIn("203.0.113.9", row.address_hash)
        self.assertEqual(len(row.address_hash), 64)

    def test_ipv6_addresses_count_per_subscriber_prefix(self):
        def key(address):
            return address_hash(self.client.get(REPORT_URL, REMOTE_ADDR=address).wsgi_request, "report")

        self.assertEqual(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"))
        self.assertNotEqual(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"))
        self.assertEqual(key("::ffff:192.0.2.1"), key("192.0.2.1"))

    def test_flooding_the_addition_page_is_refused(self):
        limit = settings.PUBLIC_FORM_MAX_PER_HOUR
        for _i in range(limit):
            self.client.post(ADD_URL, {"code": "ZZZZ-ZZZZ-ZZZZ", "text": "spam"}, REMOTE_ADDR="203.0.113.20")
        response = self.client.post(ADD_URL, {"code": "ZZZZ-ZZZZ-ZZZZ", "text": "spam"}, REMOTE_ADDR="203.0.113.20")
        self.assertEqual(response.status_code, 429)
        self.assertContains(response, 'href="tel:999"', status_code=429)

    def test_honeypot_looks_successful_and_stores_nothing(self):
        bot = self.submit(data=report_data(website="http://spam.example"), REMOTE_ADDR="198.51.100.1")
        person = self.submit(REMOTE_ADDR="198.51.100.2")
        self.assertEqual(Report.objects.count(), 1)  # only the person's
        self.assertEqual(bot.status_code, person.status_code)
        self.assertFalse(bot.has_header("Location"))
        bot_code = CODE_RE.search(bot.content.decode()).group(0)
        self.assertFalse(Report.objects.filter(public_code_hash=public_code_hash(bot_code)).exists())
        # Apart from the code itself, the bot sees exactly what a person sees.
        self.assertEqual(CODE_RE.sub("CODE", strip_csrf(bot.content)), CODE_RE.sub("CODE", strip_csrf(person.content)))

    def test_honeypot_on_the_addition_page_stores_nothing(self):
        _report = self.submit()
        code = CODE_RE.search(_report.content.decode()).group(0)
        response = self.client.post(ADD_URL, {"code": code, "text": "bot text", "website": "x"})
        self.assertContains(response, "Thank you, your information was received.")
        self.assertEqual(ReportAddition.objects.count(), 0)

    def test_csrf_protection_stays_on(self):
        client = Client(enforce_csrf_checks=True)
        response = client.post(REPORT_URL, report_data())
        self.assertEqual(response.status_code, 403)
        self.assertContains(response, "was not sent", status_code=403)
        self.assertSafePage(response)
        self.assertNothingStored()
        response = client.post(ADD_URL, {"code": "ZZZZ-ZZZZ-ZZZZ", "text": "x"})
        self.assertEqual(response.status_code, 403)

        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(REPORT_URL).content.decode()).group(
            1
        )
        response = client.post(REPORT_URL, {**report_data(), "csrfmiddlewaretoken": token})
        self.assertContains(response, "Your report was sent.")

"""The court case file (issue #6): compiled in the background, checked by reading the PDF back with pypdf."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta
from io import StringIO

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from pypdf import PdfReader

from alerts.models import Notification
from approvals import actions as approvals
from approvals.models import ApprovalRequest
from audit.models import AuditEvent
from investigations import actions
from investigations.models import CourtFile, Evidence
from investigations.tasks import compile_now
from tests.test_investigations import InvestigationFixture, pdf_bytes, png_bytes
from utilities.storage import read_encrypted, store_encrypted


class CourtFileFixture(InvestigationFixture):
    def setUp(self):
        super().setUp()
        today = timezone.localdate()
        inv = self.investigator
        entry = actions.log_action(
            self.case, actor=inv, officers=[inv], kind="interview", occurred_on=today - timedelta(days=5), title="Victim interview",
            interviewee=self.victim, interpreter_used=True, interpreter_language="Spanish", outcome="She describes the compound at Caroni.",
        )  # fmt: skip
        actions.add_log_attachment(
            entry,
            actor=inv,
            upload=SimpleUploadedFile("s.pdf", pdf_bytes("ATTACHED STATEMENT PAGE"), content_type="application/pdf"),
        )
        actions.record_arrest(
            self.suspect, actor=inv, arrested_on=today - timedelta(days=4), place="Chaguanas", arrested_by="Cpl. Ali"
        )
        self.exhibit_png = self.exhibit(png_bytes(), item="Ledger photo")
        self.exhibit_pdf = self.exhibit(pdf_bytes("EXHIBIT PDF CONTENT"), item="Bank statement")
        transfer = actions.hand_over_evidence(self.exhibit_png, actor=inv, to_user=self.hoi, reason="Forensic lab")
        actions.acknowledge_receipt(transfer, actor=self.hoi)
        court_case = actions.open_court_case(
            self.case, actor=inv, court="High Court", number="CR-77/2026", prosecutor="DPP"
        )
        self.charge = actions.lay_charge(
            self.suspect, actor=inv, offence="Trafficking in persons", statute="Trafficking in Persons Act 2011, s.16", laid_on=today - timedelta(days=3), court_case=court_case
        )  # fmt: skip
        actions.schedule_hearing(court_case, actor=inv, starts_at=timezone.now() + timedelta(days=30), purpose="Trial")
        actions.record_court_order(
            self.case, actor=inv, kind="forfeiture", terms="Forfeit the bar's takings", made_on=today
        )

    def compile(self, who="investigator", **data) -> CourtFile:
        client = self.client_for(who)
        with self.captureOnCommitCallbacks(execute=True):
            response = client.post(self.url("court_file"), data)
        self.assertEqual(response.status_code, 302)
        item = CourtFile.objects.latest("id")
        with self.captureOnCommitCallbacks(execute=True):
            call_command("beacon_worker", "--once", stdout=StringIO())
        item.refresh_from_db()
        self.assertEqual(item.status, "ready", item.error)
        return item

    def text(self, item: CourtFile) -> tuple[list[str], bytes]:
        response = self.client_for("investigator").get(self.url("court_file_download", item.pk))
        self.assertEqual(response.status_code, 200)
        data = response.content
        self.assertEqual(hashlib.sha256(data).hexdigest(), item.sha256)
        return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages], data


class CourtFileContentTests(CourtFileFixture):
    def test_the_court_file_content(self):
        item = self.compile()
        pages, data = self.text(item)
        whole = "\n".join(pages)
        self.assertIn("Court case file", pages[0])
        self.assertIn(self.case.reference, pages[0])
        index = PdfReader(io.BytesIO(data)).pages[1].extract_text(extraction_mode="layout")
        for heading in (
            "Case summary",
            "Chronology",
            "Persons",
            "Statements",
            "Evidence schedule",
            "Charges",
            "Court orders",
            "Attachments",
        ):
            match = re.search(re.escape(heading) + r"[ .]*(\d+)$", index, re.MULTILINE)
            self.assertIsNotNone(match, f"{heading} missing from the index")
            page_number = int(match.group(1))
            self.assertIn(heading, pages[page_number - 1], f"{heading} not on page {page_number}: {index}")
        # Victims by pseudonym only; the suspect is named.
        self.assertIn("Victim A", whole)
        self.assertNotIn("Secreta", whole)
        self.assertNotIn("Maria", whole)
        self.assertIn("Quintero", whole)
        # Hashes and the custody trail.
        flat = re.sub(r"\s", "", whole)
        for exhibit in (self.exhibit_png, self.exhibit_pdf):
            self.assertIn(exhibit.sha256, flat)
        self.assertIn("Forensic lab", whole)
        words = " ".join(whole.split())
        self.assertIn("Trafficking in Persons Act 2011, s.16", words)
        self.assertIn("Forfeit the bar's takings", words)
        self.assertIn("She describes the compound at Caroni.", whole)
        # Attached PDFs are merged in order.
        self.assertIn("ATTACHED STATEMENT PAGE", whole)
        self.assertIn("EXHIBIT PDF CONTENT", whole)
        self.assertLess(whole.index("ATTACHED STATEMENT PAGE"), whole.index("EXHIBIT PDF CONTENT"))
        self.assertEqual(item.pages, len(pages))
        # Stored encrypted, recorded, and the officer is told.
        self.assertEqual(read_encrypted(actions.COURT_FILE_STORE, item.stored_name), data)
        self.assertTrue(
            Notification.objects.filter(recipient=self.investigator, event="investigation.court_file_ready").exists()
        )
        self.assertTrue(AuditEvent.objects.filter(action="investigations.court_file_downloaded").exists())

    def test_identities_are_revealed_only_with_a_recorded_reason(self):
        response = self.client_for("investigator").post(self.url("court_file"), {"reveal_identity": "on", "reason": ""})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(CourtFile.objects.exists())
        # Issue #10: the first request goes to the approvers (nothing compiled); once approved, it compiles.
        response = self.client_for("investigator").post(self.url("court_file"), {"reveal_identity": "on", "reason": "Ordered by the court for the trial bundle"}, follow=True)
        self.assertContains(response, "second person")
        self.assertFalse(CourtFile.objects.exists())
        request = ApprovalRequest.objects.get(kind="court_file_reveal", target_id=str(self.case.pk))
        approvals.approve(request, actor=self.director, version=request.version)
        item = self.compile(reveal_identity="on", reason="Ordered by the court for the trial bundle")
        request.refresh_from_db()
        self.assertEqual(request.status, "used")
        pages, _data = self.text(item)
        self.assertIn("Maria Secreta", "\n".join(pages))
        self.assertEqual(item.reveal_reason, "Ordered by the court for the trial bundle")
        event = AuditEvent.objects.get(action="investigations.court_file_requested")
        self.assertEqual((event.details["reveal_identity"], event.changed_fields), (True, ["reveal_reason"]))
        self.assertNotIn("Ordered by the court", str(event.details))

    def test_the_same_data_gives_the_same_file(self):
        first = self.compile()
        second = self.compile()
        self.assertEqual(first.sha256, second.sha256)
        self.assertNotEqual(first.stored_name, second.stored_name)
        actions.record_court_order(
            self.case, actor=self.investigator, kind="protection", terms="No contact", made_on=timezone.localdate()
        )
        self.assertNotEqual(self.compile().sha256, first.sha256)

    def test_a_tampered_exhibit_is_detected_on_compile(self):
        store_encrypted(actions.EVIDENCE_STORE, self.exhibit_pdf.stored_name, pdf_bytes("FORGED CONTENT"))
        item = self.compile()
        whole = "\n".join(self.text(item)[0])
        self.assertIn("EVIDENCE CHAIN BROKEN", whole)
        self.assertNotIn("FORGED CONTENT", whole)
        self.assertIsNotNone(Evidence.objects.get(pk=self.exhibit_pdf.pk).broken_at)
        self.assertTrue(
            AuditEvent.objects.filter(
                action="investigations.evidence_chain_broken", details__used_for="court_file"
            ).exists()
        )
        self.assertEqual(
            set(
                Notification.objects.filter(event="investigation.evidence_broken").values_list(
                    "recipient__username", flat=True
                )
            ),
            {"director", "hoi"},
        )
        self.assertEqual(item.options["broken_exhibits"], [self.exhibit_pdf.reference])


class CourtFileProgressAndAccessTests(CourtFileFixture):
    def test_status_fragment_polls_until_ready(self):
        client = self.client_for("investigator")
        with self.captureOnCommitCallbacks(execute=False):
            client.post(self.url("court_file"), {})
        item = CourtFile.objects.get()
        fragment = client.get(self.url("court_file_status", item.pk))
        self.assertContains(fragment, 'hx-trigger="every 2s"')
        self.assertContains(fragment, "Queued")
        self.assertTrue(compile_now(item.pk))
        self.assertFalse(compile_now(item.pk))  # idempotent
        fragment = client.get(self.url("court_file_status", item.pk))
        self.assertNotContains(fragment, "hx-trigger")
        self.assertContains(fragment, "Download the PDF")

    def test_download_is_for_the_investigation_side_only(self):
        item = self.compile()
        for name in ("director", "hoi"):
            self.assertEqual(self.client_for(name).get(self.url("court_file_download", item.pk)).status_code, 200)
        for name in ("care", "investigator2", "shelter", "other_investigator"):
            self.assertEqual(self.client_for(name).get(self.url("court_file_download", item.pk)).status_code, 404, name)
            self.assertEqual(self.client_for(name).post(self.url("court_file"), {}).status_code, 404, name)

"""Investigation, prosecution and court (issue #6): an investigation built to a conviction through the pages,
the chain of custody and its hashes, who sees what, and the periodic alerts."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from alerts.models import Notification
from audit import log as audit
from audit.models import AuditEvent
from cases import actions as cases
from investigations import actions
from investigations.models import Charge, CourtCase, CustodyTransfer, Evidence, Hearing, LogEntry, SuspectStatus
from tests.base import AccessTestMixin
from tests.test_case_record import CaseTestCase, add_suspect, open_case_for_tests
from utilities.storage import store_encrypted

HIDDEN = ("care", "investigator2", "shelter", "refuge", "other_investigator", "other_director", "nobody")


def png_bytes(colour=(200, 30, 30)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, format="PNG")
    return out.getvalue()


def pdf_bytes(text: str) -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, invariant=1)
    pdf.drawString(72, 720, text)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


class InvestigationFixture(CaseTestCase):
    """A case owned by ``investigator`` with victim "Victim A" (real name Maria Secreta), suspect "Suspect 1"
    (Rudolfo Quintero); ``care`` on the team as care officer."""

    def setUp(self):
        self.case = open_case_for_tests(self)
        self.victim = self.case.persons.get(role="victim")
        person = self.victim.person
        cases.update_person(
            self.victim, actor=self.investigator, version=person.version, given_names="Maria", family_names="Secreta"
        )
        self.suspect = add_suspect(self.case, self.investigator)
        cases.add_team_member(self.case, actor=self.investigator, user=self.care, role="care")

    def url(self, name="overview", *args):
        return reverse(f"investigations:{name}", args=[self.case.pk, *args])

    def post(self, who, kind, data, files=None, status=302):
        response = self.client_for(who).post(self.url("add", kind), {**data, **(files or {})})
        self.assertEqual(
            response.status_code,
            status,
            getattr(response, "context", {}) and response.context.get("form") and response.context["form"].errors,
        )
        return response

    def exhibit(self, data: bytes = b"", **fields) -> Evidence:
        upload = SimpleUploadedFile("phone-dump.png", data or png_bytes(), content_type="image/png")
        values = {
            "item": "Mobile phone",
            "description": "Seized from the bar",
            "seized_by": self.investigator,
            "seized_at": timezone.now(),
        }
        return actions.register_evidence(self.case, actor=self.investigator, upload=upload, **(values | fields))


class InvestigationToConvictionTests(InvestigationFixture):
    def test_an_investigation_through_the_pages_to_a_conviction(self):
        today = timezone.localdate()
        statement = SimpleUploadedFile("statement.pdf", pdf_bytes("Statement"), content_type="application/pdf")
        self.post("investigator", "log", {
            "kind": "interview", "occurred_on": today.isoformat(), "title": "First interview", "officers": [self.investigator.pk],
            "interviewee": self.victim.pk, "interpreter_used": "on", "interpreter_language": "Spanish", "outcome": "Describes the compound.",
        }, {"upload": statement})  # fmt: skip
        entry = LogEntry.objects.get(case=self.case)
        self.assertEqual(
            (entry.interpreter_language, entry.outcome, entry.attachments.count()),
            ("Spanish", "Describes the compound.", 1),
        )
        self.post(
            "investigator",
            "task",
            {
                "title": "Trace the bank account",
                "owner": self.investigator.pk,
                "due_on": today.isoformat(),
                "status": "open",
            },
        )

        self.post(
            "investigator",
            "arrest",
            {
                "suspect": self.suspect.pk,
                "arrested_on": today.isoformat(),
                "place": "Port of Spain",
                "arrested_by": "Cpl. Ali",
            },
        )
        self.assertEqual(SuspectStatus.objects.get(suspect=self.suspect).custody_status, "in_custody")
        arrested = set(
            Notification.objects.filter(event="investigation.suspect_arrested").values_list(
                "recipient__username", flat=True
            )
        )
        self.assertEqual(arrested, {"director", "hoi"})
        self.post(
            "investigator",
            "bail",
            {"suspect": self.suspect.pk, "granted_on": today.isoformat(), "terms": "Report weekly"},
        )
        self.assertEqual(SuspectStatus.objects.get(suspect=self.suspect).custody_status, "on_bail")

        data = png_bytes()
        self.post("investigator", "evidence", {
            "item": "Ledger photo", "description": "Wages ledger", "found_at": "Back office", "seized_by": self.investigator.pk,
            "seized_at": timezone.now().strftime("%Y-%m-%dT%H:%M"), "storage_location": "Locker 4",
        }, {"upload": SimpleUploadedFile("ledger.png", data, content_type="image/png")})  # fmt: skip
        exhibit = Evidence.objects.get(case=self.case)
        self.assertEqual(
            (exhibit.reference, exhibit.sha256, exhibit.holder),
            ("E-001", hashlib.sha256(data).hexdigest(), self.investigator),
        )
        self.assertEqual(exhibit.description, "Wages ledger")

        self.post(
            "investigator",
            "mla",
            {
                "country": "VE",
                "authority": "Fiscalía",
                "request": "Bank records",
                "legal_basis": "MLA Treaty",
                "status": "sent",
                "sent_on": today.isoformat(),
            },
        )
        self.post(
            "investigator",
            "court_case",
            {"court": "Port of Spain Magistrates' Court", "number": "POS-123/2026", "prosecutor": "DPP"},
        )
        court_case = CourtCase.objects.get(case=self.case)
        self.post("investigator", "charge", {
            "suspect": self.suspect.pk, "offence": "Trafficking in persons", "statute": "Trafficking in Persons Act 2011, s.16",
            "laid_on": today.isoformat(), "prosecutor": "DPP", "court_case": court_case.pk,
        })  # fmt: skip
        self.assertEqual(
            set(
                Notification.objects.filter(event="investigation.charge_laid").values_list(
                    "recipient__username", flat=True
                )
            ),
            {"director", "hoi"},
        )
        starts = timezone.localtime() + timedelta(days=20)
        self.post(
            "investigator",
            "hearing",
            {"court_case": court_case.pk, "starts_at": starts.strftime("%Y-%m-%dT%H:%M"), "purpose": "Trial"},
        )
        self.assertEqual(Hearing.objects.get().court, "Port of Spain Magistrates' Court")
        self.post(
            "investigator",
            "order",
            {
                "kind": "protection",
                "terms": "No contact with the victim",
                "made_on": today.isoformat(),
                "expires_on": (today + timedelta(days=365)).isoformat(),
            },
        )
        self.post(
            "investigator",
            "participation",
            {
                "victim": self.victim.pk,
                "agreed": "yes",
                "agreed_on": today.isoformat(),
                "support": "Transport",
                "special_measures": ["screen", "video_link"],
            },
        )

        charge = Charge.objects.get()
        outcome = {
            "outcome": "conviction",
            "outcome_on": today.isoformat(),
            "sentence": "15 years",
            "compensation": "50000.00",
            "appeal": "none",
            "version": charge.version,
        }
        client = self.client_for("investigator")
        self.assertEqual(client.post(self.url("edit", "outcome", charge.pk), outcome).status_code, 302)
        charge.refresh_from_db()
        self.assertEqual(
            (charge.outcome, charge.sentence, str(charge.compensation)), ("conviction", "15 years", "50000.00")
        )
        # A stale form changes nothing and says so.
        stale = client.post(self.url("edit", "outcome", charge.pk), {**outcome, "outcome": "acquittal"})
        self.assertEqual(stale.status_code, 409)
        charge.refresh_from_db()
        self.assertEqual(charge.outcome, "conviction")

        page = client.get(self.url("court"))
        self.assertContains(page, "Conviction")
        self.assertContains(page, "Trafficking in Persons Act 2011, s.16")
        self.assertContains(client.get(self.url("suspects")), "Port of Spain")
        self.assertContains(client.get(self.url("evidence")), exhibit.sha256)
        self.assertContains(client.get(self.url("mla")), "Fiscalía")
        self.assertContains(client.get(self.url()), "First interview")
        # The outcome is stored encrypted, never in clear.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT sentence FROM investigations_charge WHERE id = %s", [charge.pk])
            self.assertNotIn("15 years", cursor.fetchone()[0])

    def test_validation_errors_are_shown_on_the_form(self):
        response = self.post("investigator", "charge", {"suspect": self.victim.pk, "offence": ""}, status=400)
        self.assertContains(response, "is-invalid", status_code=400)


class CustodyTests(InvestigationFixture):
    def test_hand_over_needs_the_receivers_acknowledgement(self):
        exhibit = self.exhibit()
        client = self.client_for("investigator")
        response = client.post(self.url("hand_over", exhibit.pk), {"to_user": self.hoi.pk, "reason": "For the lab"})
        self.assertEqual(response.status_code, 302)
        transfer = CustodyTransfer.objects.get()
        exhibit.refresh_from_db()
        self.assertEqual((exhibit.holder, transfer.acknowledged_at), (self.investigator, None))
        # Only the receiver acknowledges.
        self.assertEqual(client.post(self.url("acknowledge", transfer.pk)).status_code, 403)
        self.assertEqual(self.client_for("investigator2").post(self.url("acknowledge", transfer.pk)).status_code, 404)
        hoi = self.client_for("hoi")
        self.assertContains(hoi.get(self.url("evidence")), "I have received this exhibit")
        self.assertEqual(hoi.post(self.url("acknowledge", transfer.pk)).status_code, 302)
        transfer.refresh_from_db()
        exhibit.refresh_from_db()
        self.assertIsNotNone(transfer.acknowledged_at)
        self.assertEqual(exhibit.holder, self.hoi)
        self.assertTrue(AuditEvent.objects.filter(action="investigations.evidence_received", actor_name="hoi").exists())

    def test_download_rechecks_the_hash(self):
        data = png_bytes()
        exhibit = self.exhibit(data)
        response = self.client_for("investigator").get(self.url("evidence_download", exhibit.pk))
        self.assertEqual((response.status_code, response.content), (200, data))
        self.assertTrue(AuditEvent.objects.filter(action="investigations.evidence_downloaded").exists())

    def test_a_tampered_file_is_detected_on_download_flagged_audited_and_alerted_once(self):
        exhibit = self.exhibit()
        store_encrypted(actions.EVIDENCE_STORE, exhibit.stored_name, png_bytes((0, 0, 255)))
        client = self.client_for("investigator")
        response = client.get(self.url("evidence_download", exhibit.pk))
        self.assertContains(response, "Evidence chain broken", status_code=409)
        exhibit.refresh_from_db()
        self.assertIsNotNone(exhibit.broken_at)
        alerts = Notification.objects.filter(event="investigation.evidence_broken")
        self.assertEqual(set(alerts.values_list("recipient__username", flat=True)), {"director", "hoi"})
        self.assertTrue(all(alerts.values_list("urgent", flat=True)))
        client.get(self.url("evidence_download", exhibit.pk))
        self.assertEqual(AuditEvent.objects.filter(action="investigations.evidence_chain_broken").count(), 2)
        self.assertEqual(alerts.count(), 2)  # once each for director and hoi, not again
        self.assertContains(client.get(self.url("evidence")), "Evidence chain broken")


class InvestigationPageAccess(AccessTestMixin, InvestigationFixture):
    allowed = ("investigator", "director", "deputy", "hoi")
    hidden = HIDDEN

    def url(self, name="overview", *args):
        return reverse(f"investigations:{name}", args=[self.case.pk, *args])


class EvidencePageAccess(InvestigationPageAccess):
    def url(self, name="evidence", *args):
        return super().url(name, *args)


class SuspectsPageAccess(InvestigationPageAccess):
    def url(self, name="suspects", *args):
        return super().url(name, *args)


class MLAPageAccess(InvestigationPageAccess):
    def url(self, name="mla", *args):
        return super().url(name, *args)


class CourtPageAccess(InvestigationPageAccess):
    def url(self, name="court", *args):
        return super().url(name, *args)


class AddFormAccess(InvestigationPageAccess):
    def url(self, name="add", *args):
        return super().url(name, "evidence")


class CourtDatesAccess(AccessTestMixin, InvestigationFixture):
    allowed = ("care", "investigator", "director", "hoi")
    hidden = ("investigator2", "shelter", "refuge", "other_investigator", "nobody")

    def url(self):
        return reverse("investigations:court_dates", args=[self.case.pk])


class WhoSeesWhatTests(InvestigationFixture):
    def test_care_officer_sees_court_dates_only(self):
        court_case = actions.open_court_case(self.case, actor=self.investigator, court="High Court", number="CR-9")
        actions.schedule_hearing(
            court_case,
            actor=self.investigator,
            starts_at=timezone.now() + timedelta(days=3),
            purpose="Victim testifies",
        )
        care = self.client_for("care")
        page = care.get(self.url("court_dates"))
        self.assertContains(page, "Victim testifies")
        self.assertNotContains(page, "Investigation log")
        self.assertContains(care.get(reverse("investigations:calendar")), "Victim testifies")
        self.assertNotContains(
            self.client_for("investigator2").get(reverse("investigations:calendar")), "Victim testifies"
        )
        for name in ("overview", "evidence", "suspects", "court", "mla", "court_file"):
            self.assertEqual(care.get(self.url(name)).status_code, 404, name)

    def test_a_suspect_handler_on_the_team_sees_the_investigation(self):
        cases.add_team_member(self.case, actor=self.investigator, user=self.investigator2, role="suspect_handler")
        self.assertEqual(self.client_for("investigator2").get(self.url("evidence")).status_code, 200)

    def test_every_read_is_audited(self):
        self.client_for("director").get(self.url("evidence"))
        event = AuditEvent.objects.filter(action="investigations.viewed").latest("id")
        self.assertEqual(
            (event.actor_name, event.object_id, event.details["page"]), ("director", str(self.case.pk), "evidence")
        )

    def test_actions_refuse_users_without_access(self):
        from django.core.exceptions import PermissionDenied

        with self.assertRaises(PermissionDenied):
            actions.register_evidence(
                self.case, actor=self.care, item="x", seized_by=self.care, seized_at=timezone.now()
            )


class PeriodicAlertTests(InvestigationFixture):
    def recipients(self, event):
        return sorted(Notification.objects.filter(event=event).values_list("recipient__username", flat=True))

    def test_hearing_reminder_goes_once_to_team_and_leadership(self):
        court_case = actions.open_court_case(self.case, actor=self.investigator, court="High Court", number="CR-9")
        actions.schedule_hearing(
            court_case, actor=self.investigator, starts_at=timezone.now() + timedelta(days=6), purpose="Trial"
        )
        actions.schedule_hearing(
            court_case, actor=self.investigator, starts_at=timezone.now() + timedelta(days=10), purpose="Sentencing"
        )
        self.assertEqual(actions.flag_upcoming_hearings(), 1)
        self.assertEqual(self.recipients("investigation.hearing_soon"), ["care", "director", "hoi", "investigator"])
        self.assertEqual(actions.flag_upcoming_hearings(), 0)
        self.assertEqual(len(self.recipients("investigation.hearing_soon")), 4)
        self.assertEqual(actions.flag_upcoming_hearings(now=timezone.now() + timedelta(days=4)), 1)

    def test_order_expiry_alert_once_14_days_ahead(self):
        today = timezone.localdate()
        actions.record_court_order(
            self.case,
            actor=self.investigator,
            kind="restraint",
            terms="Freeze account",
            made_on=today,
            expires_on=today + timedelta(days=13),
        )
        actions.record_court_order(
            self.case,
            actor=self.investigator,
            kind="protection",
            terms="No contact",
            made_on=today,
            expires_on=today + timedelta(days=30),
        )
        self.assertEqual(actions.flag_expiring_orders(), 1)
        self.assertEqual(actions.flag_expiring_orders(), 0)
        self.assertIn("director", self.recipients("investigation.order_expiring"))
        self.assertIn("investigator", self.recipients("investigation.order_expiring"))  # the case owner

    def test_case_inactive_for_30_days_alerts_once_per_period(self):
        later = timezone.now() + timedelta(days=31)
        self.assertEqual(actions.flag_inactive_cases(now=timezone.now()), 0)
        self.assertEqual(actions.flag_inactive_cases(now=later), 1)
        self.assertEqual(actions.flag_inactive_cases(now=later + timedelta(days=1)), 0)
        self.assertEqual(self.recipients("investigation.case_inactive"), ["director", "hoi", "investigator"])
        audit.record("cases.case_viewed", actor=self.investigator, obj=self.case)
        self.assertEqual(actions.flag_inactive_cases(now=later + timedelta(days=40)), 1)

    def test_the_periodic_checks_run_them(self):
        from alerts.tasks import run_periodic_checks

        court_case = actions.open_court_case(self.case, actor=self.investigator, court="High Court", number="CR-9")
        actions.schedule_hearing(
            court_case, actor=self.investigator, starts_at=timezone.now() + timedelta(days=2), purpose="Trial"
        )
        result = run_periodic_checks.call()
        self.assertEqual(result["investigations"]["hearings"], 1)

    def test_stale_edits_are_refused(self):
        from utilities.locking import StaleVersion

        court_case = actions.open_court_case(self.case, actor=self.investigator, court="High Court", number="CR-9")
        actions.update_record(court_case, actor=self.investigator, version=1, number="CR-10")
        with self.assertRaises(StaleVersion):
            actions.update_record(CourtCase.objects.get(), actor=self.hoi, version=1, number="CR-11")
        self.assertEqual(CourtCase.objects.get().number, "CR-10")


class FormPagesTests(InvestigationFixture):
    def test_every_form_page_renders_with_labels(self):
        from investigations.views import KINDS

        client = self.client_for("investigator")
        for kind, spec in KINDS.items():
            if spec.add is not None:
                with self.subTest(kind=kind):
                    self.assertContains(client.get(self.url("add", kind)), "<label", msg_prefix=kind)
        court_case = actions.open_court_case(self.case, actor=self.investigator, court="High Court", number="CR-9")
        hearing = actions.schedule_hearing(
            court_case, actor=self.investigator, starts_at=timezone.now(), purpose="Trial"
        )
        self.assertContains(client.get(self.url("edit", "hearing", hearing.pk)), 'name="version"')
        self.assertEqual(self.client_for("care").get(self.url("edit", "hearing", hearing.pk)).status_code, 404)

"""Issue #13 part 2: the vetted interpreter roster, bookings and the regional share."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from interpreters import actions
from interpreters.choices import VettingStatus
from interpreters.models import Booking, Interpreter
from tests.base import BeaconTestCase

TODAY = timezone.localdate()
NEXT_YEAR = TODAY + datetime.timedelta(days=365)


def make_interpreter(**overrides) -> Interpreter:
    fields = {
        "name": "Maria Gomez", "contact": "+1 868 555 0101 maria@example.invalid", "languages": ["es", "en"],
        "dialects": "Venezuelan Spanish", "vetting_status": VettingStatus.VETTED, "vetting_expires": NEXT_YEAR,
        "agreement_on_file": True, "agreement_signed_on": TODAY, "areas": "Port of Spain",
        "conflicts": "Cousin works at the Caracas consulate",
    }  # fmt: skip
    fields.update(overrides)
    return Interpreter.objects.create(**fields)


class VettingRuleTests(BeaconTestCase):
    def _book(self, interpreter):
        return actions.book_interpreter(
            interpreter, actor=self.investigator, kind="interview", purpose="Victim interview", date=TODAY,
            case_reference="CASE-12",
        )  # fmt: skip

    def test_vetted_interpreter_is_booked_and_audited(self):
        booking = self._book(make_interpreter())
        self.assertEqual(Booking.objects.count(), 1)
        self.assertEqual(booking.booked_by, self.investigator)
        event = AuditEvent.objects.get(action="interpreters.booked")
        self.assertEqual(event.actor_id, self.investigator.pk)

    def test_refused_unless_vetted_unexpired_and_under_agreement(self):
        cases = {
            "pending": {"vetting_status": VettingStatus.PENDING},
            "suspended": {"vetting_status": VettingStatus.SUSPENDED},
            "expired": {"vetting_expires": TODAY - datetime.timedelta(days=1)},
            "no expiry": {"vetting_expires": None},
            "no agreement": {"agreement_on_file": False, "agreement_signed_on": None},
        }
        for label, overrides in cases.items():
            with self.subTest(label):
                with self.assertRaises(ValidationError):
                    self._book(make_interpreter(**overrides))
        self.assertEqual(Booking.objects.count(), 0)
        self.assertFalse(AuditEvent.objects.filter(action="interpreters.booked").exists())

    def test_booking_page_shows_the_reason_and_stores_nothing(self):
        interpreter = make_interpreter(vetting_status=VettingStatus.PENDING)
        response = self.client_for("care").post(
            reverse("interpreters:book", args=[interpreter.pk]),
            {"kind": "court", "purpose": "Hearing", "date": TODAY.isoformat()},
        )
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "is not vetted", status_code=400)
        self.assertEqual(Booking.objects.count(), 0)

    def test_booking_page_books(self):
        interpreter = make_interpreter()
        response = self.client_for("investigator").post(
            reverse("interpreters:book", args=[interpreter.pk]),
            {"kind": "court", "purpose": "Hearing", "date": TODAY.isoformat()},
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Booking.objects.get().kind, "court")

    def test_contact_and_conflicts_are_encrypted_at_rest(self):
        from django.db import connection

        interpreter = make_interpreter()
        with connection.cursor() as cursor:
            cursor.execute("SELECT contact, conflicts FROM interpreters_interpreter WHERE id = %s", [interpreter.pk])
            contact, conflicts = cursor.fetchone()
        self.assertNotIn("555", contact)
        self.assertNotIn("Caracas", conflicts)


class RosterTests(BeaconTestCase):
    def test_manager_adds_with_iso_codes(self):
        response = self.client_for("director").post(
            reverse("interpreters:create"),
            {"name": "Ana", "languages": "SPA, pt", "vetting_status": "pending", "work_mode": "remote"},
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Interpreter.objects.get().languages, ["es", "pt"])
        self.assertTrue(AuditEvent.objects.filter(action="interpreters.created").exists())

    def test_unknown_language_code_is_refused(self):
        response = self.client_for("director").post(
            reverse("interpreters:create"),
            {"name": "Ana", "languages": "xx1", "vetting_status": "pending", "work_mode": "remote"},
        )
        self.assertContains(response, "Not ISO 639 language codes")
        self.assertFalse(Interpreter.objects.exists())

    def test_conflicts_shown_to_managers_only(self):
        interpreter = make_interpreter()
        url = reverse("interpreters:detail", args=[interpreter.pk])
        self.assertContains(self.client_for("director").get(url), "Caracas")
        self.assertNotContains(self.client_for("investigator").get(url), "Caracas")

    def test_permissions(self):
        interpreter = make_interpreter()
        for name in ("analyst", "intake", "nobody", "shelter"):
            with self.subTest(name):
                client = self.client_for(name)
                self.assertEqual(client.get(reverse("interpreters:index")).status_code, 403)
                self.assertEqual(client.get(reverse("interpreters:regional_export")).status_code, 403)
        investigator = self.client_for("investigator")
        self.assertEqual(investigator.get(reverse("interpreters:index")).status_code, 200)
        self.assertEqual(investigator.get(reverse("interpreters:create")).status_code, 403)
        self.assertEqual(investigator.get(reverse("interpreters:edit", args=[interpreter.pk])).status_code, 403)
        self.assertEqual(
            self.client_for("analyst").get(reverse("interpreters:book", args=[interpreter.pk])).status_code, 403
        )


class RegionalExportTests(BeaconTestCase):
    def test_export_has_no_names_contacts_or_conflicts_and_is_audited(self):
        interpreter = make_interpreter(areas='=HYPERLINK("x")')
        response = self.client_for("hoi").get(reverse("interpreters:regional_export"))
        self.assertEqual(response.status_code, 200)
        body = b"".join(response.streaming_content).decode()
        for secret in ("Maria", "Gomez", "555", "maria@", "Caracas"):
            self.assertNotIn(secret, body)
        self.assertIn(f"INT-{interpreter.pk:04d}", body)
        self.assertIn("es en", body)
        self.assertIn("'=HYPERLINK", body)
        self.assertTrue(AuditEvent.objects.filter(action="interpreters.regional_export", actor_id=self.hoi.pk).exists())

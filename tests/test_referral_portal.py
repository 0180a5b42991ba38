"""The provider portal and the secure thread (issue #5): a referral walked from need to completion on both
sides with messages and emails through a real SMTP server; the provider sees only the snapshot; another
provider gets 404 everywhere; drafts are invisible; attachments are typed, limited, encrypted and audited."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from alerts.models import Notification
from audit.models import AuditEvent
from referrals import actions
from referrals.models import Referral, ReferralMessage
from tests.smtp import SMTPServerMixin
from tests.test_referrals import (
    ALIAS,
    FAMILY,
    GIVEN,
    MEDIA_ROOT,
    NARRATIVE,
    PHONE,
    PSEUDONYM,
    SAFETY,
    SUSPECT,
    SUSPECT_PSEUDONYM,
    WITNESS_PSEUDONYM,
    ReferralTestCase,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + b"distinctive-png-payload"
PDF = b"%PDF-1.4\n% referral letter\n"


class WalkthroughTests(SMTPServerMixin, ReferralTestCase):
    def test_from_need_to_completion_on_both_sides(self):
        care, shelter = self.client_for("care"), self.client_for("shelter")
        # The unit: from the need on the care page to a sent referral.
        care_page = care.get(reverse("care:case_care", args=[self.case.pk]))
        create_url = reverse("referrals:referral_create", args=[self.victim.pk])
        self.assertContains(care_page, f"{create_url}?need={self.need.pk}")
        data = {"needs": ["shelter"], "care_needs": [self.need.pk], "urgency": "urgent", "provider": self.safe_harbour.pk,
                "shared_fields": ["name", "age", "sex", "languages", "safety_notes"], "shared_name": ALIAS, "safety_notes": SAFETY,
                "intent": "send"}  # fmt: skip
        with self.captureOnCommitCallbacks(execute=True):
            response = care.post(create_url, data)
        referral = Referral.objects.get()
        self.assertRedirects(response, referral.get_absolute_url(), fetch_redirect_response=False)
        self.worker()
        self.assertEqual(self.smtp.recipients, ["shelter@example.invalid"])
        self.check_emails(referral)

        # The provider: sees it waiting on My work, opens it, acknowledges and accepts.
        home = shelter.get(reverse("home"))
        self.assertContains(home, "Referrals waiting for you")
        self.assertContains(home, referral.reference)
        self.assertEqual(shelter.get(reverse("referrals:referral_list")).url, reverse("referrals:portal_list"))
        self.assertContains(shelter.get(reverse("referrals:portal_list")), referral.reference)
        page = shelter.get(referral.get_portal_url())
        self.assertContains(page, ALIAS)
        self.assertContains(page, SAFETY)
        self.assertContains(page, 'hx-trigger="every 3s"')
        portal_action = lambda name, **extra: shelter.post(  # noqa: E731
            reverse("referrals:portal_action", args=[referral.pk, name]),
            {"version": Referral.objects.get(pk=referral.pk).version, **extra},
        )
        self.smtp.clear()
        with self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(portal_action("acknowledge").status_code, 302)
            self.assertEqual(portal_action("accept", note="A bed is ready.").status_code, 302)
        # Messages both ways, each appearing for the other side through the polled fragment.
        with self.captureOnCommitCallbacks(execute=True):
            shelter.post(reverse("referrals:message_post", args=[referral.pk]), {"text": "What time will she arrive?"})
        thread_url = reverse("referrals:thread", args=[referral.pk])
        fragment = care.get(thread_url, {"after": 0})
        self.assertContains(fragment, "What time will she arrive?")
        self.assertContains(fragment, "(Safe Harbour)")
        last = ReferralMessage.objects.latest("pk").pk
        self.assertEqual(care.get(thread_url, {"after": last}).status_code, 204)  # nothing new: htmx swaps nothing
        with self.captureOnCommitCallbacks(execute=True):
            care.post(
                reverse("referrals:message_post", args=[referral.pk]),
                {"text": "Around 18:00, with an officer.", "attachment": SimpleUploadedFile("letter.pdf", PDF)},
            )
        fragment = shelter.get(thread_url, {"after": last})
        self.assertContains(fragment, "Around 18:00")
        self.assertContains(fragment, "CTU")  # the unit, not its officer's name
        self.assertNotContains(fragment, "care")
        # Services, an update and the close.
        with self.captureOnCommitCallbacks(execute=True):
            shelter.post(
                reverse("referrals:portal_service", args=[referral.pk]),
                {
                    "service_type": "accommodation",
                    "delivered_on": "2026-01-05",
                    "details": "Single room",
                    "outcome": "Settled in",
                },
            )
            shelter.post(reverse("referrals:portal_update", args=[referral.pk]), {"text": "Counselling starts Monday."})
            self.assertEqual(portal_action("complete", outcome="Moved to a transitional home.").status_code, 302)
        referral.refresh_from_db()
        self.assertEqual(referral.status, "completed")
        self.assertEqual(referral.services.get().get_service_type_display(), "Accommodation (shelter stay)")
        # The unit sees it all on the referral page.
        detail = care.get(referral.get_absolute_url())
        for text in (
            "Completed",
            "Moved to a transitional home.",
            "Single room",
            "Settled in",
            "Counselling starts Monday.",
            "A bed is ready.",
            "What time will she arrive?",
        ):
            self.assertContains(detail, text)
        self.worker()
        self.assertIn("care@example.invalid", self.smtp.recipients)
        self.assertIn("shelter@example.invalid", self.smtp.recipients)  # told of the unit's message
        self.check_emails(referral)
        items = Notification.objects.filter(event__startswith="referral.")
        self.assertEqual({n.recipient.username for n in items}, {"care", "shelter"})
        for item in items:
            for secret in (GIVEN.split()[0], FAMILY, ALIAS, self.case.reference, PSEUDONYM):
                self.assertNotIn(secret, item.message)

    def check_emails(self, referral):
        self.assertTrue(self.smtp.messages)
        secrets = [
            GIVEN.split()[0],
            FAMILY,
            ALIAS,
            PSEUDONYM,
            self.case.reference,
            referral.reference,
            SAFETY,
            "Shelter",
            "arrive",
        ]
        for text in self.smtp.texts():
            self.assertIn(f"{settings.BEACON_SITE_URL}/notifications/", text)
            for secret in secrets:
                self.assertNotIn(secret, text)


class SnapshotOnlyTests(ReferralTestCase):
    def provider_pages(self, referral, client) -> list[str]:
        urls = [
            reverse("home"),
            reverse("referrals:portal_list"),
            referral.get_portal_url(),
            reverse("referrals:thread", args=[referral.pk]),
            reverse("alerts:list"),
        ]
        pages = []
        for url in urls:
            response = client.get(url)
            self.assertEqual(response.status_code, 200, url)
            pages.append(response.content.decode())
        return pages

    def test_the_provider_sees_only_what_was_ticked(self):
        from cases import actions as case_actions

        case_actions.add_identifier(
            actor=self.investigator, case=self.case, link=self.victim, kind="phone", value=PHONE
        )
        r = self.referral(shared_fields=["name", "age", "languages"], safe_contact="+1 868 555 0999")
        actions.post_message(r, actor=self.care, text="Please call before the visit.")
        pages = self.provider_pages(r, self.client_for("shelter"))
        self.assertIn(ALIAS, pages[2])
        self.assertIn("spa", pages[2])
        unshared = [self.case.reference, PSEUDONYM, SUSPECT[0], SUSPECT[1], SUSPECT_PSEUDONYM, WITNESS_PSEUDONYM, NARRATIVE, "Chaguaramas",
                    FAMILY, GIVEN.split()[0], "Venezuela", ">VE<", PHONE, "555 0999", SAFETY, "Female", "interpreter", self.victim.person.pk and f"/cases/{self.case.pk}/",
                    "care@example", "Victim A"]  # fmt: skip
        for page in pages:
            for secret in unshared:
                self.assertNotIn(secret, page)

    def test_ticked_extras_are_shown(self):
        r = self.referral(
            shared_fields=["full_name", "nationality", "safe_contact", "interpreter"], safe_contact="+1 868 555 0999"
        )
        page = self.client_for("shelter").get(r.get_portal_url())
        for text in (f"{GIVEN} {FAMILY}", "VE", "+1 868 555 0999", "Needs an interpreter"):
            self.assertContains(page, text)
        self.assertNotContains(page, self.case.reference)

    def test_provider_reads_are_audited(self):
        r = self.referral()
        actions.post_message(r, actor=self.care, text="Hello.")
        client = self.client_for("shelter")
        client.get(r.get_portal_url())
        client.get(reverse("referrals:portal_list"))
        logged = list(AuditEvent.objects.filter(actor_name="shelter").values_list("action", flat=True))
        self.assertIn("referrals.viewed", logged)
        self.assertIn("referrals.list_viewed", logged)
        self.assertEqual(logged.count("referrals.messages_read"), 1)
        client.get(reverse("referrals:thread", args=[r.pk]))  # polling again reads nothing new: no new row
        self.assertEqual(AuditEvent.objects.filter(actor_name="shelter", action="referrals.messages_read").count(), 1)
        actions.post_message(r, actor=self.care, text="And again.")
        client.get(reverse("referrals:thread", args=[r.pk]))
        self.assertEqual(AuditEvent.objects.filter(actor_name="shelter", action="referrals.messages_read").count(), 2)
        self.assertTrue(AuditEvent.objects.filter(actor_name="care", action="referrals.message_posted").exists())


class OtherProviderTests(ReferralTestCase):
    def test_another_provider_gets_404_on_everything(self):
        r = self.referral()
        r = actions.acknowledge_referral(r, actor=self.shelter, version=r.version)
        r = actions.accept_referral(r, actor=self.shelter, version=r.version)
        message = actions.post_message(r, actor=self.care, text="Secret plan.", upload=SimpleUploadedFile("p.png", PNG))
        urls_get = [
            r.get_portal_url(), r.get_absolute_url(), reverse("referrals:thread", args=[r.pk]),
            reverse("referrals:attachment_download", args=[r.pk, message.pk]),
        ]  # fmt: skip
        urls_post = [
            (reverse("referrals:message_post", args=[r.pk]), {"text": "Hi"}),
            (reverse("referrals:portal_update", args=[r.pk]), {"text": "Hi"}),
            (
                reverse("referrals:portal_service", args=[r.pk]),
                {"service_type": "medical", "delivered_on": "2026-01-01"},
            ),
            (reverse("referrals:portal_action", args=[r.pk, "complete"]), {"version": r.version, "outcome": "x"}),
            (reverse("referrals:referral_withdraw", args=[r.pk]), {"version": r.version, "reason": "x"}),
        ]
        for name in ("refuge", "other_director", "investigator2", "nobody"):
            client = self.client_for(name)
            for url in urls_get:
                with self.subTest(user=name, url=url):
                    self.assertEqual(client.get(url).status_code, 404)
            for url, data in urls_post:
                with self.subTest(user=name, url=url):
                    self.assertEqual(client.post(url, data).status_code, 404)
            self.assertNotContains(client.get(reverse("home")), r.reference)
        self.assertEqual(r.messages.count(), 1)
        self.assertEqual(Referral.objects.get(pk=r.pk).status, "accepted")
        self.assertFalse(r.services.exists())

    def test_drafts_are_invisible_to_the_provider(self):
        draft = self.referral(send=False)
        client = self.client_for("shelter")
        for url in (draft.get_portal_url(), reverse("referrals:thread", args=[draft.pk])):
            self.assertEqual(client.get(url).status_code, 404)
        self.assertEqual(
            client.post(
                reverse("referrals:portal_action", args=[draft.pk, "accept"]), {"version": draft.version}
            ).status_code,
            404,
        )
        self.assertNotContains(client.get(reverse("referrals:portal_list")), draft.reference)
        self.assertFalse(Notification.objects.filter(recipient=self.shelter).exists())


class AttachmentTests(ReferralTestCase):
    def setUp(self):
        super().setUp()
        self.r = self.referral()

    def post(self, who, upload, text=""):
        return self.client_for(who).post(
            reverse("referrals:message_post", args=[self.r.pk]), {"text": text, "attachment": upload}
        )

    def test_stored_encrypted_and_downloaded_as_attachment_audited(self):
        self.assertEqual(
            self.post("shelter", SimpleUploadedFile("intake form.png", PNG, content_type="image/png")).status_code, 302
        )
        message = ReferralMessage.objects.get()
        self.assertEqual(message.content_type, "image/png")
        stored = list(Path(MEDIA_ROOT, "referral-attachments").rglob(message.stored_name))
        self.assertEqual(len(stored), 1)
        raw = stored[0].read_bytes()
        self.assertNotIn(b"distinctive-png-payload", raw)
        self.assertFalse(raw.startswith(b"\x89PNG"))
        response = self.client_for("care").get(reverse("referrals:attachment_download", args=[self.r.pk, message.pk]))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, PNG)
        self.assertTrue(response["Content-Disposition"].startswith("attachment;"))
        self.assertNotIn("intake form", response["Content-Disposition"])
        self.assertEqual(response["X-Content-Type-Options"], "nosniff")
        event = AuditEvent.objects.get(action="referrals.attachment_downloaded")
        self.assertEqual(event.actor_name, "care")

    def test_content_decides_the_type(self):
        fake = SimpleUploadedFile("photo.png", b"<html><script>alert(1)</script></html>", content_type="image/png")
        self.assertEqual(self.post("care", fake, text="see photo").status_code, 302)
        self.assertFalse(ReferralMessage.objects.exists())
        self.assertFalse(
            Path(MEDIA_ROOT, "referral-attachments").exists()
            and any(Path(MEDIA_ROOT, "referral-attachments").rglob("*"))
        )

    def test_size_limit(self):
        with mock.patch("referrals.actions.ATTACHMENT_MAX_BYTES", 32):
            response = self.client_for("care").post(
                reverse("referrals:message_post", args=[self.r.pk]),
                {"attachment": SimpleUploadedFile("big.pdf", PDF + b"x" * 64)},
                HTTP_HX_REQUEST="true",
            )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(ReferralMessage.objects.exists())

    def test_messages_are_escaped(self):
        actions.post_message(self.r, actor=self.care, text="<script>alert('x')</script><b>bold</b>")
        page = self.client_for("shelter").get(reverse("referrals:thread", args=[self.r.pk]))
        self.assertNotContains(page, "<script>alert")
        self.assertContains(page, "&lt;script&gt;")

"""Need-to-know on the case record (issue #4), with named users: the team, leadership, care officers and
suspect handlers, shares with a scope and an end date, break-glass, partner staff; reads and downloads audited."""

from __future__ import annotations

import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from alerts.models import Notification
from audit.models import AuditEvent
from cases import actions as cases
from cases.models import BreakGlass, CaseAttachment, CaseMember
from tests.base import AccessTestMixin
from tests.test_case_record import CaseTestCase, add_suspect, open_case_for_tests, png_upload

OUTSIDERS = (
    "investigator2",
    "care",
    "intake",
    "analyst",
    "sysadmin",
    "auditor",
    "nobody",
    "shelter",
    "refuge",
    "other_director",
    "other_investigator",
    "other_hoi",
    "other_care",
)
PARTNERS = ("shelter", "refuge", "other_director", "other_hoi", "other_investigator")


class RecordFixture(CaseTestCase):
    """A case owned by ``investigator`` with its victim, a suspect with a phone, a photo of each and a place
    tied to each; nobody else on the team."""

    def setUp(self):
        self.case = open_case_for_tests(self)
        self.victim = self.case.persons.get(role="victim")
        self.suspect = add_suspect(self.case, self.investigator, phone="+1 868 555 0177", pseudonym="Suspect Zed")
        self.victim_photo = cases.add_attachment(
            self.case, actor=self.investigator, upload=png_upload("victim.png"), kind="photo", link=self.victim
        )
        self.suspect_photo = cases.add_attachment(
            self.case, actor=self.investigator, upload=png_upload("suspect.png"), kind="photo", link=self.suspect
        )
        cases.add_place(
            self.case, actor=self.investigator, kind="Exploitation", city="Suspect's bar", case_person=self.suspect
        )
        cases.add_place(
            self.case, actor=self.investigator, kind="Recruitment", city="Victim's village", case_person=self.victim
        )

    def url(self, name="case_detail", *args):
        return reverse(f"cases:{name}", args=[self.case.pk, *args])

    def get(self, who, name="case_detail", *args):
        return self.client_for(who).get(self.url(name, *args))


class CaseDetailAccess(AccessTestMixin, RecordFixture):
    allowed = ("investigator", "director", "deputy", "hoi")
    hidden = OUTSIDERS

    def url(self, name="case_detail", *args):
        return reverse(f"cases:{name}", args=[self.case.pk, *args])

    def test_every_read_is_audited_without_values(self):
        self.get("director")
        event = AuditEvent.objects.filter(action="cases.case_viewed", object_id=str(self.case.pk)).latest("id")
        self.assertEqual((event.actor_name, event.object_type), ("director", "cases.case"))
        self.get("director", "person_detail", self.suspect.pk)
        event = AuditEvent.objects.filter(action="cases.person_viewed").latest("id")
        self.assertEqual(
            (event.actor_name, event.object_type, event.object_id),
            ("director", "cases.person", str(self.suspect.person_id)),
        )
        self.assertEqual(event.details, {"case_id": self.case.pk, "case_person_id": self.suspect.pk})
        self.assertNotIn("Rudolfo", str(event.details))
        # Edit forms show the record too.
        self.get("investigator", "person_edit", self.victim.pk)
        event = AuditEvent.objects.filter(action="cases.person_viewed").latest("id")
        self.assertEqual((event.actor_name, event.details["page"]), ("investigator", "edit"))
        self.get("investigator", "case_team")
        self.assertTrue(
            AuditEvent.objects.filter(
                action="cases.case_viewed", actor_name="investigator", details__page="team"
            ).exists()
        )


class PersonPageAccess(AccessTestMixin, RecordFixture):
    allowed = ("investigator", "director", "hoi")
    hidden = OUTSIDERS

    def url(self, name="person_detail", *args):
        return reverse(f"cases:{name}", args=[self.case.pk, *(args or [self.victim.pk])])


class SubPageAccess(RecordFixture):
    """Every page of the case answers 404 to whoever may not see the case, partners included."""

    def pages(self):
        get = [
            ("case_detail",), ("case_timeline",), ("case_team",), ("case_close",), ("person_add",), ("place_add",), ("identifier_add",),
            ("attachment_add",), ("note_add",), ("person_detail", self.victim.pk), ("person_edit", self.victim.pk),
            ("profile_edit", self.victim.pk), ("alias_add", self.victim.pk), ("person_identifier_add", self.victim.pk),
            ("person_attachment_add", self.victim.pk), ("attachment_download", self.victim_photo.pk),
        ]  # fmt: skip
        post = [("case_reopen",), ("team_add",), ("share_add",), ("note_add",), ("place_add",), ("person_add",)]
        return get, post

    def test_outsiders_and_partners_get_404_everywhere(self):
        get, post = self.pages()
        for who in ("investigator2", "care", "analyst", *PARTNERS):
            client = self.client_for(who)
            for name, *args in get:
                with self.subTest(user=who, page=name):
                    self.assertEqual(client.get(self.url(name, *args)).status_code, 404)
            for name, *args in post:
                with self.subTest(user=who, post=name):
                    self.assertEqual(client.post(self.url(name, *args), {"text": "x", "version": 1}).status_code, 404)
        self.assertFalse(self.case.notes.exists())

    def test_partners_are_never_offered_break_glass(self):
        for who in PARTNERS:
            response = self.client_for(who).get(reverse("cases:case_list"), {"ref": self.case.reference})
            self.assertIn(response.status_code, (403, 200))
            self.assertNotContains(response, "emergency access", status_code=response.status_code)
            self.assertEqual(
                self.client_for(who)
                .post(self.url("break_glass"), {"reason": "I need this case right now please"})
                .status_code,
                404,
            )
        self.assertFalse(BreakGlass.objects.exists())


class TeamRoleTests(RecordFixture):
    def test_care_officer_on_the_team_sees_victims_not_suspects(self):
        cases.add_team_member(self.case, actor=self.investigator, user=self.care, role="care")
        page = self.get("care")
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, self.victim.pseudonym)
        self.assertContains(page, "Victim&#x27;s village")
        self.assertContains(page, "victim.png")
        for hidden in ("Suspect Zed", "Rudolfo", "Suspect&#x27;s bar", "suspect.png"):
            self.assertNotContains(page, hidden)
        self.assertEqual(self.get("care", "person_detail", self.victim.pk).status_code, 200)
        self.assertEqual(self.get("care", "person_detail", self.suspect.pk).status_code, 404)
        self.assertEqual(self.get("care", "person_edit", self.suspect.pk).status_code, 404)
        self.assertEqual(self.get("care", "attachment_download", self.suspect_photo.pk).status_code, 404)
        self.assertEqual(self.get("care", "attachment_download", self.victim_photo.pk).status_code, 200)
        # Not through the timeline either.
        self.assertNotContains(self.get("care", "case_timeline"), "Suspect Zed")

    def test_suspect_handler_sees_suspects_not_victims(self):
        cases.add_team_member(self.case, actor=self.hoi, user=self.investigator2, role="suspect_handler")
        page = self.get("investigator2")
        self.assertContains(page, "Suspect Zed")
        self.assertContains(page, "Rudolfo Quintero")
        self.assertNotContains(page, self.victim.pseudonym)
        self.assertNotContains(page, "victim.png")
        self.assertEqual(self.get("investigator2", "person_detail", self.suspect.pk).status_code, 200)
        self.assertEqual(self.get("investigator2", "person_detail", self.victim.pk).status_code, 404)
        self.assertEqual(self.get("investigator2", "attachment_download", self.victim_photo.pk).status_code, 404)

    def test_leadership_sees_everyone(self):
        for who in ("director", "deputy", "hoi"):
            page = self.get(who)
            self.assertContains(page, "Suspect Zed")
            self.assertContains(page, self.victim.pseudonym)


class TeamManagementTests(RecordFixture):
    def test_owner_or_manage_team_only(self):
        cases.add_team_member(self.case, actor=self.investigator, user=self.care, role="care")
        data = {"member-user": self.investigator2.pk, "member-role": "investigator"}
        self.assertEqual(
            self.client_for("care").post(self.url("team_add"), data).status_code, 403
        )  # on the team, not the owner
        self.assertEqual(self.client_for("investigator2").post(self.url("team_add"), data).status_code, 404)
        self.assertFalse(CaseMember.objects.filter(case=self.case, user=self.investigator2).exists())
        self.assertEqual(self.client_for("investigator").post(self.url("team_add"), data).status_code, 302)
        self.assertEqual(self.get("investigator2").status_code, 200)
        member = CaseMember.objects.get(case=self.case, user=self.investigator2)
        self.assertEqual(self.client_for("hoi").post(self.url("team_remove", member.pk)).status_code, 302)
        self.assertEqual(self.get("investigator2").status_code, 404)
        # The team page shows the forms to managers only.
        self.assertNotContains(self.get("care", "case_team"), 'name="member-user"')
        self.assertContains(self.get("investigator", "case_team"), 'name="member-user"')

    def test_partner_staff_cannot_join_a_team(self):
        response = self.client_for("investigator").post(
            self.url("team_add"), {"member-user": self.shelter.pk, "member-role": "care"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("user", response.context["member_form"].errors)
        self.assertEqual(self.get("shelter").status_code, 404)


class ShareTests(RecordFixture):
    def share(self, scope="full", days=7):
        until = (timezone.localdate() + timedelta(days=days)).isoformat()
        response = self.client_for("investigator").post(
            self.url("share_add"),
            {
                "share-user": self.investigator2.pk,
                "share-scope": scope,
                "share-reason": "Joint operation with the port unit",
                "share-until": until,
            },
        )
        self.assertEqual(response.status_code, 302)
        return self.case.shares.latest("id")

    def test_share_with_victims_scope(self):
        share = self.share("victims")
        self.assertEqual(self.get("investigator2").status_code, 200)
        self.assertEqual(self.get("investigator2", "person_detail", self.victim.pk).status_code, 200)
        self.assertEqual(self.get("investigator2", "person_detail", self.suspect.pk).status_code, 404)
        self.assertNotContains(self.get("investigator2"), "Suspect Zed")
        # Shared to read, not to change: 403 on edits.
        self.assertEqual(self.get("investigator2", "person_edit", self.victim.pk).status_code, 403)
        self.assertEqual(
            self.client_for("investigator2").post(self.url("place_add"), {"kind": "Transit"}).status_code, 403
        )
        self.assertTrue(
            AuditEvent.objects.filter(
                action="cases.shared", object_id=str(self.case.pk), details__scope="victims"
            ).exists()
        )
        self.assertNotIn(
            "port unit", str(AuditEvent.objects.filter(action="cases.shared").values_list("details", flat=True))
        )
        # The end date passes: gone.
        type(share).objects.filter(pk=share.pk).update(until=timezone.localdate() - timedelta(days=1))
        self.assertEqual(self.get("investigator2").status_code, 404)
        self.assertEqual(self.get("investigator2", "person_detail", self.victim.pk).status_code, 404)

    def test_share_with_suspects_scope(self):
        self.share("suspects")
        self.assertEqual(self.get("investigator2", "person_detail", self.suspect.pk).status_code, 200)
        self.assertEqual(self.get("investigator2", "person_detail", self.victim.pk).status_code, 404)

    def test_revoked_share_ends_access(self):
        share = self.share("full")
        self.assertEqual(self.get("investigator2", "person_detail", self.suspect.pk).status_code, 200)
        self.assertEqual(self.client_for("investigator2").post(self.url("share_revoke", share.pk)).status_code, 403)
        self.assertEqual(self.client_for("investigator").post(self.url("share_revoke", share.pk)).status_code, 302)
        self.assertEqual(self.get("investigator2").status_code, 404)
        self.assertEqual(self.get("investigator2", "person_detail", self.suspect.pk).status_code, 404)
        self.assertContains(self.get("investigator", "case_team"), "revoked")


class BreakGlassTests(RecordFixture):
    def lookup(self, who, ref):
        return self.client_for(who).get(reverse("cases:case_list"), {"ref": ref})

    def test_break_glass_grants_time_limited_access_and_alerts_the_director(self):
        self.assertEqual(self.get("investigator2").status_code, 404)
        offer = self.lookup("investigator2", self.case.reference.lower())
        self.assertEqual(offer.status_code, 200)
        self.assertContains(offer, "Use emergency access")
        self.assertContains(offer, self.url("break_glass"))

        response = self.client_for("investigator2").post(self.url("break_glass"), {"reason": "urgent"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'id="reason-errors"')
        self.assertFalse(BreakGlass.objects.exists())
        self.assertFalse(Notification.objects.filter(event="case.break_glass").exists())

        Notification.objects.all().delete()
        response = self.client_for("investigator2").post(
            self.url("break_glass"), {"reason": "Victim called the hotline in danger tonight."}
        )
        self.assertRedirects(response, self.url(), fetch_redirect_response=False)
        grant = BreakGlass.objects.get()
        self.assertEqual(grant.user, self.investigator2)
        alerts = Notification.objects.filter(event="case.break_glass")
        self.assertEqual({(n.recipient.username, n.urgent) for n in alerts}, {("director", True)})
        self.assertIn(self.case.reference, alerts.get().message)
        self.assertNotIn("danger", alerts.get().message)
        event = AuditEvent.objects.get(action="cases.break_glass")
        self.assertEqual((event.actor_name, event.object_id), ("investigator2", str(self.case.pk)))
        self.assertNotIn("danger", str(event.details))

        page = self.get("investigator2")
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "You are using emergency access")
        self.assertEqual(self.get("investigator2", "person_detail", self.suspect.pk).status_code, 200)
        self.assertEqual(self.lookup("investigator2", self.case.reference).status_code, 302)  # now found directly
        self.assertTrue(
            AuditEvent.objects.filter(
                action="cases.case_viewed", actor_name="investigator2", object_id=str(self.case.pk)
            ).exists()
        )

        # It expires.
        BreakGlass.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        self.assertEqual(self.get("investigator2").status_code, 404)
        self.assertEqual(self.get("investigator2", "person_detail", self.suspect.pk).status_code, 404)

    def test_without_the_permission_a_hidden_case_looks_like_no_case(self):
        def normalised(response, ref):
            html = response.content.decode().replace('placeholder="C-2026-00001"', "").replace(ref, "REF")
            return re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', r"\1TOKEN", html)

        for who in ("intake",):  # may use the case list, may not break the glass
            existing = self.lookup(who, self.case.reference)
            missing = self.lookup(who, "C-2099-99999")
            self.assertEqual(existing.status_code, missing.status_code)
            self.assertEqual(normalised(existing, self.case.reference), normalised(missing, "C-2099-99999"))
            self.assertContains(existing, "among the cases you can see")
            self.assertNotContains(existing, "Use emergency access")
            self.assertEqual(
                self.client_for(who)
                .post(self.url("break_glass"), {"reason": "I need this case right now please"})
                .status_code,
                404,
            )
            self.assertEqual(self.client_for(who).get(self.url("break_glass")).status_code, 404)
        # A break-glass holder looking up a reference that does not exist gets the same "not found".
        self.assertContains(self.lookup("investigator2", "C-2099-99999"), "among the cases you can see")
        self.assertFalse(BreakGlass.objects.exists())

    def test_team_members_are_sent_straight_to_their_case(self):
        self.assertRedirects(
            self.lookup("investigator", self.case.reference), self.url(), fetch_redirect_response=False
        )


class DownloadAuditTests(RecordFixture):
    def test_downloads_are_audited_and_checked(self):
        response = self.get("hoi", "attachment_download", self.suspect_photo.pk)
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response["Content-Disposition"].startswith("attachment;"))
        self.assertTrue(
            AuditEvent.objects.filter(
                action="cases.attachment_downloaded", actor_name="hoi", details__attachment_id=self.suspect_photo.pk
            ).exists()
        )
        before = AuditEvent.objects.filter(action="cases.attachment_downloaded").count()
        self.assertEqual(self.get("shelter", "attachment_download", self.suspect_photo.pk).status_code, 404)
        other = open_case_for_tests(self)
        # An attachment of another case is not reachable through this one.
        foreign = cases.add_attachment(other, actor=self.investigator, upload=png_upload(), kind="photo")
        self.assertEqual(self.get("investigator", "attachment_download", foreign.pk).status_code, 404)
        self.assertEqual(AuditEvent.objects.filter(action="cases.attachment_downloaded").count(), before)
        self.assertEqual(CaseAttachment.objects.count(), 3)


class ActionGuardTests(RecordFixture):
    """The actions themselves refuse what the pages do not offer (defence in depth)."""

    def test_care_officer_on_the_team_cannot_close_the_case(self):
        from django.core.exceptions import PermissionDenied

        cases.add_team_member(self.case, actor=self.investigator, user=self.care, role="care")
        with self.assertRaises(PermissionDenied):
            cases.close_case(self.case, actor=self.care, version=self.case.version, status="Closed", reason="done")
        response = self.client_for("care").post(self.url("case_close"), {"status": "Closed", "reason": "done", "version": self.case.version})
        self.assertIn(response.status_code, (403, 404))
        self.case.refresh_from_db()
        self.assertEqual(self.case.status, "Active")

    def test_care_officer_cannot_remove_a_suspects_place_or_identifier(self):
        from django.core.exceptions import PermissionDenied

        cases.add_team_member(self.case, actor=self.investigator, user=self.care, role="care")
        place = self.case.places.get(case_person=self.suspect)
        with self.assertRaises(PermissionDenied):
            cases.remove_place(place, actor=self.care)
        phone = self.suspect.person.identifiers.get(kind="phone")
        with self.assertRaises(PermissionDenied):
            cases.remove_identifier(phone, actor=self.care, case=self.case)
        self.assertTrue(self.case.places.filter(pk=place.pk).exists())
        self.assertTrue(self.suspect.person.identifiers.filter(pk=phone.pk).exists())

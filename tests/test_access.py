"""The access-control spine (issue #2): one visible_to, 404 for what a user may not see, 403 for what they
may see but not change, and the reusable checks later issues use for every view."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.permissions import DEFAULT_ROLE_PERMISSIONS, PERMISSIONS
from alerts.actions import notify
from alerts.models import Notification
from audit.models import AuditEvent
from directory.models import Agency
from tests.base import AccessTestMixin, BeaconTestCase


class ColleagueDetailAccess(AccessTestMixin, BeaconTestCase):
    """A user's page: colleagues in the same agency and unit-wide viewers see it; another agency gets 404."""

    allowed = ("investigator2", "care", "nobody", "sysadmin", "director", "auditor")
    hidden = ("other_investigator", "shelter", "other_director", "other_sysadmin")

    def url(self):
        return reverse("accounts:user_detail", args=[self.investigator.pk])


class UserEditAccess(AccessTestMixin, BeaconTestCase):
    allowed = ("sysadmin",)
    forbidden = ("director", "investigator2", "auditor")  # may see the user, may not change them
    hidden = ("other_sysadmin", "shelter")  # a partner agency's "administrator" sees nothing of the unit

    def url(self):
        return reverse("accounts:user_edit", args=[self.investigator.pk])


class UserCreateAccess(AccessTestMixin, BeaconTestCase):
    allowed = ("sysadmin",)
    forbidden = ("director", "hoi", "other_sysadmin", "shelter", "nobody")

    def url(self):
        return reverse("accounts:user_create")


class RoleMatrixAccess(AccessTestMixin, BeaconTestCase):
    allowed = ("sysadmin",)
    forbidden = ("director", "investigator", "other_sysadmin", "shelter")

    def url(self):
        return reverse("accounts:role_matrix")


class AuditLogAccess(AccessTestMixin, BeaconTestCase):
    allowed = ("auditor", "sysadmin", "director")
    forbidden = ("investigator", "hoi", "analyst", "other_auditor", "shelter")

    def url(self):
        return reverse("audit:event_list")


class AgencyEditAccess(AccessTestMixin, BeaconTestCase):
    allowed = ("sysadmin",)
    forbidden = ("director", "investigator", "shelter", "other_sysadmin")

    def url(self):
        return reverse("directory:agency_edit", args=[self.safe_harbour.pk])


class NotificationAccess(AccessTestMixin, BeaconTestCase):
    """A notification is its recipient's alone: anyone else, of any rank, gets 404."""

    method = "post"
    allowed = ("care",)
    allowed_status = (302,)
    hidden = ("director", "sysadmin", "auditor", "investigator", "shelter")

    def setUp(self):
        self.item = notify([self.care], event="test", message="Something to see", link="/")[0]

    def url(self):
        return reverse("alerts:open", args=[self.item.pk])


class UserListScopeTests(BeaconTestCase):
    def test_partner_staff_see_only_their_own_agency(self):
        response = self.client_for("shelter").get(reverse("accounts:user_list"))
        shown = {u.username for u in response.context["page"]}
        self.assertEqual(shown, {"shelter"})

    def test_unit_staff_see_colleagues_and_the_unit_wide_viewers_see_everyone(self):
        shown = {u.username for u in self.client_for("care").get(reverse("accounts:user_list")).context["page"]}
        self.assertIn("investigator", shown)
        self.assertNotIn("shelter", shown)
        everyone = self.client_for("auditor").get(reverse("accounts:user_list"), {"page": 1})
        self.assertEqual(everyone.context["page"].paginator.count, User.objects.count())


class VisibleToTests(BeaconTestCase):
    def test_inactive_and_anonymous_users_see_nothing(self):
        from django.contrib.auth.models import AnonymousUser

        self.assertFalse(User.objects.visible_to(AnonymousUser()).exists())
        self.director.is_active = False
        self.assertFalse(Agency.objects.visible_to(self.director).exists())

    def test_role_outside_the_home_unit_grants_no_unit_permission(self):
        self.assertTrue(self.auditor.has_perm("audit.view_log"))
        self.assertFalse(self.other_auditor.has_perm("audit.view_log"))
        self.assertFalse(self.other_sysadmin.has_perm("accounts.manage_users"))

    def test_unknown_permission_codes_fail_loudly(self):
        with self.assertRaises(KeyError):
            self.director.has_perm("cases.launch_rockets")

    def test_default_roles_only_use_catalogue_codes(self):
        for codes in DEFAULT_ROLE_PERMISSIONS.values():
            self.assertTrue(set(codes) <= set(PERMISSIONS))


class AdminPagesTests(BeaconTestCase):
    def test_administrator_creates_a_user_with_roles(self):
        client = self.client_for("sysadmin")
        role_ids = list(self.investigator.roles.values_list("pk", flat=True))
        response = client.post(
            reverse("accounts:user_create"),
            {"username": "newofficer", "first_name": "New", "last_name": "Officer", "agency": self.ctu.pk, "roles": role_ids, "password": "A-long-enough-pass-77"},
        )
        user = User.objects.get(username="newofficer")
        self.assertRedirects(response, reverse("accounts:user_detail", args=[user.pk]), fetch_redirect_response=False)
        self.assertEqual(user.role_codes, {"investigator"})
        self.assertTrue(user.must_change_password)
        self.assertTrue(AuditEvent.objects.filter(action="accounts.user_created", object_id=str(user.pk)).exists())

    def test_concurrent_edits_do_not_overwrite_each_other(self):
        client = self.client_for("sysadmin")
        url = reverse("accounts:user_edit", args=[self.care.pk])
        form = {"username": "care", "agency": self.ctu.pk, "roles": list(self.care.roles.values_list("pk", flat=True)), "version": self.care.version}
        first = client.post(url, {**form, "job_title": "Senior officer"})
        self.assertEqual(first.status_code, 302)
        second = client.post(url, {**form, "job_title": "Stale title"})
        self.assertEqual(second.status_code, 409)
        self.assertContains(second, "Someone else changed this record", status_code=409)
        self.assertEqual(User.objects.get(pk=self.care.pk).job_title, "Senior officer")

    def test_matrix_change_grants_and_revokes_and_is_audited(self):
        client = self.client_for("sysadmin")
        page = client.get(reverse("accounts:role_matrix"))
        self.assertContains(page, "audit.view_log")
        data = {}
        for role in page.context["roles"]:
            codes = set(role.permissions)
            if role.code == "analyst":
                codes.add("audit.view_log")
            data[f"role-{role.code}"] = sorted(codes)
        client.post(reverse("accounts:role_matrix"), data)
        self.assertTrue(User.objects.get(pk=self.analyst.pk).has_perm("audit.view_log"))
        event = AuditEvent.objects.filter(action="accounts.role_permissions_changed").latest("id")
        self.assertEqual(event.details["granted"], ["audit.view_log"])

    def test_agency_is_created_with_htcds_type(self):
        client = self.client_for("sysadmin")
        client.post(
            reverse("directory:agency_create"),
            {"name": "Living Hope NGO", "org_type": "NGO", "kind": "ngo", "country": "tt", "is_active": "on"},
        )
        agency = Agency.objects.get(name="Living Hope NGO")
        self.assertEqual((agency.org_type, agency.country), ("NGO", "TT"))
        bad = client.post(reverse("directory:agency_create"), {"name": "Bad", "org_type": "Church", "kind": "ngo", "country": "TT"})
        self.assertEqual(bad.status_code, 200)
        self.assertFalse(Agency.objects.filter(name="Bad").exists())


class NotificationAreaTests(BeaconTestCase):
    def test_badge_counts_only_my_unread(self):
        notify([self.care, self.director], event="test", message="One", urgent=True)
        response = self.client_for("care").get(reverse("alerts:badge"))
        self.assertContains(response, ">1<")
        self.assertEqual(Notification.objects.filter(recipient=self.care).count(), 1)
        self.client_for("care").post(reverse("alerts:mark_all_read"))
        self.assertNotContains(self.client_for("care").get(reverse("alerts:badge")), "badge")
        self.assertEqual(Notification.objects.get(recipient=self.director).read_at, None)

    def test_urgent_notification_is_acknowledged_and_audited(self):
        item = notify([self.hoi], event="test", message="Urgent one", urgent=True)[0]
        self.client_for("hoi").post(reverse("alerts:acknowledge", args=[item.pk]))
        item.refresh_from_db()
        self.assertIsNotNone(item.acknowledged_at)
        self.assertTrue(AuditEvent.objects.filter(action="alerts.acknowledge", object_id=str(item.pk)).exists())


class ErrorPageTests(BeaconTestCase):
    def test_404_page_is_generic(self):
        response = self.client_for("care").get("/accounts/users/999999/?name=Maria")
        self.assertEqual(response.status_code, 404)
        self.assertNotContains(response, "Maria", status_code=404)
        self.assertNotContains(response, "999999", status_code=404)

    def test_unknown_url_gives_the_same_generic_404_to_anyone(self):
        response = Client().get("/no/such/page/")
        self.assertEqual(response.status_code, 404)
        self.assertContains(response, "There is nothing here", status_code=404)

"""Sign-in, MFA, lockout and session rules (issue #2, ASVS level 2 chapter 2 and 3)."""

from __future__ import annotations

import re
import time

from django.conf import settings
from django.contrib.auth.hashers import identify_hasher
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import actions, sessions
from accounts.models import User, UserSession
from accounts.views import GENERIC_LOGIN_ERROR
from alerts.models import Notification
from audit.models import AuditEvent
from tests.base import PASSWORD, BeaconTestCase, current_code, give_totp, sign_in

LOGIN = reverse("accounts:login")


def post_login(client: Client, username: str, password: str, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


class PasswordStorageTests(BeaconTestCase):
    @override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.Argon2PasswordHasher"])
    def test_passwords_are_hashed_with_argon2(self):
        user = User.objects.create_user(username="argon", password=PASSWORD, agency=self.ctu)
        self.assertEqual(identify_hasher(user.password).algorithm, "argon2")

    def test_outside_tests_argon2_comes_first(self):
        import subprocess
        import sys
        from pathlib import Path

        script = "import django; django.setup(); from django.conf import settings; print(settings.PASSWORD_HASHERS[0])"
        env = {"DJANGO_SETTINGS_MODULE": "beacon.settings", "PATH": "/usr/bin:/bin"}
        result = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parent.parent, env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(result.stdout.strip(), "django.contrib.auth.hashers.Argon2PasswordHasher", result.stderr)

    def test_short_and_common_passwords_are_refused(self):
        form_url = reverse("accounts:user_create")
        client = self.client_for("sysadmin")
        for bad in ("short1!", "password1234", "123456789012"):
            with self.subTest(password=bad):
                response = client.post(form_url, {"username": "newbie", "agency": self.ctu.pk, "password": bad})
                self.assertEqual(response.status_code, 200)
                self.assertFalse(User.objects.filter(username="newbie").exists())
                self.assertContains(response, "invalid-feedback")


class MFATests(BeaconTestCase):
    def test_password_alone_does_not_open_any_page(self):
        client = Client()
        response = post_login(client, "investigator", PASSWORD)
        self.assertRedirects(response, reverse("accounts:mfa_setup"), fetch_redirect_response=False)
        for url in (reverse("home"), reverse("accounts:user_list"), reverse("alerts:list")):
            with self.subTest(url=url):
                response = client.get(url)
                self.assertEqual(response.status_code, 302)
                self.assertEqual(response["Location"], reverse("accounts:mfa_setup"))

    def test_enrolment_at_first_login_then_recovery_codes(self):
        client = Client()
        post_login(client, "investigator", PASSWORD)
        page = client.get(reverse("accounts:mfa_setup"))
        self.assertContains(page, "totp-secret")
        qr = client.get(reverse("accounts:mfa_qr"))
        self.assertEqual(qr["Content-Type"], "image/svg+xml")
        device = TOTPDevice.objects.get(user=self.investigator, confirmed=False)
        response = client.post(reverse("accounts:mfa_setup"), {"code": current_code(device)})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(response.context["codes"]), 10)
        device.refresh_from_db()
        self.assertTrue(device.confirmed)
        self.assertEqual(client.get(reverse("home")).status_code, 200)

    def test_wrong_code_does_not_confirm_enrolment(self):
        client = Client()
        post_login(client, "investigator", PASSWORD)
        client.get(reverse("accounts:mfa_setup"))
        device = TOTPDevice.objects.get(user=self.investigator, confirmed=False)
        wrong = client.post(reverse("accounts:mfa_setup"), {"code": "000000" if current_code(device) != "000000" else "111111"})
        self.assertContains(wrong, "not valid")
        self.assertFalse(TOTPDevice.objects.filter(user=self.investigator, confirmed=True).exists())
        self.assertEqual(client.get(reverse("home")).status_code, 302)

    def test_user_with_device_must_verify_and_cannot_enrol_around_it(self):
        device = give_totp(self.investigator)
        client = Client()
        response = post_login(client, "investigator", PASSWORD)
        self.assertRedirects(response, reverse("accounts:mfa_verify"), fetch_redirect_response=False)
        # Enrolling a second device is not a way round the first.
        self.assertRedirects(client.get(reverse("accounts:mfa_setup")), reverse("accounts:mfa_verify"), fetch_redirect_response=False)
        self.assertEqual(client.get(reverse("home")).status_code, 302)
        response = client.post(reverse("accounts:mfa_verify"), {"code": current_code(device)})
        self.assertRedirects(response, reverse("home"), fetch_redirect_response=False)
        self.assertEqual(client.get(reverse("home")).status_code, 200)
        self.assertTrue(AuditEvent.objects.filter(action="auth.mfa_verified", actor_id=self.investigator.pk).exists())

    def test_recovery_code_works_once(self):
        give_totp(self.care)
        codes = actions.regenerate_recovery_codes(actor=self.care)
        first = Client()
        post_login(first, "care", PASSWORD)
        response = first.post(reverse("accounts:mfa_verify"), {"code": codes[0]})
        self.assertRedirects(response, reverse("home"), fetch_redirect_response=False)
        self.assertEqual(StaticToken.objects.filter(device__user=self.care).count(), 9)
        second = Client()
        post_login(second, "care", PASSWORD)
        response = second.post(reverse("accounts:mfa_verify"), {"code": codes[0]})
        self.assertContains(response, "not valid")

    @override_settings(DEMO_MODE=True)
    def test_demo_mode_waives_enrolment_but_not_verification(self):
        client = Client()
        response = post_login(client, "analyst", PASSWORD)
        self.assertRedirects(response, reverse("home"), fetch_redirect_response=False)
        self.assertContains(client.get(reverse("home")), "Demo mode")
        give_totp(self.hoi)
        other = Client()
        post_login(other, "hoi", PASSWORD)
        self.assertEqual(other.get(reverse("home"))["Location"], reverse("accounts:mfa_verify"))

    def test_without_demo_mode_there_is_no_banner(self):
        self.assertNotContains(self.client_for("analyst").get(reverse("home")), "Demo mode")


@override_settings(LOCKOUT_ACCOUNT_FAILURES=5, LOCKOUT_ADDRESS_FAILURES=20)
class LockoutTests(BeaconTestCase):
    def test_unknown_user_and_wrong_password_get_the_same_answer(self):
        unknown = post_login(Client(), "no-such-person", "whatever-password")
        wrong = post_login(Client(), "investigator", "wrong-password-123")
        self.assertEqual(unknown.status_code, wrong.status_code)
        self.assertEqual(unknown.status_code, 200)
        self.assertContains(unknown, str(GENERIC_LOGIN_ERROR)[:40])
        self.assertContains(wrong, str(GENERIC_LOGIN_ERROR)[:40])
        def page(response, username):
            html = re.sub(r'(csrfmiddlewaretoken" value=|X-CSRFToken": )"[^"]+"', "TOKEN", response.content.decode())
            return html.replace(username, "X")

        self.assertEqual(page(unknown, "no-such-person"), page(wrong, "investigator"))

    def test_account_locks_after_repeated_failures_and_admin_unlocks(self):
        for i in range(5):
            post_login(Client(REMOTE_ADDR=f"10.0.0.{i}"), "investigator", "wrong-password-123")
        user = User.objects.get(pk=self.investigator.pk)
        self.assertIsNotNone(user.locked_at)
        # The right password no longer opens the account, and the answer does not say it is locked.
        response = post_login(Client(), "investigator", PASSWORD)
        self.assertContains(response, str(GENERIC_LOGIN_ERROR)[:40])
        self.assertNotIn("_auth_user_id", response.wsgi_request.session)
        self.assertTrue(AuditEvent.objects.filter(action="auth.account_locked", object_id=str(user.pk)).exists())
        self.assertTrue(Notification.objects.filter(recipient=self.sysadmin, event="accounts.account_locked").exists())
        self.assertFalse(Notification.objects.filter(recipient=self.investigator2).exists())
        # The administrator unlocks it from the user's page.
        admin = self.client_for("sysadmin")
        admin.post(reverse("accounts:user_action", args=[user.pk, "unlock"]))
        user.refresh_from_db()
        self.assertIsNone(user.locked_at)
        response = post_login(Client(), "investigator", PASSWORD)
        self.assertEqual(response.status_code, 302)

    def test_unknown_usernames_lock_nothing_but_answer_alike(self):
        for _ in range(6):
            response = post_login(Client(REMOTE_ADDR="10.1.1.1"), "ghost", "wrong-password-123")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, str(GENERIC_LOGIN_ERROR)[:40])

    def test_address_is_refused_after_many_failures(self):
        for i in range(20):
            post_login(Client(REMOTE_ADDR="192.0.2.7"), f"user{i}", "wrong-password-123")
        response = post_login(Client(REMOTE_ADDR="192.0.2.7"), "analyst", PASSWORD)
        self.assertEqual(response.status_code, 429)
        # Another address is not affected.
        self.assertEqual(post_login(Client(REMOTE_ADDR="192.0.2.8"), "analyst", PASSWORD).status_code, 302)

    def test_wrong_mfa_codes_count_towards_lockout(self):
        device = give_totp(self.analyst)
        client = Client()
        post_login(client, "analyst", PASSWORD)
        bad = "000000" if current_code(device) != "000000" else "111111"
        for _ in range(5):
            response = client.post(reverse("accounts:mfa_verify"), {"code": bad})
        self.assertIsNotNone(User.objects.get(pk=self.analyst.pk).locked_at)
        self.assertRedirects(response, LOGIN, fetch_redirect_response=False)


class SessionTests(BeaconTestCase):
    def test_login_issues_a_new_session_key(self):
        client = Client()
        client.get(LOGIN)
        client.session.save()
        before = client.session.session_key
        post_login(client, "director", PASSWORD)
        self.assertNotEqual(before, client.session.session_key)
        self.assertTrue(UserSession.objects.filter(user=self.director, session_key=client.session.session_key).exists())

    def test_idle_timeout(self):
        client = self.client_for("director")
        self.assertEqual(client.get(reverse("home")).status_code, 200)
        session = client.session
        session[sessions.SEEN_AT] = time.time() - 31 * 60
        session.save()
        response = client.get(reverse("home"))
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith(LOGIN))
        self.assertEqual(client.get(reverse("home")).status_code, 302)
        self.assertTrue(AuditEvent.objects.filter(action="auth.session_expired", details__reason="idle").exists())

    def test_activity_keeps_the_session_alive_until_the_absolute_limit(self):
        client = self.client_for("director")
        session = client.session
        session[sessions.AUTH_AT] = time.time() - 11 * 3600
        session[sessions.SEEN_AT] = time.time() - 20 * 60
        session.save()
        self.assertEqual(client.get(reverse("home")).status_code, 200)
        session = client.session
        session[sessions.AUTH_AT] = time.time() - 12 * 3600 - 5
        session.save()
        self.assertEqual(client.get(reverse("home")).status_code, 302)

    def test_logout_ends_the_session_on_the_server(self):
        client = self.client_for("director")
        key = client.session.session_key
        client.post(reverse("accounts:logout"))
        self.assertFalse(Session.objects.filter(session_key=key).exists())
        # Replaying the old cookie gets nothing.
        replay = Client()
        replay.cookies[settings.SESSION_COOKIE_NAME] = key
        self.assertEqual(replay.get(reverse("home")).status_code, 302)

    def test_logout_needs_post(self):
        client = self.client_for("director")
        self.assertEqual(client.get(reverse("accounts:logout")).status_code, 405)

    def test_deactivating_a_user_ends_all_their_sessions(self):
        phone = Client()
        post_login(phone, "investigator", PASSWORD)
        desk = self.client_for("investigator")
        self.assertEqual(desk.get(reverse("home")).status_code, 200)
        admin = self.client_for("sysadmin")
        admin.post(reverse("accounts:user_action", args=[self.investigator.pk, "deactivate"]))
        self.assertEqual(desk.get(reverse("home")).status_code, 302)
        self.assertEqual(phone.get(reverse("home")).status_code, 302)
        self.assertFalse(UserSession.objects.filter(user=self.investigator).exists())
        self.assertEqual(post_login(Client(), "investigator", PASSWORD).status_code, 200)

    def test_user_can_end_their_other_sessions(self):
        other = self.client_for("care")
        mine = self.client_for("care")
        UserSession.objects.create(user=self.care, session_key=other.session.session_key)
        UserSession.objects.create(user=self.care, session_key=mine.session.session_key)
        mine.post(reverse("accounts:profile_action", args=["end_other_sessions"]))
        self.assertEqual(other.get(reverse("home")).status_code, 302)
        self.assertEqual(mine.get(reverse("home")).status_code, 200)

    @override_settings(SESSION_COOKIE_SECURE=True)
    def test_cookies_are_httponly_and_samesite(self):
        client = Client()
        response = post_login(client, "director", PASSWORD)
        cookie = response.cookies["beacon_session"]
        self.assertTrue(cookie["httponly"])
        self.assertEqual(cookie["samesite"], "Lax")
        self.assertTrue(cookie["secure"])


class ProfileTests(BeaconTestCase):
    def test_user_sees_own_sign_ins_including_failures_but_nobody_elses(self):
        post_login(Client(), "analyst", "wrong-password-123")
        post_login(Client(), "care", "wrong-password-123")
        page = self.client_for("analyst").get(reverse("accounts:profile"))
        events = list(page.context["sign_ins"])
        self.assertTrue(any(e.action == "auth.login_failed" for e in events))
        self.assertTrue(all(e.object_id == str(self.analyst.pk) or e.actor_id == self.analyst.pk for e in events))

    def test_temporary_password_must_be_changed(self):
        admin = self.client_for("sysadmin")
        admin.post(reverse("accounts:user_action", args=[self.intake.pk, "set_password"]), {"password": "Temporary-pass-2026"})
        client = sign_in(Client(), User.objects.get(pk=self.intake.pk))
        self.assertEqual(client.get(reverse("home"))["Location"], reverse("accounts:password_change"))
        response = client.post(
            reverse("accounts:password_change"),
            {"old_password": "Temporary-pass-2026", "new_password1": "My-own-secret-2026", "new_password2": "My-own-secret-2026"},
        )
        self.assertRedirects(response, reverse("accounts:profile"), fetch_redirect_response=False)
        self.assertEqual(client.get(reverse("home")).status_code, 200)

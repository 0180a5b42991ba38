"""Beacon's test base (issue #2): named users for every role in two agencies, a sign-in helper that
passes MFA the way a real device would, and reusable access checks (NetBox's ViewTestCases, Healthchecks'
Alice/Bob/Charlie).

Users: ``self.users[name]`` and attributes of the same name.
- In the home unit (CTU): director, deputy, hoi, investigator, investigator2, care, intake, analyst,
  sysadmin, auditor.
- In a second agency (police, TTPS), one per role: other_director, other_investigator, ... other_auditor.
- Service provider staff in two providers: shelter (Safe Harbour), refuge (Blue Basin).
- nobody: a CTU account with no role at all.
"""

from __future__ import annotations

import time

from django.test import Client, TestCase
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import sessions
from accounts.models import Role, User
from accounts.roles import sync_roles
from directory.choices import AgencyKind, OrganisationType
from directory.models import Agency

PASSWORD = "correct horse battery staple 42"

ROLE_USERS = {
    "director": "director",
    "deputy": "deputy_director",
    "hoi": "head_of_investigations",
    "investigator": "investigator",
    "care": "victim_care_officer",
    "intake": "intake_officer",
    "analyst": "analyst",
    "provider": "service_provider_staff",
    "sysadmin": "system_administrator",
    "auditor": "auditor",
}


def make_agency(name: str, short: str, kind=AgencyKind.NGO, org_type=OrganisationType.NGO, home=False) -> Agency:
    return Agency.objects.create(name=name, short_name=short, kind=kind, org_type=org_type, is_home_unit=home)


def make_user(username: str, agency: Agency, *role_codes: str, password: str = PASSWORD) -> User:
    user = User.objects.create_user(username=username, password=password, agency=agency, email=f"{username}@example.invalid")
    user.roles.set(Role.objects.filter(code__in=role_codes))
    return user


# Rows the data migrations install. A TransactionTestCase (the live-server browser tests) flushes every table
# when it ends, so a later test finds them gone: live-server tests put them back in setUp.
REFERENCE_DATA_MIGRATIONS = (
    "screening.migrations.0002_instrument_v1",
    "alerts.migrations.0003_default_rules",
    "alerts.migrations.0004_case_record_rules",
    "investigations.migrations.0002_default_alert_rules",
)


def restore_reference_data() -> None:
    import importlib

    from django.apps import apps
    from django.db.migrations import RunPython

    sync_roles()
    for name in REFERENCE_DATA_MIGRATIONS:
        for operation in importlib.import_module(name).Migration.operations:
            if isinstance(operation, RunPython):
                operation.code(apps, None)


def give_totp(user: User) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="test", confirmed=True)


def current_code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):06d}"


def sign_in(client: Client, user: User) -> Client:
    """Sign in as ``user`` with a verified second factor, as if password and TOTP had both been entered."""
    device = give_totp(user)
    client.force_login(user, backend="accounts.backends.RoleBackend")
    session = client.session
    session["otp_device_id"] = device.persistent_id
    now = time.time()
    session[sessions.AUTH_AT] = now
    session[sessions.SEEN_AT] = now
    session.save()
    return client


class BeaconTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        sync_roles()
        cls.ctu = make_agency("Counter Trafficking Unit", "CTU", AgencyKind.CTU, OrganisationType.CENTRAL_GOVERNMENT, home=True)
        cls.police = make_agency("Police Service", "TTPS", AgencyKind.POLICE, OrganisationType.LAW_ENFORCEMENT)
        cls.safe_harbour = make_agency("Safe Harbour Shelter", "Safe Harbour", AgencyKind.SHELTER)
        cls.blue_basin = make_agency("Blue Basin Refuge", "Blue Basin", AgencyKind.SHELTER)
        cls.users = {}
        for name, role in ROLE_USERS.items():
            if name != "provider":
                cls.users[name] = make_user(name, cls.ctu, role)
            cls.users[f"other_{name}"] = make_user(f"other_{name}", cls.police, role)
        cls.users["investigator2"] = make_user("investigator2", cls.ctu, "investigator")
        cls.users["shelter"] = make_user("shelter", cls.safe_harbour, "service_provider_staff")
        cls.users["refuge"] = make_user("refuge", cls.blue_basin, "service_provider_staff")
        cls.users["nobody"] = make_user("nobody", cls.ctu)
        for name, user in cls.users.items():
            setattr(cls, name, user)

    def client_for(self, user: User | str) -> Client:
        if isinstance(user, str):
            user = self.users[user]
        return sign_in(Client(), User.objects.get(pk=user.pk))


class AccessTestMixin:
    """Checks one URL for every kind of visitor. Subclasses set:

    - ``allowed``: user names that get 200 (or ``allowed_status``);
    - ``hidden``: user names that must get 404, exactly as if the object did not exist;
    - ``forbidden``: user names that may see the object but not do this, and get 403;
    - ``method``: "get" (default) or "post", with ``data()``; and ``url()``.
    Anonymous visitors are always sent to the sign-in page.
    """

    allowed: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    method = "get"
    allowed_status = (200,)

    def url(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def data(self) -> dict:
        return {}

    def _request(self, client):
        return getattr(client, self.method)(self.url(), self.data())

    def test_anonymous_is_sent_to_sign_in(self):
        response = self._request(Client())
        self.assertEqual(response.status_code, 302)
        self.assertIn("/accounts/login/", response["Location"])

    def test_allowed_users(self):
        self.assertTrue(self.allowed, "an access test must name who is allowed")
        for name in self.allowed:
            with self.subTest(user=name):
                response = self._request(self.client_for(name))
                self.assertIn(response.status_code, self.allowed_status, f"{name} should be allowed")

    def test_users_without_access_get_404(self):
        for name in self.hidden:
            with self.subTest(user=name):
                self.assertEqual(self._request(self.client_for(name)).status_code, 404, f"{name} should get 404")

    def test_users_without_permission_get_403(self):
        for name in self.forbidden:
            with self.subTest(user=name):
                self.assertEqual(self._request(self.client_for(name)).status_code, 403, f"{name} should get 403")

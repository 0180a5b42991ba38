"""The service directory, referral pathways, import/export and the location rule (issue #5)."""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditEvent
from care.choices import NeedType
from cases.models import Person
from directory import actions, exchange
from directory.choices import AgencyKind, OrganisationType
from directory.models import Agency, Contact, Pathway, PathwayStep, Service
from directory.pathways import haversine_km, propose_providers
from directory.visibility import can_see_location
from tests.base import BeaconTestCase, make_agency, make_user

MEDIA_ROOT = tempfile.mkdtemp(prefix="beacon-directory-tests-")
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

# Fictional points: Port of Spain, a few km east, and San Fernando (about 45 km south).
POS = (Decimal("10.660000"), Decimal("-61.510000"))
EAST = (Decimal("10.640000"), Decimal("-61.400000"))
SOUTH = (Decimal("10.280000"), Decimal("-61.460000"))


def profile(agency, *, services, adults=True, children=False, sexes=(), nationalities=(), languages=(), at=None,
            address="", open_24_7=False, hours="", authorised=True):  # fmt: skip
    agency = Agency.objects.get(pk=agency.pk)
    agency = actions.update_provider(
        agency, actor=None, version=agency.version, services=list(services), serves_adults=adults,
        serves_children=children, sexes=list(sexes), nationalities=list(nationalities), languages=list(languages),
        opening_hours=hours, open_24_7=open_24_7, latitude=at[0] if at else None, longitude=at[1] if at else None,
        phone="+1 868 555 0100", email="", address=address,
    )  # fmt: skip
    if authorised:
        actions.set_referral_authorisation(agency, actor=None, version=agency.version, authorised=True)
    return Agency.objects.get(pk=agency.pk)


def set_capacity(agency, service_type, total, free):
    service = Service.objects.get(agency=agency, service_type=service_type)
    return actions.update_capacity(service, actor=None, version=service.version, total=total, free=free)


def add_step(need, agency, step=None):
    pathway = Pathway.objects.filter(need_type=need).first()
    return actions.add_pathway_step(
        need, actor=None, version=pathway.version if pathway else 1, agency=agency, step=step
    )


def person(*, age=30, sex="female", nationalities=("VE",), languages=()):
    return SimpleNamespace(person=Person(
        estimated_age=age, age_estimated_on=date.today() if age is not None else None, sex=sex,
        nationalities=list(nationalities), languages=list(languages),
    ))  # fmt: skip


def names(proposals):
    return [p.agency.name for p in proposals]


@override_settings(MEDIA_ROOT=MEDIA_ROOT)
class DirectoryTestCase(BeaconTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        # Safe Harbour: women only, adults, Spanish, Port of Spain, 3 beds free.
        cls.safe_harbour = profile(
            cls.safe_harbour, services=[NeedType.SHELTER, NeedType.MHPSS], sexes=["female"], languages=["es"],
            at=POS, address="1 Secret Lane, Port of Spain", open_24_7=True,
        )  # fmt: skip
        set_capacity(cls.safe_harbour, NeedType.SHELTER, 10, 3)
        # Blue Basin: adults and children, no bed free.
        cls.blue_basin = profile(
            cls.blue_basin, services=[NeedType.SHELTER], children=True, languages=["en", "es"], at=EAST,
            address="2 Hidden Road",
        )  # fmt: skip
        set_capacity(cls.blue_basin, NeedType.SHELTER, 6, 0)
        # Hilltop House: adults and children, English only, east of Port of Spain, 2 beds free.
        cls.hilltop = profile(
            make_agency("Hilltop House", "Hilltop", AgencyKind.SHELTER), services=[NeedType.SHELTER],
            children=True, languages=["en"], at=EAST, address="3 Quiet Hill",
        )  # fmt: skip
        set_capacity(cls.hilltop, NeedType.SHELTER, 5, 2)
        # A shelter offering beds but not in the pathway.
        cls.outside = profile(
            make_agency("Outside Shelter", "Outside", AgencyKind.SHELTER), services=[NeedType.SHELTER],
            languages=["en"], at=SOUTH, address="4 Far Away",
        )  # fmt: skip
        # A shelter not authorised for referrals.
        cls.unauthorised = profile(
            make_agency("Unauthorised Shelter", "Unauth", AgencyKind.SHELTER), services=[NeedType.SHELTER],
            authorised=False,
        )  # fmt: skip
        cls.clinic = profile(
            make_agency("Northside Clinic", "Northside", AgencyKind.CLINIC, OrganisationType.HEALTH),
            services=[NeedType.MEDICAL], children=True, languages=["en"], at=SOUTH, address="9 Clinic Road",
            hours="Mon-Fri 08:00-16:00",
        )  # fmt: skip
        add_step(NeedType.SHELTER, cls.safe_harbour)
        add_step(NeedType.SHELTER, cls.hilltop, step=1)
        add_step(NeedType.SHELTER, cls.blue_basin)
        add_step(NeedType.MEDICAL, cls.clinic)
        cls.hilltop_staff = make_user("hilltop", cls.hilltop, "service_provider_staff")

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(MEDIA_ROOT, ignore_errors=True)


class BrowseTests(DirectoryTestCase):
    url = reverse("directory:browse")

    def test_every_signed_in_user_browses(self):
        for name in ("investigator", "care", "shelter", "refuge", "other_investigator", "auditor", "nobody"):
            with self.subTest(user=name):
                response = self.client_for(name).get(self.url)
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, "Hilltop House")
                self.assertContains(response, "Northside Clinic")

    def test_anonymous_is_sent_to_sign_in(self):
        response = Client().get(self.url)
        self.assertEqual(response.status_code, 302)
        self.assertIn("/accounts/login/", response["Location"])

    def test_filters(self):
        client = self.client_for("care")
        medical = client.get(self.url, {"service": "medical"})
        self.assertContains(medical, "Northside Clinic")
        self.assertNotContains(medical, "Hilltop House")
        children = client.get(self.url, {"who": "children"})
        self.assertContains(children, "Hilltop House")
        self.assertNotContains(children, "Safe Harbour Shelter")
        spanish = client.get(self.url, {"language": "spa"})
        self.assertContains(spanish, "Safe Harbour Shelter")
        self.assertNotContains(spanish, "Hilltop House")
        always = client.get(self.url, {"open_24_7": "on"})
        self.assertContains(always, "Safe Harbour Shelter")
        self.assertNotContains(always, "Northside Clinic")
        free = client.get(self.url, {"service": "shelter", "free_capacity": "on"})
        self.assertContains(free, "Safe Harbour Shelter")
        self.assertContains(free, "Hilltop House")
        self.assertNotContains(free, "Blue Basin Refuge")

    def test_unknown_language_code_is_reported(self):
        response = self.client_for("care").get(self.url, {"language": "zz"})
        self.assertContains(response, "Not an ISO 639 language code.")

    def test_free_beds_chart_is_inline_svg_without_script(self):
        html = self.client_for("care").get(self.url).content.decode()
        self.assertIn("<svg", html)
        self.assertIn("Free shelter beds per provider", html)
        self.assertIn("<rect", html)
        self.assertNotIn("<script>", html)

    def test_provider_detail(self):
        response = self.client_for("investigator").get(reverse("directory:provider_detail", args=[self.clinic.pk]))
        self.assertContains(response, "Northside Clinic")
        self.assertContains(response, "Mon-Fri 08:00-16:00")
        self.assertContains(response, "Medical, step 1")
        self.assertEqual(
            self.client_for("care").get(reverse("directory:provider_detail", args=[99999])).status_code, 404
        )


class ProposeProvidersTests(DirectoryTestCase):
    def test_pathway_order_then_providers_outside_it(self):
        proposals = propose_providers(NeedType.SHELTER, limit=10)
        self.assertEqual(names(proposals), ["Hilltop House", "Safe Harbour Shelter", "Outside Shelter"])
        self.assertEqual([p.step for p in proposals], [1, 1, None])
        self.assertIn("in the pathway for shelter, step 1", proposals[0].reasons)
        self.assertIn("2 beds free", proposals[0].reasons)
        self.assertIn("offers shelter but is not in the pathway", proposals[2].reasons)

    def test_unauthorised_and_zero_capacity_shelters_are_left_out(self):
        found = names(propose_providers(NeedType.SHELTER, limit=10))
        self.assertNotIn("Unauthorised Shelter", found)
        self.assertNotIn("Blue Basin Refuge", found)
        set_capacity(self.blue_basin, NeedType.SHELTER, 6, 1)
        proposals = propose_providers(NeedType.SHELTER, limit=10)
        self.assertIn("Blue Basin Refuge", names(proposals))
        blue = next(p for p in proposals if p.agency.pk == self.blue_basin.pk)
        self.assertIn("in the pathway for shelter, step 2", blue.reasons)
        self.assertIn("1 bed free", blue.reasons)

    def test_child_is_not_proposed_adult_only_providers(self):
        child = propose_providers(NeedType.SHELTER, case_person=person(age=15), limit=10)
        self.assertEqual(names(child), ["Hilltop House"])
        self.assertIn("takes children", child[0].reasons)
        adult = names(propose_providers(NeedType.SHELTER, case_person=person(age=30), limit=10))
        self.assertIn("Safe Harbour Shelter", adult)
        self.assertIn("Outside Shelter", adult)

    def test_sex_and_nationality_eligibility(self):
        man = names(propose_providers(NeedType.SHELTER, case_person=person(sex="male"), limit=10))
        self.assertNotIn("Safe Harbour Shelter", man)
        self.assertIn("Hilltop House", man)
        hilltop = Agency.objects.get(pk=self.hilltop.pk)
        actions.update_provider(hilltop, actor=None, version=hilltop.version, nationalities=["TT"])
        self.assertNotIn(
            "Hilltop House",
            names(propose_providers(NeedType.SHELTER, case_person=person(nationalities=["VE"]), limit=10)),
        )
        national = propose_providers(NeedType.SHELTER, case_person=person(nationalities=["TT"]), limit=10)
        self.assertIn("accepts nationals of TT", national[0].reasons)

    def test_providers_speaking_the_persons_language_come_first_within_a_step(self):
        spanish = propose_providers(NeedType.SHELTER, case_person=person(languages=["spa"]), limit=10)
        self.assertEqual(names(spanish)[:2], ["Safe Harbour Shelter", "Hilltop House"])
        self.assertIn("speaks Spanish", spanish[0].reasons)
        english = propose_providers(NeedType.SHELTER, case_person=person(languages=["en"]), limit=10)
        self.assertEqual(names(english)[:2], ["Hilltop House", "Safe Harbour Shelter"])

    def test_nearest_first_within_a_step_with_distance_reasons(self):
        near_pos = propose_providers(NeedType.SHELTER, near=(10.66, -61.51), limit=10)
        self.assertEqual(names(near_pos), ["Safe Harbour Shelter", "Hilltop House", "Outside Shelter"])
        self.assertLess(near_pos[0].distance_km, 1)
        self.assertIn("0.0 km away", near_pos[0].reasons)
        self.assertTrue(any(r.endswith("km away") for r in near_pos[1].reasons))
        near_east = propose_providers(NeedType.SHELTER, near=(10.64, -61.40), limit=10)
        self.assertEqual(names(near_east)[:2], ["Hilltop House", "Safe Harbour Shelter"])
        # The provider outside the pathway stays last even when it is the nearest.
        near_south = propose_providers(NeedType.SHELTER, near=(10.28, -61.46), limit=10)
        self.assertEqual(names(near_south)[-1], "Outside Shelter")

    def test_limit_and_haversine(self):
        self.assertEqual(len(propose_providers(NeedType.SHELTER, limit=1)), 1)
        self.assertAlmostEqual(haversine_km((10.66, -61.51), (10.28, -61.46)), 42.6, delta=1)


class LocationVisibilityTests(DirectoryTestCase):
    def detail(self, user, agency):
        return self.client_for(user).get(reverse("directory:provider_detail", args=[agency.pk]))

    def test_shelter_staff_see_their_own_address_only(self):
        self.assertContains(self.detail("shelter", self.safe_harbour), "1 Secret Lane")
        self.assertNotContains(self.detail("refuge", self.safe_harbour), "1 Secret Lane")
        self.assertContains(self.detail("refuge", self.blue_basin), "2 Hidden Road")

    def test_unit_staff_who_place_people_see_addresses(self):
        for name in ("care", "hoi", "director", "sysadmin"):
            with self.subTest(user=name):
                self.assertContains(self.detail(name, self.safe_harbour), "1 Secret Lane")
                self.assertContains(self.detail(name, self.safe_harbour), "10.660000")

    def test_others_do_not(self):
        # Investigators hold neither directory.manage_services nor referrals.send by default (see the report).
        for name in ("investigator", "other_investigator", "other_director", "analyst", "auditor", "nobody", "hilltop"):
            with self.subTest(user=name):
                response = self.detail(name if name != "hilltop" else self.hilltop_staff, self.safe_harbour)
                self.assertNotContains(response, "1 Secret Lane")
                self.assertNotContains(response, "10.660000")
                self.assertContains(response, "+1 868 555 0100")

    def test_investigator_sees_once_their_role_places_people(self):
        role = Role.objects.get(code="investigator")
        role.permissions = sorted({*role.permissions, "referrals.send"})
        role.save()
        self.assertContains(self.detail("investigator", self.safe_harbour), "1 Secret Lane")
        # The same role gives a partner agency's investigator nothing (referrals.send is a unit permission).
        self.assertNotContains(self.detail("other_investigator", self.safe_harbour), "1 Secret Lane")

    def test_addresses_of_non_shelters_are_public_to_signed_in_users(self):
        self.assertContains(self.detail("other_investigator", self.clinic), "9 Clinic Road")
        self.assertTrue(can_see_location(self.users["refuge"], self.clinic))
        self.assertFalse(can_see_location(None, self.clinic))

    def test_browse_and_print_mask_addresses(self):
        for url in (reverse("directory:browse"), reverse("directory:print")):
            with self.subTest(url=url):
                self.assertNotContains(self.client_for("refuge").get(url), "1 Secret Lane")
                self.assertContains(self.client_for("shelter").get(url), "1 Secret Lane")
                self.assertContains(self.client_for("care").get(url), "3 Quiet Hill")

    def test_anonymous_is_redirected(self):
        response = Client().get(reverse("directory:provider_detail", args=[self.safe_harbour.pk]))
        self.assertEqual(response.status_code, 302)


class PrintTests(DirectoryTestCase):
    def test_print_page_groups_by_service_with_print_css(self):
        response = self.client_for("investigator").get(reverse("directory:print"))
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        self.assertIn("css/directory-print.css", html)
        self.assertIn('id="group-shelter"', html)
        self.assertIn('id="group-medical"', html)
        self.assertLess(html.index('id="group-shelter"'), html.index("Hilltop House"))
        self.assertNotIn("<script>", html)


class EditPermissionTests(DirectoryTestCase):
    def edit_data(self, agency, **overrides):
        agency.refresh_from_db()
        data = {
            "version": agency.version, "services": ["shelter", "mhpss", "legal_aid"], "serves_adults": "on",
            "sexes": ["female"], "nationalities": "", "languages": "es, en", "opening_hours": "", "open_24_7": "on",
            "phone": "+1 868 555 0100", "email": "", "address": "1 Secret Lane, Port of Spain",
            "latitude": "10.66", "longitude": "-61.51", "authorised_for_referrals": "on",
        }  # fmt: skip
        data.update(overrides)
        return data

    def test_edits_need_the_permission(self):
        urls = [
            reverse("directory:provider_edit", args=[self.safe_harbour.pk]),
            reverse("directory:contact_add", args=[self.safe_harbour.pk]),
            reverse("directory:terms_upload", args=[self.safe_harbour.pk]),
            reverse("directory:pathway_edit", args=["shelter"]),
            reverse("directory:import"),
            reverse("directory:export", args=["csv"]),
        ]
        for name in ("investigator", "care", "shelter", "other_director", "analyst"):
            client = self.client_for(name)
            for url in urls:
                with self.subTest(user=name, url=url):
                    self.assertEqual(client.get(url).status_code, 403)
                    self.assertEqual(client.post(url, {}).status_code, 403)
        hoi = self.client_for("hoi")
        for url in urls:
            with self.subTest(user="hoi", url=url):
                self.assertEqual(hoi.get(url).status_code, 200)

    def test_manager_edits_the_entry_and_authorisation_is_audited(self):
        client = self.client_for("hoi")
        url = reverse("directory:provider_edit", args=[self.safe_harbour.pk])
        response = client.post(url, self.edit_data(self.safe_harbour, authorised_for_referrals=""))
        self.assertEqual(response.status_code, 302)
        agency = Agency.objects.get(pk=self.safe_harbour.pk)
        self.assertEqual(sorted(agency.service_types()), ["legal_aid", "mhpss", "shelter"])
        self.assertEqual(agency.languages, ["es", "en"])
        self.assertFalse(agency.authorised_for_referrals)
        # Withdrawing the authorisation takes the provider out of every pathway.
        self.assertFalse(PathwayStep.objects.filter(agency=agency).exists())
        event = (
            AuditEvent.objects.filter(action="directory.referral_authorisation_changed", object_id=str(agency.pk))
            .order_by("id")
            .last()
        )
        self.assertEqual(event.details, {"authorised": False})
        self.assertEqual(event.actor_name, "hoi")
        updated = (
            AuditEvent.objects.filter(action="directory.provider_updated", object_id=str(agency.pk))
            .order_by("id")
            .last()
        )
        self.assertIn("services", updated.changed_fields)
        self.assertIn("languages", updated.changed_fields)

    def test_bad_codes_are_refused(self):
        client = self.client_for("hoi")
        url = reverse("directory:provider_edit", args=[self.safe_harbour.pk])
        response = client.post(url, self.edit_data(self.safe_harbour, languages="es, xx", nationalities="VEN"))
        self.assertContains(response, "Not ISO 639 language codes: xx.")
        self.assertContains(response, "Not ISO 3166-1 country codes: VEN.")

    def test_stale_edit_is_refused_with_409(self):
        client = self.client_for("hoi")
        url = reverse("directory:provider_edit", args=[self.safe_harbour.pk])
        stale = self.edit_data(self.safe_harbour, opening_hours="first")
        self.assertEqual(client.post(url, self.edit_data(self.safe_harbour, opening_hours="second")).status_code, 302)
        response = client.post(url, stale)
        self.assertEqual(response.status_code, 409)
        self.assertContains(response, "Someone else changed this record", status_code=409)
        self.assertEqual(Agency.objects.get(pk=self.safe_harbour.pk).opening_hours, "second")

    def test_contacts_add_edit_remove(self):
        client = self.client_for("hoi")
        response = client.post(
            reverse("directory:contact_add", args=[self.safe_harbour.pk]),
            {"name": "Duty Officer", "role": "Night shift", "phone": "+1 868 555 0199", "email": "duty@example.org"},
        )
        self.assertEqual(response.status_code, 302)
        contact = Contact.objects.get(agency=self.safe_harbour)
        edit = reverse("directory:contact_edit", args=[self.safe_harbour.pk, contact.pk])
        self.assertEqual(
            client.post(edit, {"name": "Duty Officer", "role": "Day shift", "version": contact.version}).status_code,
            302,
        )
        stale = client.post(edit, {"name": "Duty Officer", "role": "Stale", "version": contact.version})
        self.assertEqual(stale.status_code, 409)
        contact.refresh_from_db()
        self.assertEqual(contact.role, "Day shift")
        # Another agency's contact through this agency's URL does not exist.
        other = reverse("directory:contact_edit", args=[self.blue_basin.pk, contact.pk])
        self.assertEqual(client.get(other).status_code, 404)
        client.post(
            reverse("directory:contact_remove", args=[self.safe_harbour.pk, contact.pk]), {"version": contact.version}
        )
        self.assertFalse(Contact.objects.filter(pk=contact.pk).exists())
        actions_seen = set(
            AuditEvent.objects.filter(action__startswith="directory.contact_").values_list("action", flat=True)
        )
        self.assertEqual(
            actions_seen, {"directory.contact_added", "directory.contact_updated", "directory.contact_removed"}
        )


class CapacityTests(DirectoryTestCase):
    def url(self, agency):
        return reverse("directory:capacity", args=[agency.pk])

    def post(self, user, agency, total, free, version=None):
        service = Service.objects.get(agency=agency, service_type=NeedType.SHELTER)
        data = {"service": service.pk, "version": version or service.version, "total": total, "free": free}
        return self.client_for(user).post(self.url(agency), data)

    def test_provider_staff_update_their_own_capacity(self):
        self.assertEqual(self.client_for("shelter").get(self.url(self.safe_harbour)).status_code, 200)
        response = self.post("shelter", self.safe_harbour, 10, 1)
        self.assertEqual(response.status_code, 302)
        service = Service.objects.get(agency=self.safe_harbour, service_type=NeedType.SHELTER)
        self.assertEqual((service.capacity_total, service.capacity_free), (10, 1))
        self.assertEqual(service.capacity_updated_by.username, "shelter")
        self.assertIsNotNone(service.capacity_updated_at)
        event = AuditEvent.objects.filter(action="directory.capacity_updated").order_by("id").last()
        self.assertEqual(event.actor_name, "shelter")
        self.assertEqual(event.changed_fields, ["capacity_free"])
        self.assertEqual(event.details["service"], "shelter")

    def test_provider_staff_cannot_update_another_providers_capacity(self):
        self.assertEqual(self.client_for("shelter").get(self.url(self.blue_basin)).status_code, 403)
        self.assertEqual(self.post("shelter", self.blue_basin, 6, 6).status_code, 403)
        # Nor smuggle another provider's service into their own page.
        other = Service.objects.get(agency=self.blue_basin, service_type=NeedType.SHELTER)
        response = self.client_for("shelter").post(
            self.url(self.safe_harbour), {"service": other.pk, "version": other.version, "total": 6, "free": 6}
        )
        self.assertEqual(response.status_code, 404)
        self.assertEqual(Service.objects.get(pk=other.pk).capacity_free, 0)

    def test_unit_staff_without_the_permission_cannot(self):
        for name in ("care", "investigator", "other_director"):
            with self.subTest(user=name):
                self.assertEqual(self.post(name, self.safe_harbour, 10, 9).status_code, 403)

    def test_manager_updates_any_and_stale_update_is_refused(self):
        service = Service.objects.get(agency=self.blue_basin, service_type=NeedType.SHELTER)
        version = service.version
        self.assertEqual(self.post("hoi", self.blue_basin, 6, 2, version=version).status_code, 302)
        response = self.post("refuge", self.blue_basin, 6, 5, version=version)
        self.assertEqual(response.status_code, 409)
        self.assertEqual(Service.objects.get(pk=service.pk).capacity_free, 2)

    def test_more_free_than_total_is_refused(self):
        response = self.post("shelter", self.safe_harbour, 2, 5)
        self.assertContains(response, "There cannot be more free places than places in total.")


class PathwayEditorTests(DirectoryTestCase):
    url = reverse("directory:pathway_edit", args=["shelter"])

    def change(self, client, entry, operation, version=None):
        version = version or Pathway.objects.get(need_type="shelter").version
        url = reverse("directory:pathway_step_change", args=["shelter", entry.pk, operation])
        return client.post(url, {"version": version})

    def order(self):
        return [
            (s.step, s.agency.name)
            for s in PathwayStep.objects.filter(pathway__need_type="shelter").order_by("step", "agency__name")
        ]

    def test_list_is_readable_by_everyone(self):
        response = self.client_for("refuge").get(reverse("directory:pathway_list"))
        self.assertContains(response, "Hilltop House")

    def test_add_move_remove(self):
        client = self.client_for("hoi")
        page = client.get(self.url)
        self.assertContains(page, "Outside Shelter")  # can be added
        self.assertNotContains(page, "Unauthorised Shelter")
        version = Pathway.objects.get(need_type="shelter").version
        self.assertEqual(client.post(self.url, {"agency": self.outside.pk, "version": version}).status_code, 302)
        self.assertEqual(
            self.order(),
            [(1, "Hilltop House"), (1, "Safe Harbour Shelter"), (2, "Blue Basin Refuge"), (3, "Outside Shelter")],
        )
        outside = PathwayStep.objects.get(agency=self.outside)
        self.change(client, outside, "up")
        self.assertEqual(
            self.order(),
            [(1, "Hilltop House"), (1, "Safe Harbour Shelter"), (2, "Outside Shelter"), (3, "Blue Basin Refuge")],
        )
        hilltop = PathwayStep.objects.get(agency=self.hilltop)
        self.change(client, hilltop, "down")  # leaves the shared step for a step of its own after it
        self.assertEqual(
            self.order(),
            [(1, "Safe Harbour Shelter"), (2, "Hilltop House"), (3, "Outside Shelter"), (4, "Blue Basin Refuge")],
        )
        self.change(client, hilltop, "remove")
        self.assertEqual(self.order(), [(1, "Safe Harbour Shelter"), (2, "Outside Shelter"), (3, "Blue Basin Refuge")])
        self.assertEqual(names(propose_providers("shelter", limit=10))[:2], ["Safe Harbour Shelter", "Outside Shelter"])
        done = list(
            AuditEvent.objects.filter(action__startswith="directory.pathway_step_")
            .order_by("id")
            .values_list("action", flat=True)
        )
        self.assertEqual(
            done[-4:],
            [
                "directory.pathway_step_added",
                "directory.pathway_step_moved",
                "directory.pathway_step_moved",
                "directory.pathway_step_removed",
            ],
        )

    def test_stale_change_is_refused(self):
        client = self.client_for("hoi")
        entry = PathwayStep.objects.get(agency=self.blue_basin)
        old = Pathway.objects.get(need_type="shelter").version
        self.change(client, entry, "up", version=old)
        before = self.order()
        self.change(client, entry, "down", version=old)
        self.assertEqual(self.order(), before)

    def test_providers_not_offering_the_service_cannot_be_added(self):
        client = self.client_for("hoi")
        version = Pathway.objects.get(need_type="shelter").version
        response = client.post(self.url, {"agency": self.clinic.pk, "version": version})
        self.assertEqual(response.status_code, 200)
        self.assertFalse(PathwayStep.objects.filter(pathway__need_type="shelter", agency=self.clinic).exists())

    def test_new_pathway_and_unknown_need(self):
        client = self.client_for("hoi")
        url = reverse("directory:pathway_edit", args=["mhpss"])
        self.assertEqual(client.post(url, {"agency": self.safe_harbour.pk, "version": 1}).status_code, 302)
        self.assertEqual(names(propose_providers("mhpss")), ["Safe Harbour Shelter"])
        self.assertEqual(client.get(reverse("directory:pathway_edit", args=["spaceflight"])).status_code, 404)


class TermsOfReferenceTests(DirectoryTestCase):
    def upload(self, user, data, name="tor.pdf"):
        agency = Agency.objects.get(pk=self.safe_harbour.pk)
        return self.client_for(user).post(
            reverse("directory:terms_upload", args=[agency.pk]),
            {"upload": SimpleUploadedFile(name, data), "version": agency.version},
        )

    def test_upload_and_download(self):
        self.assertEqual(self.upload("hoi", PDF).status_code, 302)
        agency = Agency.objects.get(pk=self.safe_harbour.pk)
        self.assertTrue(agency.terms_stored_name)
        url = reverse("directory:terms_download", args=[agency.pk])
        response = self.client_for("shelter").get(url)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, PDF)
        self.assertTrue(response["Content-Disposition"].startswith("attachment;"))
        self.assertEqual(self.client_for("refuge").get(url).status_code, 403)
        self.assertEqual(Client().get(url).status_code, 302)
        self.assertTrue(AuditEvent.objects.filter(action="directory.terms_uploaded").exists())
        self.assertTrue(AuditEvent.objects.filter(action="directory.terms_downloaded", actor_name="shelter").exists())

    def test_only_pdf(self):
        response = self.upload("hoi", b"\x89PNG\r\n\x1a\nnot a pdf", name="tor.pdf")
        self.assertContains(response, "must be a PDF")
        self.assertFalse(Agency.objects.get(pk=self.safe_harbour.pk).terms_stored_name)

    def test_no_terms_is_404(self):
        self.assertEqual(
            self.client_for("hoi").get(reverse("directory:terms_download", args=[self.clinic.pk])).status_code, 404
        )


def snapshot() -> dict:
    """The directory as data, to compare before and after a round trip."""
    state = {}
    for agency in Agency.objects.prefetch_related("services", "contacts").order_by("name"):
        state[agency.name] = {
            "fields": {f: getattr(agency, f) for f in ("short_name", "org_type", "kind", "country", "phone", "email", "address", "is_active", "authorised_for_referrals", "serves_adults", "serves_children", "sexes", "nationalities", "languages", "opening_hours", "open_24_7", "latitude", "longitude")},
            "services": sorted((s.service_type, s.capacity_total, s.capacity_free) for s in agency.services.all()),
            "contacts": sorted((c.name, c.role, c.phone, c.email) for c in agency.contacts.all()),
            "steps": sorted(agency.pathway_steps.values_list("pathway__need_type", "step")),
        }  # fmt: skip
    return state


def csv_file(rows: list[dict], name="directory.csv") -> SimpleUploadedFile:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=exchange.COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return SimpleUploadedFile(name, out.getvalue().encode())


GOOD_ROW = {
    "name": "Riverside Hostel (fictional)", "short_name": "Riverside", "org_type": "NGO", "kind": "shelter",
    "country": "TT", "phone": "+1 868 555 0300", "email": "info@riverside.example.org", "address": "7 River Walk",
    "is_active": "yes", "authorised_for_referrals": "yes", "services": "shelter, food_nfi", "serves_adults": "yes",
    "serves_children": "no", "sexes": "", "nationalities": "VE, TT", "languages": "en, spa", "opening_hours": "",
    "open_24_7": "yes", "latitude": "10.5", "longitude": "-61.3", "capacity": "shelter=4/9",
    "contacts": "Ann Lee | Manager | +1 868 555 0301 | ann@riverside.example.org\nBo Singh | Night staff | |",
    "pathways": "shelter:2",
}  # fmt: skip


class ImportExportTests(DirectoryTestCase):
    import_url = reverse("directory:import")

    def post_import(self, upload, user="hoi"):
        return self.client_for(user).post(self.import_url, {"upload": upload})

    def test_good_import_creates_and_is_idempotent(self):
        response = self.post_import(csv_file([GOOD_ROW]))
        self.assertEqual(response.status_code, 302)
        agency = Agency.objects.get(name="Riverside Hostel (fictional)")
        self.assertEqual(agency.languages, ["en", "es"])
        self.assertEqual(agency.latitude, Decimal("10.5"))
        self.assertTrue(agency.authorised_for_referrals)
        shelter = agency.service("shelter")
        self.assertEqual((shelter.capacity_free, shelter.capacity_total), (4, 9))
        self.assertEqual(agency.contacts.count(), 2)
        self.assertEqual(PathwayStep.objects.get(agency=agency).step, 2)
        event = AuditEvent.objects.filter(action="directory.imported").order_by("id").last()
        self.assertEqual(event.details, {"rows": 1, "created": 1, "updated": 0})
        before = snapshot()
        self.assertEqual(self.post_import(csv_file([GOOD_ROW])).status_code, 302)
        self.assertEqual(snapshot(), before)
        self.assertEqual(Agency.objects.filter(name="Riverside Hostel (fictional)").count(), 1)

    def test_any_bad_row_refuses_the_whole_file_with_a_report(self):
        rows = [
            GOOD_ROW,
            {
                **GOOD_ROW,
                "name": "Bad Service Org",
                "services": "shelter, teleportation",
                "pathways": "",
                "capacity": "",
            },
            {**GOOD_ROW, "name": "Bad Coordinates Org", "latitude": "95", "longitude": "abc", "pathways": ""},
            {**GOOD_ROW, "name": "Bad Language Org", "languages": "en, xx", "pathways": ""},
            {**GOOD_ROW, "name": "", "pathways": ""},
        ]
        agencies, events = Agency.objects.count(), AuditEvent.objects.count()
        response = self.post_import(csv_file(rows))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Nothing was imported")
        errors = {(e.line, e.column) for e in response.context["errors"]}
        self.assertEqual(errors, {(3, "services"), (4, "latitude"), (4, "longitude"), (5, "languages"), (6, "name")})
        self.assertContains(response, "Unknown service type teleportation.")
        self.assertContains(response, "Not ISO 639 language codes: xx.")
        self.assertContains(response, "The agency&#x27;s name is missing.")
        self.assertEqual(Agency.objects.count(), agencies)
        self.assertEqual(AuditEvent.objects.count(), events)
        self.assertFalse(Agency.objects.filter(name=GOOD_ROW["name"]).exists())

    def test_unknown_columns_and_empty_files_are_refused(self):
        response = self.post_import(SimpleUploadedFile("d.csv", b"name,colour\nA,red\n"))
        self.assertContains(response, "Unknown column.")
        response = self.post_import(SimpleUploadedFile("d.csv", b"\n"))
        self.assertContains(response, "The first row must name the columns")

    def export(self, fmt, user="hoi"):
        response = self.client_for(user).get(reverse("directory:export", args=[fmt]))
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response["Content-Disposition"].startswith("attachment;"))
        return b"".join(response.streaming_content) if response.streaming else response.content

    def test_csv_round_trip(self):
        Contact.objects.create(
            agency=self.safe_harbour, name="Sharon", role="Coordinator", phone="+1 868 555 0111", email="s@example.org"
        )
        before = snapshot()
        data = self.export("csv")
        self.assertEqual(
            AuditEvent.objects.filter(action="directory.exported").order_by("id").last().details,
            {"format": "csv", "rows": Agency.objects.count()},
        )
        # Change the directory, then import what was exported: it comes back as it was.
        Contact.objects.all().delete()
        Service.objects.filter(agency=self.hilltop).delete()
        PathwayStep.objects.filter(agency=self.safe_harbour).delete()
        Agency.objects.filter(pk=self.clinic.pk).update(
            latitude=None, longitude=None, languages=["fr"], authorised_for_referrals=False
        )
        self.assertNotEqual(snapshot(), before)
        self.assertEqual(self.post_import(SimpleUploadedFile("export.csv", data)).status_code, 302)
        self.assertEqual(snapshot(), before)

    def test_xlsx_round_trip(self):
        before = snapshot()
        data = self.export("xlsx")
        self.assertEqual(data[:2], b"PK")
        Service.objects.filter(agency=self.safe_harbour, service_type="shelter").update(capacity_free=0)
        Agency.objects.filter(pk=self.blue_basin.pk).update(address="moved")
        response = self.post_import(SimpleUploadedFile("export.xlsx", data))
        self.assertEqual(
            response.status_code, 302, getattr(response, "context", None) and response.context.get("errors")
        )
        self.assertEqual(snapshot(), before)

    def test_export_and_import_need_the_permission(self):
        for name in ("care", "shelter", "investigator"):
            with self.subTest(user=name):
                self.assertEqual(self.client_for(name).get(reverse("directory:export", args=["csv"])).status_code, 403)
                self.assertEqual(self.post_import(csv_file([GOOD_ROW]), user=name).status_code, 403)
        self.assertFalse(Agency.objects.filter(name=GOOD_ROW["name"]).exists())

    def test_formula_cells_are_defused(self):
        Agency.objects.filter(pk=self.clinic.pk).update(opening_hours="=HYPERLINK(1)")
        data = self.export("csv").decode()
        self.assertIn("'=HYPERLINK(1)", data)


class DemoDirectoryTests(BeaconTestCase):
    def test_seed_directory_is_idempotent(self):
        from beacon import demo
        from beacon.demo_directory import seed_directory

        for name, short, org_type, kind, _home in demo.AGENCIES:
            if not Agency.objects.filter(short_name=short).exists():
                Agency.objects.create(name=name, short_name=short, org_type=org_type, kind=kind, is_home_unit=False)
        self.assertGreater(seed_directory(), 0)
        before = snapshot()
        self.assertEqual(seed_directory(), 0)
        self.assertEqual(snapshot(), before)
        for need in ("shelter", "medical", "mhpss", "legal_aid", "interpretation", "child_protection", "repatriation"):
            with self.subTest(need=need):
                self.assertTrue(propose_providers(need), need)
        iom = Agency.objects.get(short_name="IOM")
        self.assertTrue(iom.authorised_for_referrals)
        for agency in Agency.objects.exclude(latitude=None):
            in_trinidad = 10.0 <= agency.latitude <= 10.85 and -61.9 <= agency.longitude <= -60.9
            in_tobago = 11.0 <= agency.latitude <= 11.4 and -60.95 <= agency.longitude <= -60.5
            self.assertTrue(in_trinidad or in_tobago, agency.name)

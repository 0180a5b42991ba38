"""Maps (issue #7): area assignment, the loader, what each role sees on the map, hotspots, the browser."""

from __future__ import annotations

import copy
import json
import os
import shutil
import threading
from datetime import timedelta
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from audit import triggers
from audit.models import AuditEvent
from cases.models import Place
from directory.choices import AgencyKind
from directory.models import Agency, Service
from geo import layers, loader
from geo.assign import area_code_for, area_for
from geo.geometry import Shape
from geo.models import AdministrativeArea, AreaAssignment
from intake.actions import create_report
from intake.models import Report
from tests.base import BeaconTestCase, make_agency, make_user, restore_reference_data, sign_in
from tests.test_case_record import open_case_for_tests

GEOJSON = loader.DEMO_GEOJSON
POS = (10.6596, -61.5086)  # Port of Spain
ARIMA = (10.6374, -61.2823)  # inside the hole of Tunapuna-Piarco
TUNAPUNA = (10.65, -61.40)
SAN_FERNANDO = (10.2796, -61.4589)
SEA = (10.9, -61.9)


def tt_data() -> dict:
    return json.loads(GEOJSON.read_text(encoding="utf-8"))


def square(code, x0, y0, x1, y1, name="Area"):
    ring = [[x0, y0], [x0, y1], [x1, y1], [x1, y0], [x0, y0]]
    return {
        "type": "Feature",
        "properties": {"name": name, "iso_3166_2": code},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


class AreaAssignmentTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        loader.load(tt_data())

    def test_point_inside_an_area(self):
        self.assertEqual(area_code_for(*POS), "TT-POS")
        self.assertEqual(area_code_for(*SAN_FERNANDO), "TT-SFO")
        self.assertEqual(area_for(*POS).name, "Port of Spain")

    def test_arima_hole_belongs_to_arima_not_tunapuna(self):
        self.assertEqual(area_code_for(*ARIMA), "TT-ARI")
        self.assertEqual(area_code_for(*TUNAPUNA), "TT-TUP")

    def test_outside_every_area_is_none(self):
        self.assertIsNone(area_code_for(*SEA))
        self.assertIsNone(area_for(*SEA))
        self.assertIsNone(area_code_for(None, None))

    def test_points_exactly_on_the_arima_border_go_to_exactly_one_area(self):
        data = tt_data()
        shapes = [Shape.from_geojson(f["properties"]["iso_3166_2"], f["geometry"]) for f in data["features"]]
        arima = next(s for s in shapes if s.code == "TT-ARI")
        tunapuna = next(s for s in shapes if s.code == "TT-TUP")
        shared = set(arima.polygons[0][0]) & set(tunapuna.polygons[0][1])
        self.assertGreater(len(shared), 10)
        for lon, lat in shared:
            owners = [s.code for s in shapes if s.contains(lon, lat)]
            self.assertEqual(len(owners), 1, (lon, lat, owners))
            self.assertEqual(area_code_for(lat, lon), owners[0])  # same answer every time, via the DB areas

    def test_border_rule_east_then_north(self):
        west, east = (
            Shape.from_geojson("XX-W", square("XX-W", 0, 0, 1, 1)["geometry"]),
            Shape.from_geojson("XX-E", square("XX-E", 1, 0, 2, 1)["geometry"]),
        )
        self.assertEqual([s.code for s in (west, east) if s.contains(1.0, 0.5)], ["XX-E"])
        south, north = (
            Shape.from_geojson("XX-S", square("XX-S", 0, 0, 1, 1)["geometry"]),
            Shape.from_geojson("XX-N", square("XX-N", 0, 1, 1, 2)["geometry"]),
        )
        self.assertEqual([s.code for s in (south, north) if s.contains(0.5, 1.0)], ["XX-N"])

    def test_assign_areas_command_records_reports_places_and_agencies(self):
        agency = make_agency("Clinic", "Clinic", AgencyKind.CLINIC)
        Agency.objects.filter(pk=agency.pk).update(latitude=ARIMA[0], longitude=ARIMA[1])
        call_command("assign_areas", stdout=StringIO())
        row = AreaAssignment.objects.get(object_type="directory.agency", object_id=agency.pk)
        self.assertEqual(row.area.code, "TT-ARI")
        self.assertTrue(AuditEvent.objects.filter(action="geo.assign_areas").exists())


class LoaderTests(TestCase):
    def test_loads_fifteen_areas_idempotently(self):
        first = loader.load(tt_data())
        self.assertEqual((first.created, first.updated, first.unchanged), (15, 0, 0))
        again = loader.load(tt_data())
        self.assertEqual((again.created, again.updated, again.unchanged), (0, 0, 15))
        self.assertEqual(AdministrativeArea.objects.count(), 15)
        self.assertEqual(AdministrativeArea.objects.get(code="TT-DMN").geometry["type"], "MultiPolygon")

    def test_either_winding_gives_the_same_answers(self):
        data = tt_data()
        for f in data["features"]:
            g = f["geometry"]
            polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
            for p in polys:
                for ring in p:
                    ring.reverse()
        loader.load(data)
        self.assertEqual(area_code_for(*ARIMA), "TT-ARI")
        self.assertEqual(area_code_for(*TUNAPUNA), "TT-TUP")

    def test_bad_file_loads_nothing_and_names_every_problem(self):
        bad = copy.deepcopy(square("XX-B", 0, 0, 1, 1))
        bad["geometry"]["coordinates"][0].pop()  # unclosed
        point = {
            "type": "Feature",
            "properties": {"name": "P", "iso_3166_2": "XX-P"},
            "geometry": {"type": "Point", "coordinates": [0, 0]},
        }
        data = collection(
            square("XX-A", 0, 0, 1, 1), bad, point, square("nope", 0, 0, 1, 1), square("XX-A", 2, 2, 3, 3)
        )
        with self.assertRaises(loader.LoadError) as ctx:
            loader.load(data)
        text = str(ctx.exception)
        for expected in ("not closed", "Point", "ISO 3166-2", "appears twice"):
            self.assertIn(expected, text)
        self.assertEqual(AdministrativeArea.objects.count(), 0)
        with self.assertRaises(loader.LoadError):
            loader.load({"type": "Feature"})

    def test_command_with_custom_properties_and_clear_errors(self):
        feature = square("XX-A", 0, 0, 1, 1)
        feature["properties"] = {"NAME_1": "Alpha", "HASC": "XX-A"}
        path = Path(self.enterContext(_tempdir())) / "areas.geojson"
        path.write_text(json.dumps(collection(feature)))
        call_command("load_areas", str(path), "--name-property", "NAME_1", "--code-property", "HASC", stdout=StringIO())
        self.assertEqual(AdministrativeArea.objects.get(code="XX-A").name, "Alpha")
        with self.assertRaisesMessage(CommandError, "Nothing loaded"):
            call_command("load_areas", str(path), stdout=StringIO())  # default property names are absent
        with self.assertRaisesMessage(CommandError, "no such file"):
            call_command("load_areas", str(path) + ".missing", stdout=StringIO())


class _tempdir:
    def __enter__(self):
        import tempfile

        self.path = tempfile.mkdtemp(prefix="beacon-geo-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def add_report(test, *, at=POS, when=None, assignee=None, exploitation=("forced_labour",)) -> Report:
    report = create_report(
        actor=test.intake, channel="hotline", received_at=when or timezone.now() - timedelta(days=2), narrative="x"
    )
    Report.objects.filter(pk=report.pk).update(
        latitude=at[0], longitude=at[1], exploitation=list(exploitation), assignee=assignee
    )
    return report


class MapTestCase(BeaconTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        loader.load(tt_data())
        # A shelter with a location (sensitive), a clinic with one (not sensitive).
        Agency.objects.filter(pk=cls.safe_harbour.pk).update(
            latitude=10.64, longitude=-61.40, phone="555-0100", open_24_7=True
        )
        Service.objects.create(agency=cls.safe_harbour, service_type="shelter", capacity_total=10, capacity_free=3)
        cls.clinic = make_agency("Harbour Clinic", "Clinic", AgencyKind.CLINIC)
        Agency.objects.filter(pk=cls.clinic.pk).update(latitude=10.66, longitude=-61.51, phone="555-0200")
        Service.objects.create(agency=cls.clinic, service_type="medical")


class ServiceMaskingTests(MapTestCase):
    def services(self, name, **params):
        response = self.client_for(name).get(reverse("geo:services"), params)
        self.assertEqual(response.status_code, 200)
        return {s["name"]: s for s in response.json()["services"]}

    def test_investigator_without_referrals_send_gets_no_shelter_pin(self):
        shelter = self.services("investigator")["Safe Harbour Shelter"]
        self.assertIsNone(shelter["lat"])
        self.assertIsNone(shelter["lon"])
        self.assertTrue(shelter["location_withheld"])
        self.assertEqual(shelter["phone"], "555-0100")
        self.assertIsNotNone(self.services("investigator")["Harbour Clinic"]["lat"])

    def test_care_officer_and_shelter_staff_see_the_pin(self):
        for name in ("care", "shelter"):
            with self.subTest(name):
                shelter = self.services(name)["Safe Harbour Shelter"]
                self.assertAlmostEqual(shelter["lat"], 10.64)
        self.assertIsNone(self.services("refuge")["Safe Harbour Shelter"]["lat"])

    def test_filters(self):
        self.assertEqual(set(self.services("care", service_type="medical")), {"Harbour Clinic"})
        self.assertEqual(set(self.services("care", open_now="1")), {"Safe Harbour Shelter", "Harbour Clinic"})
        Agency.objects.filter(pk=self.clinic.pk).update(opening_hours="Mon-Fri 8-4")
        self.assertEqual(set(self.services("care", open_now="1")), {"Safe Harbour Shelter"})
        Service.objects.filter(agency=self.safe_harbour).update(capacity_free=0)
        self.assertEqual(set(self.services("care", free="1")), {"Harbour Clinic"})
        self.assertEqual(set(self.services("care", eligibility="children")), set())

    def test_every_data_request_is_audited_without_coordinates(self):
        self.services("investigator")
        event = AuditEvent.objects.filter(action="geo.map_data").latest("id")
        self.assertEqual(event.details, {"layer": "services", "count": 2})
        self.client_for("investigator").post(reverse("geo:near"), {"lat": "10.65", "lon": "-61.45"})
        event = AuditEvent.objects.filter(action="geo.map_data").latest("id")
        self.assertEqual(event.details["layer"], "near")
        self.assertNotIn("10.65", json.dumps(event.details))
        for name in ("areas", "incidents", "counts"):
            self.client_for("intake").get(reverse(f"geo:{name}"))
            self.assertEqual(AuditEvent.objects.filter(action="geo.map_data").latest("id").details["layer"], name)

    def test_anonymous_is_sent_to_sign_in(self):
        for name in ("map", "near", "areas", "services", "incidents", "counts"):
            response = Client().get(reverse(f"geo:{name}"))
            self.assertEqual(response.status_code, 302, name)


class NearestTests(MapTestCase):
    def test_nearest_ranking_and_withheld_shelter(self):
        far = make_agency("Far Clinic", "Far", AgencyKind.CLINIC)
        Agency.objects.filter(pk=far.pk).update(latitude=10.28, longitude=-61.46)
        Service.objects.create(agency=far, service_type="medical")
        located, other = layers.nearest(self.investigator, *POS, service_type="medical")
        self.assertEqual([p.agency.name for p in located], ["Harbour Clinic", "Far Clinic"])
        self.assertLess(located[0].distance_km, located[1].distance_km)
        located, other = layers.nearest(self.investigator, *POS, service_type="shelter")
        self.assertEqual(located, [])
        self.assertEqual([p.agency.name for p in other], ["Safe Harbour Shelter"])
        located, _other = layers.nearest(self.care, *POS, service_type="shelter")
        self.assertEqual([p.agency.name for p in located], ["Safe Harbour Shelter"])

    def test_full_shelter_is_not_proposed(self):
        Service.objects.filter(agency=self.safe_harbour).update(capacity_free=0)
        located, other = layers.nearest(self.care, *POS, service_type="shelter")
        self.assertEqual((located, other), ([], []))

    def test_near_page_posts_and_lists_with_contact(self):
        client = self.client_for("investigator")
        self.assertEqual(client.get(reverse("geo:near")).status_code, 200)
        response = client.post(reverse("geo:near"), {"lat": str(POS[0]), "lon": str(POS[1]), "service_type": ""})
        self.assertContains(response, "Harbour Clinic")
        self.assertContains(response, "555-0200")
        self.assertContains(response, "km away")
        self.assertContains(response, "Safe Harbour Shelter")  # listed to call, without distance
        self.assertEqual(client.post(reverse("geo:near"), {"lat": "x", "lon": "1"}).status_code, 400)


class IncidentExactnessTests(MapTestCase):
    def incidents(self, name):
        return self.client_for(name).get(reverse("geo:incidents")).json()

    def test_exact_pins_only_for_the_team_and_leadership(self):
        add_report(self, assignee=self.investigator)
        self.assertEqual(len(self.incidents("investigator")["incidents"]), 1)
        self.assertEqual(len(self.incidents("director")["incidents"]), 1)
        intake = self.incidents("intake")  # sees every report, is not on a case team
        self.assertEqual((intake["incidents"], intake["not_shown"]), ([], 1))
        self.assertEqual(self.incidents("investigator2"), {"incidents": [], "not_shown": 0})
        self.assertEqual(self.incidents("analyst"), {"incidents": [], "not_shown": 0})

    def test_case_places_follow_case_and_person_visibility(self):
        case = open_case_for_tests(self)
        Place.objects.create(case=case, kind="Exploitation", latitude=ARIMA[0], longitude=ARIMA[1])
        mine = [i for i in self.incidents("investigator")["incidents"] if i["kind"] == "place"]
        self.assertEqual([i["area"] for i in mine], ["TT-ARI"])
        self.assertEqual(len([i for i in self.incidents("director")["incidents"] if i["kind"] == "place"]), 1)
        for name in ("investigator2", "intake", "care", "other_director"):
            self.assertEqual([i for i in self.incidents(name)["incidents"] if i["kind"] == "place"], [], name)

    def test_filters_period_exploitation_status(self):
        add_report(self, assignee=self.investigator, exploitation=["sexual"])
        add_report(self, assignee=self.investigator, when=timezone.now() - timedelta(days=100))
        client = self.client_for("director")
        self.assertEqual(len(client.get(reverse("geo:incidents"), {"period": "30"}).json()["incidents"]), 1)
        self.assertEqual(len(client.get(reverse("geo:incidents"), {"period": "365"}).json()["incidents"]), 2)
        self.assertEqual(len(client.get(reverse("geo:incidents"), {"exploitation": "sexual"}).json()["incidents"]), 1)
        self.assertEqual(len(client.get(reverse("geo:incidents"), {"status": "closed"}).json()["incidents"]), 0)


class CountsTests(MapTestCase):
    def counts(self, name):
        return {a["code"]: a for a in self.client_for(name).get(reverse("geo:counts")).json()["areas"]}

    def test_small_counts_are_suppressed_outside_leadership(self):
        for _ in range(4):
            add_report(self)
        for _ in range(5):
            add_report(self, at=SAN_FERNANDO)
        add_report(self, at=SEA)
        intake = self.counts("intake")
        self.assertEqual((intake["TT-POS"]["shown"], intake["TT-POS"]["count"]), ("<5", None))
        self.assertEqual((intake["TT-SFO"]["shown"], intake["TT-SFO"]["count"]), ("5", 5))
        self.assertEqual(intake["TT-ARI"]["shown"], "0")
        director = self.counts("director")
        self.assertEqual((director["TT-POS"]["shown"], director["TT-POS"]["count"]), ("4", 4))
        page = self.client_for("intake").get(reverse("geo:map"))
        self.assertContains(page, "&lt;5")
        self.assertContains(page, "Natural Earth (public domain), via Who&#x27;s On First")
        self.assertContains(page, 'id="area-table"')

    def test_counts_honour_visible_to(self):
        add_report(self)
        self.assertEqual(self.counts("analyst")["TT-POS"]["shown"], "0")

    def test_hotspot_maths(self):
        spots = layers.compare_periods({"A": 10, "B": 2, "C": 5}, {"A": 4, "B": 6, "D": 1})
        self.assertEqual([(h.code, h.change) for h in spots], [("A", 6), ("C", 5), ("D", -1), ("B", -4)])
        self.assertEqual(spots[0].change_pct, 150.0)
        self.assertIsNone(spots[1].change_pct)
        self.assertEqual([h.code for h in spots if h.rising], ["A", "C"])

    def test_hotspots_compare_equal_periods(self):
        now = timezone.now()
        for days in (1, 5, 10, 20, 25, 29):
            add_report(self, at=SAN_FERNANDO, when=now - timedelta(days=days))
        add_report(self, at=SAN_FERNANDO, when=now - timedelta(days=45))
        add_report(self, at=POS, when=now - timedelta(days=40))
        spots = {h.code: h for h in layers.report_hotspots(self.director, days=30, now=now)}
        self.assertEqual((spots["TT-SFO"].current, spots["TT-SFO"].previous, spots["TT-SFO"].rising), (6, 1, True))
        self.assertEqual((spots["TT-POS"].current, spots["TT-POS"].previous, spots["TT-POS"].rising), (0, 1, False))
        rows = {r["code"]: r for r in layers.area_table(self.intake, days=30, now=now)["rows"]}
        self.assertTrue(rows["TT-SFO"]["rising"])
        self.assertIsNone(rows["TT-SFO"]["change"])  # previous period is a small count: the change would reveal it
        rows = {r["code"]: r for r in layers.area_table(self.director, days=30, now=now)["rows"]}
        self.assertEqual(rows["TT-SFO"]["change"], 5)


CHROMIUM = "/usr/bin/chromium"


class SerialStaticFilesHandler(StaticFilesHandler):
    """One request at a time: the live server shares SQLite's in-memory connection between its threads, and
    the map's parallel fetches would otherwise start transactions inside each other."""

    lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            return super().__call__(environ, start_response)


class MapBrowserTests(StaticLiveServerTestCase):
    """Leaflet draws the 15 areas from Beacon's own endpoint (no internet) and the page is screenshotted."""

    static_handler = SerialStaticFilesHandler

    def _fixture_teardown(self):
        # The audit table refuses DELETE/TRUNCATE (triggers): lift them for the flush, then put them back.
        triggers.remove(connection)
        try:
            super()._fixture_teardown()
        finally:
            triggers.install(connection)
            restore_reference_data()  # the flush took the data migrations' rows too

    def setUp(self):
        if not os.path.exists(CHROMIUM):
            self.skipTest(f"{CHROMIUM} is not installed")
        from accounts.roles import sync_roles

        sync_roles()
        loader.load(tt_data())
        ctu = make_agency("Counter Trafficking Unit", "CTU", AgencyKind.CTU, home=True)
        self.user = make_user("director", ctu, "director")

    def test_map_renders_the_fifteen_areas(self):
        from playwright.sync_api import sync_playwright

        client = sign_in(Client(), self.user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        artifacts = settings.BASE_DIR / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.add_cookies(
                    [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": self.live_server_url}]
                )
                page = context.new_page()
                page.goto(self.live_server_url + reverse("geo:map"))
                page.wait_for_selector("#beacon-map[data-areas-rendered='15']", timeout=10_000)
                self.assertEqual(page.locator("path.beacon-area").count(), 15)
                self.assertIn("Natural Earth", page.locator(".leaflet-control-attribution").inner_text())
                page.screenshot(path=str(artifacts / "geo-map.png"), full_page=True)
                phone = browser.new_context(viewport={"width": 375, "height": 740})
                phone.add_cookies(
                    [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": self.live_server_url}]
                )
                near = phone.new_page()
                near.goto(self.live_server_url + reverse("geo:near"))
                near.wait_for_selector("#beacon-map[data-areas-rendered='15']", timeout=10_000)
                self.assertLessEqual(near.evaluate("document.documentElement.scrollWidth"), 375)
                near.screenshot(path=str(artifacts / "geo-near-375.png"), full_page=True)
            finally:
                browser.close()

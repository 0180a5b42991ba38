"""The map reads each record's stored area (issue #11): the same figures as computing every point per request.

The reference below is the per-point computation the map used before (issue #7): every visible record placed
by ``area_code_for`` in Python. The stored-area layers must agree with it for every user, period, form of
exploitation and status, on points inside areas, in a hole, at sea, and exactly on borders and corners.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO
from unittest import mock

from django.core.management import call_command
from django.utils import timezone

from cases import actions as case_actions
from cases.models import Case, CasePerson, Place
from directory.actions import create_agency, update_agency
from directory.choices import AgencyKind, OrganisationType
from directory.models import Agency
from geo import layers, loader
from geo.assign import area_code_for, assign_all, refresh_area, shapes
from geo.models import AreaAssignment
from intake.actions import create_public_report, create_report, update_report
from intake.choices import Status
from intake.models import Report
from tests.base import BeaconTestCase
from tests.test_case_record import add_suspect, open_case_for_tests
from tests.test_geo import ARIMA, POS, SAN_FERNANDO, SEA, TUNAPUNA, collection, square, tt_data

# Two squares sharing the meridian 11 E (lon 10..11 and 11..12, lat 0..1): exact borders and corners.
SQUARES = collection(square("ZZ-A", 10, 0, 11, 1, "West square"), square("ZZ-B", 11, 0, 12, 1, "East square"))
SQUARE_POINTS = [
    (0.5, 10.5), (0.5, 11.5),  # inside each
    (0.5, 11.0), (0.0, 11.0), (1.0, 11.0),  # on the shared border, its south and north corners
    (0.5, 10.0), (0.5, 12.0), (0.0, 10.5), (1.0, 11.5), (0.0, 10.0), (1.0, 12.0),  # outer edges and corners
    (0.999999, 11.000001), (0.000001, 10.999999),  # a hair inside
    (1.5, 11.0), (-0.5, 10.5), (0.5, 12.000001),  # just outside
]  # fmt: skip


def shared_vertices(limit: int = 6) -> list[tuple[float, float]]:
    """(lat, lon) of vertices that two Trinidad and Tobago areas share: points on an inland border."""
    owners: dict = {}
    for feature in tt_data()["features"]:
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        for polygon in polygons:
            for ring in polygon:
                for lon, lat in ring:
                    owners.setdefault((lat, lon), set()).add(feature["properties"]["iso_3166_2"])
    return sorted(p for p, codes in owners.items() if len(codes) > 1)[:limit]


def reference_incidents(user, *, days=layers.DEFAULT_PERIOD, exploitation="", status="", now=None):
    """The map's incidents as computed before issue #11 (geo/layers.py at issue #7), area per point."""
    from cases.choices import CaseStatus

    since = layers.period_start(days, now=now)
    within = shapes()
    leadership = user.has_perm("cases.view_all")
    team = set() if leadership else layers._team_case_ids(user)
    team_reports = set() if leadership else set(Case.objects.filter(pk__in=team).values_list("report_id", flat=True))
    qs = Report.objects.visible_to(user).filter(latitude__isnull=False, longitude__isnull=False)
    if since is not None:
        qs = qs.filter(received_at__gte=since)
    if status == "open":
        qs = qs.exclude(status=Status.CLOSED)
    elif status == "closed":
        qs = qs.filter(status=Status.CLOSED)
    result = []
    for pk, lat, lon, exp, reference, assignee_id in qs.values_list(
        "pk", "latitude", "longitude", "exploitation", "reference", "assignee_id"
    ):
        if exploitation and exploitation not in (exp or []):
            continue
        exact = leadership or assignee_id == user.pk or pk in team_reports
        area = area_code_for(lat, lon, within=within)
        result.append(("report", pk, float(lat), float(lon), area, exact, reference or f"#{pk}", ""))
    places = Place.objects.filter(
        case__in=Case.objects.visible_to(user), latitude__isnull=False, longitude__isnull=False
    ).select_related("case", "case__report")
    if status == "open":
        places = places.filter(case__status__in=[CaseStatus.ACTIVE, CaseStatus.FOLLOW_UP])
    elif status == "closed":
        places = places.exclude(case__status__in=[CaseStatus.ACTIVE, CaseStatus.FOLLOW_UP])
    people = set(CasePerson.objects.visible_to(user).values_list("pk", flat=True))
    for place in places:
        if place.case_person_id is not None and place.case_person_id not in people:
            continue
        when = place.date_from or timezone.localtime(place.case.opened_at).date()
        if since is not None and when < since.date():
            continue
        if exploitation and exploitation not in (place.case.report.exploitation or []):
            continue
        area = area_code_for(place.latitude, place.longitude, within=within)
        label = f"{place.case} · {place.get_kind_display()}"
        exact = leadership or place.case_id in team
        result.append(
            ("place", place.pk, float(place.latitude), float(place.longitude), area, exact, label, place.case.get_absolute_url())
        )  # fmt: skip
    return result


def reference_hotspots(user, *, days, now):
    within = shapes()

    def count(since, until):
        qs = Report.objects.visible_to(user).filter(
            latitude__isnull=False, longitude__isnull=False, received_at__gte=since, received_at__lt=until
        )
        return Counter(area_code_for(lat, lon, within=within) for lat, lon in qs.values_list("latitude", "longitude"))

    start = now - timedelta(days=days)
    return layers.compare_periods(count(start, now), count(start - timedelta(days=days), start))


def as_tuples(items):
    return [(i.kind, i.pk, i.latitude, i.longitude, i.area, i.exact, i.label, i.url) for i in items]


class StoredAreaEquivalenceTests(BeaconTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        loader.load(tt_data())
        loader.load(SQUARES)
        cls.now = timezone.now()
        points = [POS, ARIMA, TUNAPUNA, SAN_FERNANDO, SEA, (10.0, -61.0), *shared_vertices(), *SQUARE_POINTS]
        exploitations = (["sexual"], ["forced_labour"], ["forced_labour", "sexual"], [], ["domestic_servitude"])
        assignees = (None, cls.users["investigator"], cls.users["investigator2"])
        for i, (lat, lon) in enumerate(points):
            report = create_report(
                actor=cls.users["intake"],
                channel="hotline",
                received_at=cls.now - timedelta(days=(i * 23) % 800, hours=i),
                narrative="x",
                latitude=Decimal(str(lat)),
                longitude=Decimal(str(lon)),
                exploitation=exploitations[i % len(exploitations)],
            )
            Report.objects.filter(pk=report.pk).update(
                assignee=assignees[i % len(assignees)], status=Status.CLOSED if i % 4 == 0 else report.status
            )
        # Two cases with places: one tied to a suspect (care officers may not see it), one undated, one old.
        case = open_case_for_tests(cls)
        other = open_case_for_tests(cls, investigator=cls.users["investigator2"])
        suspect = add_suspect(case, cls.users["investigator"])
        victim = case.persons.get(role="victim")
        case_actions.add_team_member(case, actor=cls.users["investigator"], user=cls.users["care"], role="care")
        places = [
            (case, dict(latitude=ARIMA[0], longitude=ARIMA[1], case_person=victim, date_from=date(2026, 1, 5))),
            (case, dict(latitude=0.5, longitude=11.0, case_person=suspect)),
            (case, dict(latitude=SEA[0], longitude=SEA[1])),
            (other, dict(latitude=0.0, longitude=11.0, date_from=date(2015, 3, 1))),
            (other, dict(latitude=POS[0], longitude=POS[1])),
            (other, dict(latitude=0.5, longitude=12.0, date_from=date(2026, 11, 1))),
        ]
        for target, fields in places:
            actor = cls.users["investigator"] if target == case else cls.users["investigator2"]
            fields.update(latitude=Decimal(str(fields["latitude"])), longitude=Decimal(str(fields["longitude"])))
            place = case_actions.add_place(target, actor=actor, kind="Exploitation", **fields)
            refresh_area(place)  # the hook cases.actions.add_place calls (issue #11)

    def test_every_layer_matches_the_per_point_computation(self):
        users = ["director", "intake", "investigator", "investigator2", "care", "analyst", "other_director", "hoi"]
        seen_areas = set()
        # Every record has a valid stored area: nothing may be placed in Python during the request (the
        # reference uses its own import of area_code_for).
        with mock.patch("geo.layers.area_code_for", side_effect=AssertionError("computed per request")):
            for name in users:
                user = self.users[name]
                for days in layers.PERIODS:
                    for exploitation in ("", "sexual", "forced_labour"):
                        for status in ("", "open", "closed"):
                            filters = {"days": days, "exploitation": exploitation, "status": status, "now": self.now}
                            expected = reference_incidents(user, **filters)
                            where = (name, days, exploitation, status)
                            self.assertEqual(as_tuples(layers.incidents(user, **filters)), expected, where)
                            counts = layers.incident_counts(user, **filters)
                            self.assertEqual(counts, dict(Counter(e[4] for e in expected)), where)
                            seen_areas |= set(counts)
                    if days:
                        self.assertEqual(
                            layers.report_hotspots(user, days=days, now=self.now),
                            reference_hotspots(user, days=days, now=self.now),
                            (name, days),
                        )
        # The points really are varied: both squares, Trinidad's areas and outside every area were counted.
        self.assertTrue({"ZZ-A", "ZZ-B", "TT-POS", "TT-ARI", "TT-SFO", None} <= seen_areas, seen_areas)

    def test_area_table_figures_and_suppression(self):
        for name in ("director", "intake"):
            user = self.users[name]
            table = layers.area_table(user, days=0, now=self.now)
            expected = Counter(e[4] for e in reference_incidents(user, days=0, now=self.now))
            suppress = name != "director"
            rows = {r["code"]: r for r in table["rows"]}
            for code, row in rows.items():
                self.assertEqual(row["shown"], layers.shown_count(expected.get(code, 0), suppress=suppress), code)
            self.assertEqual(table["outside"], layers.shown_count(expected.get(None, 0), suppress=suppress))
            self.assertEqual(table["total"], layers.shown_count(sum(expected.values()), suppress=suppress))
        # intake sees every report but no case place; 1 to 4 is "<5" for them.
        self.assertIn("<5", [r["shown"] for r in layers.area_table(self.users["intake"], days=0)["rows"]])

    def test_a_record_moved_behind_the_actions_back_is_still_counted_where_it_is(self):
        report = Report.objects.filter(latitude=POS[0], longitude=POS[1]).first()
        director = self.users["director"]
        before = layers.incident_counts(director, days=0)
        Report.objects.filter(pk=report.pk).update(latitude=SAN_FERNANDO[0], longitude=SAN_FERNANDO[1])
        after = layers.incident_counts(director, days=0)
        self.assertEqual(after["TT-POS"], before["TT-POS"] - 1)
        self.assertEqual(after["TT-SFO"], before["TT-SFO"] + 1)
        self.assertEqual(
            layers.stored_areas(Report.objects.filter(pk=report.pk), "intake.report"), {report.pk: "TT-SFO"}
        )
        # Areas changed after the assignments were written: every stored row is suspect until reassigned.
        data = tt_data()
        sfo = next(f for f in data["features"] if f["properties"]["iso_3166_2"] == "TT-SFO")
        sfo["properties"]["iso_3166_2"] = "TT-XYZ"
        loader.load(collection(sfo))  # TT-XYZ overlaps TT-SFO and comes later in code order: TT-SFO keeps it
        loader.load(collection(square("ZZ-C", 10, 0, 12, 1)))  # ZZ-A and ZZ-B come first in code order
        with mock.patch("geo.layers.area_code_for", side_effect=AssertionError):
            with self.assertRaises(AssertionError):
                layers.incident_counts(director, days=0)  # stale rows are recomputed, not trusted
        self.assertEqual(layers.incident_counts(director, days=0), after)
        assign_all()
        with mock.patch("geo.layers.area_code_for", side_effect=AssertionError):
            self.assertEqual(layers.incident_counts(director, days=0), after)


def at(point) -> dict:
    """Coordinates as the forms give them to the actions (decimals, not floats)."""
    return {"latitude": Decimal(str(point[0])), "longitude": Decimal(str(point[1]))}


def stored(obj) -> AreaAssignment | None:
    label = f"{obj._meta.app_label}.{obj._meta.model_name}"
    return AreaAssignment.objects.filter(object_type=label, object_id=obj.pk).select_related("area").first()


def area_code(obj) -> str | None:
    row = stored(obj)
    return row.area.code if row and row.area else None


class WriteTimeAssignmentTests(BeaconTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        loader.load(tt_data())

    def test_reports_get_their_area_when_created_moved_and_unlocated(self):
        report = create_report(
            actor=self.intake,
            channel="hotline",
            received_at=timezone.now(),
            narrative="x",
            **at(POS),
        )
        self.assertEqual(area_code(report), "TT-POS")
        report = update_report(report, actor=self.intake, version=report.version, **at(SEA))
        row = stored(report)
        self.assertIsNone(row.area)
        self.assertEqual((row.latitude, row.longitude), SEA)
        report = update_report(report, actor=self.intake, version=report.version, **at(ARIMA))
        self.assertEqual(area_code(report), "TT-ARI")
        report = update_report(report, actor=self.intake, version=report.version, latitude=None, longitude=None)
        self.assertIsNone(stored(report))
        unlocated = create_report(actor=self.intake, channel="hotline", received_at=timezone.now(), narrative="y")
        self.assertIsNone(stored(unlocated))

    def test_public_form_reports_get_their_area(self):
        report, _code = create_public_report(narrative="x", **at(SAN_FERNANDO))
        self.assertEqual(area_code(report), "TT-SFO")

    def test_agencies_get_their_area(self):
        agency = create_agency(
            actor=self.sysadmin,
            name="Arima Clinic",
            short_name="AC",
            kind=AgencyKind.CLINIC,
            org_type=OrganisationType.NGO,
            **at(ARIMA),
        )
        self.assertEqual(area_code(agency), "TT-ARI")
        agency = update_agency(agency, actor=self.sysadmin, version=agency.version, **at(POS))
        self.assertEqual(area_code(agency), "TT-POS")

    def test_the_hook_reads_the_coordinates_from_the_database(self):
        report = create_report(
            actor=self.intake, channel="hotline", received_at=timezone.now(), narrative="x", **at(POS)
        )
        Report.objects.filter(pk=report.pk).update(**at(SAN_FERNANDO))  # the instance still says Port of Spain
        refresh_area(report)
        row = stored(report)
        self.assertEqual((row.area.code, row.latitude, row.longitude), ("TT-SFO", *SAN_FERNANDO))
        with mock.patch("geo.layers.area_code_for", side_effect=AssertionError):
            self.assertEqual(
                layers.stored_areas(Report.objects.filter(pk=report.pk), "intake.report"), {report.pk: "TT-SFO"}
            )

    def test_assign_all_is_idempotent_and_reports_progress(self):
        for lat, lon in (POS, SEA, ARIMA):
            report = create_report(actor=self.intake, channel="hotline", received_at=timezone.now(), narrative="x")
            Report.objects.filter(pk=report.pk).update(latitude=lat, longitude=lon)  # written behind the actions
        Agency.objects.filter(pk=self.safe_harbour.pk).update(latitude=10.64, longitude=-61.40)
        self.assertEqual(AreaAssignment.objects.count(), 0)
        calls = []
        first = assign_all(batch=2, progress=lambda *a: calls.append(a))
        self.assertEqual(first, {"intake.report": 3, "cases.place": 0, "directory.agency": 1})
        self.assertIn(("intake.report", 2, 3), calls)
        self.assertIn(("intake.report", 3, 3), calls)
        rows = sorted(AreaAssignment.objects.values_list("object_type", "object_id", "area__code"))
        self.assertEqual(assign_all(), first)
        self.assertEqual(sorted(AreaAssignment.objects.values_list("object_type", "object_id", "area__code")), rows)
        self.assertEqual(sorted(r[2] or "" for r in rows), ["", "TT-ARI", "TT-POS", "TT-TUP"])
        out = StringIO()
        call_command("assign_areas", "--batch", "2", stdout=out)
        self.assertIn("intake.report: 3 of 3", out.getvalue())

    def test_loading_areas_reassigns_located_records(self):
        report = create_report(
            actor=self.intake,
            channel="hotline",
            received_at=timezone.now(),
            narrative="x",
            **at(SEA),
        )
        self.assertIsNone(stored(report).area)
        path = self.tmp_file(collection(square("ZZ-S", -62.0, 10.8, -61.8, 11.0, "Sea square")))
        call_command("load_areas", str(path), stdout=StringIO())
        self.assertEqual(area_code(report), "ZZ-S")
        path = self.tmp_file(collection(square("ZZ-S", -62.0, 10.8, -61.95, 11.0, "Sea square")))
        call_command("load_areas", str(path), "--no-assign", stdout=StringIO())
        self.assertEqual(area_code(report), "ZZ-S")  # left as it was: the map recomputes it until assign_areas
        self.assertEqual(layers.stored_areas(Report.objects.filter(pk=report.pk), "intake.report"), {report.pk: None})

    def tmp_file(self, data):
        import tempfile
        from pathlib import Path

        directory = Path(tempfile.mkdtemp())
        self.addCleanup(__import__("shutil").rmtree, directory)
        path = directory / "areas.geojson"
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

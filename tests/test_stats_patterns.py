"""Emerging patterns (issue #8): the Poisson tail, flags and forecasts with known answers, the counts per
area, form, nationality and recruitment method on constructed data, and who may see them."""

from __future__ import annotations

import json
import os
from datetime import date

from django.conf import settings
from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.db import connection
from django.test import Client, SimpleTestCase
from django.urls import reverse
from django.utils import timezone, translation

from audit import triggers
from audit.models import AuditEvent
from directory.choices import AgencyKind
from geo import loader
from geo.assign import assign_all
from stats import patterns
from stats.patterns import add_months, assess, forecast, poisson_sf
from tests import factories as f
from tests.base import BeaconTestCase, make_agency, make_user, restore_reference_data, sign_in
from tests.test_geo import CHROMIUM, SerialStaticFilesHandler

GEOJSON = loader.DEMO_GEOJSON
POS = (10.6596, -61.5086)  # Port of Spain
SAN_FERNANDO = (10.2796, -61.4589)
SECRET_GIVEN, SECRET_FAMILY = "Zephyrine", "Quillfeather"


def build_history(owner) -> int:
    """Eighteen months of one victim a month in Port of Spain and in San Fernando (Trinidadian, forced
    labour, recruited at work); in the last three complete months, three more victims a month in Port of
    Spain (Venezuelan, sexual exploitation, recruited through online social networks and at work). Returns
    the reference month."""
    loader.load(json.loads(GEOJSON.read_text(encoding="utf-8")))
    reference = patterns.reference_month(timezone.localdate())
    for key in patterns.months_between(add_months(reference, -17), reference):
        day = date(key // 100, key % 100, 10)
        for lat_lon in (POS, SAN_FERNANDO):
            case = f.make_case(owner=owner, opened_on=day)
            f.add_place(case, latitude=lat_lon[0], longitude=lat_lon[1])
            f.add_victim(case, nationalities=["TT"], types=["ForcedLabour"], recruitment=["AtWork"])
        if key > add_months(reference, -3):
            case = f.make_case(owner=owner, opened_on=day)
            f.add_place(case, latitude=POS[0], longitude=POS[1])
            for i in range(3):
                names = {"given_names": SECRET_GIVEN, "family_names": SECRET_FAMILY} if i == 0 else {}
                f.add_victim(
                    case,
                    nationalities=["VE"],
                    types=["SexualExploitation"],
                    recruitment=["ThroughOnlineSocialNetworks", "AtWork"],
                    **names,
                )
    assign_all()
    return reference


class PoissonTailTests(SimpleTestCase):
    def test_known_values(self):
        # Checked against 50-digit decimal sums and published tables (P(X<=4 | 5) = 0.4405, P(X<=19 | 10) = 0.9965).
        cases = [
            (3, 0.25, 0.0021614966897625126),
            (10, 2, 4.649807501726381e-05),
            (5, 5, 0.5595067149347876),
            (20, 10, 0.0034543419758568077),
            (12, 3, 7.138662897420660e-05),
            (1, 1, 0.6321205588285577),
        ]
        for k, mu, expected in cases:
            with self.subTest(k=k, mu=mu):
                self.assertAlmostEqual(poisson_sf(k, mu) / expected, 1.0, places=10)

    def test_edges(self):
        self.assertEqual(poisson_sf(0, 4.0), 1.0)
        self.assertEqual(poisson_sf(3, 0.0), 0.0)
        tiny = poisson_sf(60, 2.0)
        self.assertGreater(tiny, 0.0)  # far tails keep their precision instead of rounding to zero
        self.assertLess(tiny, 1e-50)


class MonthTests(SimpleTestCase):
    def test_month_arithmetic(self):
        self.assertEqual(add_months(202601, -1), 202512)
        self.assertEqual(add_months(202612, 1), 202701)
        self.assertEqual(add_months(202603, -15), 202412)
        self.assertEqual(patterns.months_between(202511, 202602), [202511, 202512, 202601, 202602])
        self.assertEqual(patterns.reference_month(date(2026, 1, 20)), 202512)
        self.assertEqual(patterns.last_day(202602), date(2026, 2, 28))


class AssessTests(SimpleTestCase):
    @translation.override("en")  # the explanation is user-facing text: read it in English, whatever ran before
    def test_planted_rise_is_flagged_with_its_numbers(self):
        a = assess([2] * 12, [2, 8, 9])
        self.assertTrue(a.flagged)
        self.assertEqual(a.reason, "rise")
        self.assertEqual((a.baseline_months, a.baseline_total, a.baseline_mean), (12, 24, 2.0))
        self.assertEqual((a.expected, a.observed), (6.0, 19))
        self.assertAlmostEqual(a.ratio, 19 / 6)
        self.assertAlmostEqual(a.p, 1.759704209382180e-05, delta=1e-15)
        self.assertEqual(a.once_in, round(1 / a.p))
        self.assertEqual(a.chance_text, "less than once in 10,000 periods of 3 months")
        moderate = assess([1] * 12, [2, 2, 3])  # 7 where 3 were expected: p = 0.0335
        self.assertAlmostEqual(moderate.p, 0.033508535308841, places=12)
        self.assertFalse(moderate.flagged)
        self.assertEqual(moderate.chance_text, "about once in 30 periods of 3 months")

    def test_flat_series_is_not_flagged(self):
        a = assess([2, 3, 1, 2, 2, 3, 2, 1, 2, 2, 3, 1], [3, 2, 2])
        self.assertFalse(a.flagged)
        self.assertEqual(a.reason, "")
        self.assertAlmostEqual(a.expected, 6.0)
        self.assertGreater(a.p, 0.3)

    def test_small_counts_are_never_flagged(self):
        # Two in the window after two quiet years: p is below 0.01, but two is too few to call a pattern.
        a = assess([0] * 24, [0, 0, 2])
        self.assertLess(a.p, patterns.P_THRESHOLD)
        self.assertFalse(a.flagged)
        self.assertEqual(a.reason, "small")

    def test_first_appearance_is_unusual_but_not_infinitely(self):
        a = assess([0] * 12, [1, 1, 1])
        self.assertEqual(a.baseline_mean, 0.0)
        self.assertEqual(a.expected, 0.25)  # no event in the baseline counts as one
        self.assertAlmostEqual(a.p, 0.0021614966897625126)
        self.assertTrue(a.flagged)

    def test_short_history_is_not_assessed(self):
        a = assess([0, 0, 1, 0], [5, 6, 7])
        self.assertFalse(a.flagged)
        self.assertEqual(a.reason, "short_history")
        self.assertEqual(assess([], [4, 4, 4]).reason, "short_history")

    def test_a_fall_is_not_a_rise(self):
        a = assess([10] * 12, [0, 0, 1])
        self.assertFalse(a.flagged)


class ForecastTests(SimpleTestCase):
    def test_interval_contains_the_mean_and_widens_with_variance(self):
        steady = forecast([5] * 12, after=202606)
        jumpy = forecast([0, 10] * 6, after=202606)
        for fc in (steady, jumpy):
            self.assertEqual(fc.mean, 5.0)
            self.assertLessEqual(fc.low95, fc.low80)
            self.assertLess(fc.low80, fc.mean)
            self.assertLess(fc.mean, fc.high80)
            self.assertLessEqual(fc.high80, fc.high95)
        self.assertGreater(jumpy.high95 - jumpy.low95, steady.high95 - steady.low95)
        self.assertEqual(steady.months, [202607, 202608, 202609])

    def test_never_narrower_than_poisson_and_never_below_zero(self):
        fc = forecast([5] * 12)
        self.assertAlmostEqual(fc.sd, (5 * (1 + 1 / 12)) ** 0.5)
        low = forecast([0] * 11 + [1])
        self.assertEqual(low.low95, 0.0)

    def test_uses_the_last_twelve_months(self):
        fc = forecast([100] * 12 + [2] * 12)
        self.assertEqual(fc.mean, 2.0)
        self.assertEqual(fc.basis_months, 12)

    def test_too_little_history_gives_no_forecast(self):
        self.assertIsNone(forecast([3, 4, 5]))


class ChartTests(SimpleTestCase):
    def test_chart_has_a_point_per_month_and_a_forecast_band(self):
        counts = {add_months(202501, i): c for i, c in enumerate([2] * 15 + [8, 9, 10])}
        s = patterns.build_series("total", "victims", "all", "All", counts, start=202501, reference=202606)
        c = patterns.chart(s)
        self.assertEqual(len(c["dots"]), 18)
        self.assertEqual(len(c["observed"].split()), 18)
        self.assertEqual(len(c["band95"].split()), 2 * (1 + patterns.FORECAST_MONTHS))
        self.assertIn("window", c)
        self.assertTrue(s.assessment.flagged)
        rows = s.rows()
        self.assertEqual([r["forecast"] for r in rows].count(True), 3)
        self.assertEqual([r["window"] for r in rows].count(True), 3)


class PatternsDataTests(BeaconTestCase):
    """The history of ``build_history``: a planted rise in Port of Spain, a flat San Fernando."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.reference = build_history(cls.users["investigator"])

    def by_value(self, result, dimension):
        return {s.value: s for s in result.series[dimension]}

    def test_rise_in_one_area_is_flagged_and_the_flat_area_is_not(self):
        result = patterns.emerging_patterns()
        areas = self.by_value(result, "area")
        pos, sfo = areas["TT-POS"].assessment, areas["TT-SFO"].assessment
        self.assertEqual((pos.baseline_months, pos.baseline_mean, pos.expected, pos.observed), (12, 1.0, 3.0, 12))
        self.assertTrue(pos.flagged)
        self.assertAlmostEqual(pos.p, 7.138662897420660e-05, delta=1e-12)
        self.assertEqual((sfo.expected, sfo.observed, sfo.flagged), (3.0, 3, False))
        self.assertEqual(areas["TT-POS"].label, "Port of Spain")

    def test_form_nationality_and_recruitment(self):
        result = patterns.emerging_patterns()
        forms = self.by_value(result, "form")
        self.assertTrue(forms["sexual"].assessment.flagged)
        self.assertEqual(forms["sexual"].assessment.expected, 0.25)
        self.assertFalse(forms["labour"].assessment.flagged)
        nationalities = self.by_value(result, "nationality")
        self.assertEqual(nationalities["VE"].assessment.observed, 9)
        self.assertTrue(nationalities["VE"].assessment.flagged)
        self.assertFalse(nationalities["TT"].assessment.flagged)
        methods = self.by_value(result, "recruitment")
        self.assertTrue(methods["ThroughOnlineSocialNetworks"].assessment.flagged)
        # Recruited at work: the two a month all along plus the nine who named both methods.
        self.assertEqual(methods["AtWork"].assessment.observed, 15)
        self.assertEqual(methods["AtWork"].assessment.baseline_mean, 2.0)

    def test_count_by_recruitment_counts_each_victim_once_per_method(self):
        rows = patterns.count_by_recruitment(date_from=patterns.first_day(add_months(self.reference, -2)))
        got = {(r["month"], r["recruitment"]): r["n"] for r in rows}
        self.assertEqual(got[(self.reference, "AtWork")], 5)
        self.assertEqual(got[(self.reference, "ThroughOnlineSocialNetworks")], 3)
        self.assertNotIn((self.reference, "AtAPlaceOfBusiness"), got)

    def test_totals_and_forecast(self):
        result = patterns.emerging_patterns()
        victims, reports = result.series["total"]
        self.assertEqual((victims.assessment.expected, victims.assessment.observed), (6.0, 15))
        self.assertTrue(victims.assessment.flagged)
        self.assertEqual(reports.assessment.observed, 9)  # one report per case
        fc = victims.forecast
        self.assertAlmostEqual(fc.mean, (9 * 2 + 3 * 5) / 12)
        self.assertEqual(fc.months, [add_months(self.reference, i) for i in (1, 2, 3)])

    def test_flags_are_ordered_most_unusual_first(self):
        flags = patterns.emerging_patterns().flags
        ps = [s.assessment.p for s in flags]
        self.assertEqual(ps, sorted(ps))
        self.assertNotIn("TT-SFO", [s.value for s in flags])

    def test_summary_card(self):
        summary = patterns.summary(limit=2)
        self.assertEqual(len(summary["flags"]), 2)
        self.assertEqual(summary["more"], summary["count"] - 2)
        html = self.client_for("analyst").get(reverse("stats:patterns")).content.decode()
        from django.template.loader import render_to_string

        card = render_to_string("stats/_patterns_summary.html", {"patterns_summary": summary})
        self.assertIn("Emerging patterns", card)
        self.assertIn(summary["flags"][0]["series"].label, card)
        self.assertIn(summary["flags"][0]["series"].label, html)

    def test_page_shows_flags_charts_and_tables_and_is_audited(self):
        response = self.client_for("analyst").get(reverse("stats:patterns"))
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        self.assertIn('id="patterns-flags"', html)
        self.assertIn("Port of Spain", html)
        self.assertIn("<svg", html)
        self.assertIn("95% interval", html)
        self.assertIn('id="series-victims-area-TT-POS"', html)
        self.assertNotIn(SECRET_GIVEN, html)
        self.assertNotIn(SECRET_FAMILY, html)
        event = AuditEvent.objects.filter(action="stats.patterns_viewed").latest("pk")
        self.assertEqual(event.actor_id, self.users["analyst"].pk)
        self.assertEqual(event.details["view"], "page")
        self.assertGreaterEqual(event.details["flags"], 5)
        self.assertNotIn(SECRET_GIVEN, json.dumps(event.details))

    def test_geojson_gives_per_area_flags_only(self):
        response = self.client_for("director").get(reverse("stats:patterns_geojson"))
        self.assertEqual(response.status_code, 200)
        data = response.json()
        props = {feat["properties"]["code"]: feat["properties"] for feat in data["features"]}
        self.assertEqual(len(props), 15)
        self.assertTrue(props["TT-POS"]["flagged"])
        self.assertEqual((props["TT-POS"]["observed"], props["TT-POS"]["expected"]), (12, 3.0))
        self.assertFalse(props["TT-SFO"]["flagged"])
        self.assertFalse(props["TT-ARI"]["flagged"])
        self.assertEqual(props["TT-ARI"]["observed"], 0)
        self.assertEqual(
            set(props["TT-POS"]),
            {"code", "name", "flagged", "observed", "expected", "baseline_mean", "ratio", "p", "once_in"},
        )
        self.assertNotIn(SECRET_GIVEN, response.content.decode())
        self.assertTrue(AuditEvent.objects.filter(action="stats.patterns_viewed", details__view="map").exists())


class PatternsAccessTests(BeaconTestCase):
    def test_who_may_see_the_page(self):
        url = reverse("stats:patterns")
        self.assertEqual(url, "/statistics/patterns/")
        for name in ("director", "deputy", "hoi", "analyst"):
            with self.subTest(name=name):
                response = self.client_for(name).get(url)
                self.assertEqual(response.status_code, 200)
                self.assertIn("No unusual rise in the recent window.", response.content.decode())
        for name in ("investigator", "care", "intake", "sysadmin", "auditor", "nobody", "other_director", "shelter"):
            with self.subTest(name=name):
                self.assertEqual(self.client_for(name).get(url).status_code, 403)
        self.assertFalse(
            AuditEvent.objects.filter(action="stats.patterns_viewed", actor_id=self.users["investigator"].pk).exists()
        )

    def test_anonymous_goes_to_sign_in(self):
        for url in (reverse("stats:patterns"), reverse("stats:patterns_geojson")):
            response = self.client.get(url)
            self.assertEqual(response.status_code, 302)
            self.assertIn(reverse(settings.LOGIN_URL), response["Location"])

    def test_geojson_permission(self):
        url = reverse("stats:patterns_geojson")
        self.assertEqual(url, "/statistics/patterns/areas.geojson")
        self.assertEqual(self.client_for("analyst").get(url).status_code, 200)
        for name in ("investigator", "care", "other_director"):
            with self.subTest(name=name):
                self.assertEqual(self.client_for(name).get(url).status_code, 403)

    def test_map_layer_only_for_holders(self):
        html = self.client_for("analyst").get(reverse("geo:map")).content.decode()
        self.assertIn('data-patterns-url="/statistics/patterns/areas.geojson"', html)
        self.assertIn('id="patterns-legend"', html)
        html = self.client_for("investigator").get(reverse("geo:map")).content.decode()
        self.assertNotIn("data-patterns-url", html)
        self.assertNotIn('id="patterns-legend"', html)


class PatternsMapBrowserTests(StaticLiveServerTestCase):
    """The map's "Emerging patterns" layer, switched on in a real browser, colours the flagged area."""

    static_handler = SerialStaticFilesHandler

    def _fixture_teardown(self):
        triggers.remove(connection)  # the audit table refuses DELETE (triggers): lift them for the flush
        try:
            super()._fixture_teardown()
        finally:
            triggers.install(connection)
            restore_reference_data()  # the flush took the data migrations' rows too

    def test_layer_colours_the_flagged_area(self):
        from playwright.sync_api import sync_playwright

        from accounts.roles import sync_roles

        sync_roles()
        ctu = make_agency("Counter Trafficking Unit", "CTU", AgencyKind.CTU, home=True)
        analyst = make_user("analyst", ctu, "analyst")
        build_history(make_user("investigator", ctu, "investigator"))
        cookie = sign_in(Client(), analyst).cookies[settings.SESSION_COOKIE_NAME].value
        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        artifacts = settings.BASE_DIR / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
            )
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.add_cookies(
                    [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": self.live_server_url}]
                )
                page = context.new_page()
                page.goto(self.live_server_url + reverse("geo:map"))
                page.wait_for_selector("#beacon-map[data-patterns-flagged='1']", timeout=15_000)
                self.assertEqual(page.locator("path.beacon-pattern-flagged").count(), 0)  # off until switched on
                page.get_by_label("Emerging patterns").check()
                page.wait_for_selector("path.beacon-pattern-flagged", timeout=5_000)
                self.assertEqual(page.locator("path.beacon-pattern-flagged").count(), 1)
                self.assertEqual(page.locator("path.beacon-pattern").count(), 14)
                page.screenshot(path=str(artifacts / "stats-patterns-map.png"), full_page=True)
            finally:
                browser.close()

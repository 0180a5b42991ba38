"""The statistics dashboard, report builder and programme indicators (issue #8), on constructed data with
known answers: who may see them, the tables, totals counted separately, exports with small cells shown as
"<5", background runs with progress, and the audit row of every report generated."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from io import StringIO

from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from audit.models import AuditEvent
from care.models import CarePlan, ServiceDelivery
from geo import loader
from geo.assign import assign_all
from investigations.models import Charge
from referrals.models import Referral
from stats import builder
from stats.models import ReportRun
from tests import factories as f
from tests.base import AccessTestMixin, BeaconTestCase

ALLOWED = ("director", "deputy", "hoi", "analyst")
FORBIDDEN = ("investigator", "care", "intake", "auditor", "other_analyst", "shelter", "nobody")


def url(name, *args, **query) -> str:
    base = reverse(f"stats:{name}", args=args)
    if not query:
        return base
    from django.http import QueryDict

    q = QueryDict(mutable=True)
    for key, value in query.items():
        if isinstance(value, list):
            q.setlist(key, value)
        else:
            q[key] = value
    return f"{base}?{q.urlencode()}"


Y2025 = {"date_from": "2025-01-01", "date_to": "2025-12-31"}


class StatsData(BeaconTestCase):
    """2025: three victims in one case (girls of 15 and 16, a woman of 30), six women of 25 in another, a man
    of 40 in a third; 2026: the same man again and a victim of unknown sex and age (possible victim)."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        owner = cls.users["investigator"]
        cls.c1 = f.make_case(owner=owner, opened_on=date(2025, 3, 10))
        f.add_victim(cls.c1, sex="female", age=15, nationalities=["VE"], types=["SexualExploitation"])
        f.add_victim(cls.c1, sex="female", age=16, nationalities=["VE"], types=["SexualExploitation"])
        f.add_victim(cls.c1, sex="female", age=30, nationalities=["TT"], types=["ForcedLabour", "SexualExploitation"])
        cls.c4 = f.make_case(owner=owner, opened_on=date(2025, 5, 2))
        for _i in range(6):
            f.add_victim(cls.c4, sex="female", age=25, nationalities=["TT"], types=["SexualExploitation"])
        cls.c2 = f.make_case(owner=owner, opened_on=date(2025, 8, 1))
        cls.man = f.add_victim(cls.c2, sex="male", age=40, nationalities=["GY"], types=["ForcedLabour"])
        cls.c3 = f.make_case(owner=owner, opened_on=date(2026, 1, 5))
        f.add_victim(cls.c3, person=cls.man.person, registered_on=date(2026, 1, 5), types=["ForcedLabour"])
        f.add_victim(cls.c3, sex="unknown", nationalities=[], types=[], status="PossibleVictimOfTrafficking")
        cls.s1 = f.add_suspect(cls.c1, sex="male", birth_year=1980)
        Charge.objects.create(
            case=cls.c1, suspect=cls.s1, offence="Trafficking", statute="TIP Act s.16", laid_on=date(2025, 5, 1),
            outcome="conviction", outcome_on=date(2026, 2, 1), created_by=owner,
        )  # fmt: skip

    def report(self, who="analyst", **query):
        response = self.client_for(who).get(url("builder", **query))
        self.assertEqual(response.status_code, 200, getattr(response.context.get("form"), "errors", ""))
        return response

    @staticmethod
    def table(response, panel=0) -> dict:
        """The table as the page shows it: {(row, column): count}, with "total" for the totals."""
        p = response.context["panels"][panel]
        out = {(row["key"], item["key"]): item["n"] for row in p["rows"] for item in row["items"]}
        out.update({(row["key"], "total"): row["total"] for row in p["rows"]})
        out.update({("total", item["key"]): item["n"] for item in p["total_items"]})
        out[("total", "total")] = p["totals"]["total"]
        return out


# --- who may see the statistics ----------------------------------------------------------------------------


class DashboardAccess(AccessTestMixin, BeaconTestCase):
    allowed, forbidden = ALLOWED, FORBIDDEN

    def url(self):
        return url("dashboard")


class BuilderAccess(AccessTestMixin, BeaconTestCase):
    allowed, forbidden = ALLOWED, FORBIDDEN

    def url(self):
        return url("builder", measure="victims", rows="sex")


class ExportAccess(AccessTestMixin, BeaconTestCase):
    allowed, forbidden = ALLOWED, FORBIDDEN

    def url(self):
        return url("builder_export", "csv", measure="cases", rows="year")


class IndicatorAccess(AccessTestMixin, BeaconTestCase):
    allowed, forbidden = ALLOWED, FORBIDDEN

    def url(self):
        return url("indicators")


class NavigationTests(BeaconTestCase):
    def test_the_nav_link_reaches_the_dashboard(self):
        self.assertEqual(url("dashboard"), "/statistics/")
        self.assertEqual(url("builder"), "/statistics/builder/")
        self.assertEqual(url("indicators"), "/statistics/indicators/")


# --- the builder ---------------------------------------------------------------------------------------------


class BuilderTests(StatsData):
    def test_table_of_victims_by_sex_and_age_shows_known_counts(self):
        response = self.report(measure="victims", rows="sex", columns="age_broad", **Y2025)
        self.assertEqual(
            self.table(response),
            {
                ("female", "0-17"): 2, ("female", "18+"): 7, ("male", "0-17"): 0, ("male", "18+"): 1,
                ("female", "total"): 9, ("male", "total"): 1,
                ("total", "0-17"): 2, ("total", "18+"): 8, ("total", "total"): 10,
            },
        )  # fmt: skip
        self.assertContains(response, 'data-row="female" data-col="18+">7<')
        self.assertContains(response, 'id="true-counts-note"')  # the page says the counts are true counts
        self.assertContains(response, "<svg")  # a chart next to the table

    def test_totals_are_counted_separately_not_summed(self):
        # The man is a victim in 2025 and again in 2026: once in each year, once in the total.
        response = self.report(measure="victims", rows="year")
        table = self.table(response)
        self.assertEqual((table[("2025", "total")], table[("2026", "total")]), (10, 2))
        self.assertEqual(table[("total", "total")], 11)
        self.assertContains(response, 'data-row="total" data-col="total">11<')

    def test_small_counts_are_shown_as_they_are_on_screen(self):
        response = self.report(measure="victims", rows="sex", **Y2025)
        self.assertContains(response, 'data-row="male" data-col="total">1<')
        self.assertNotContains(response, "&lt;5</td>")

    def test_filters_narrow_the_report(self):
        response = self.report(measure="victims", rows="year", f_sex=["male"])
        self.assertEqual(self.table(response), {("2025", "total"): 1, ("2026", "total"): 1, ("total", "total"): 1})
        response = self.report(measure="victims", rows="form", f_status=["ActualVictimOfTrafficking"], **Y2025)
        self.assertEqual(self.table(response)[("sexual", "total")], 8)
        self.assertEqual(self.table(response)[("total", "total")], 10)

    def test_a_series_gives_one_table_per_value(self):
        response = self.report(measure="victims", rows="sex", series="year")
        titles = [p["title"] for p in response.context["panels"]]
        self.assertEqual(titles, ["All", "2025", "2026"])
        self.assertEqual(
            self.table(response, 2), {("male", "total"): 1, ("unknown", "total"): 1, ("total", "total"): 2}
        )

    def test_a_report_by_area_is_drawn_on_a_map_too(self):
        loader.load(loader.read(loader.DEMO_GEOJSON))
        f.add_place(self.c4, latitude=10.2796, longitude=-61.4589)  # San Fernando
        assign_all()
        response = self.report(measure="victims", rows="area", **Y2025)
        self.assertEqual(self.table(response)[("TT-SFO", "total")], 6)
        self.assertEqual(self.table(response)[("unknown", "total")], 4)
        self.assertContains(response, 'data-area="TT-SFO"><title>San Fernando: 6</title>')
        self.assertContains(response, 'data-area="TT-POS"><title>Port of Spain: 0</title>')

    def test_prosecutions_and_convictions(self):
        response = self.report(measure="convicted", rows="year")
        self.assertEqual(self.table(response), {("2026", "total"): 1, ("total", "total"): 1})

    def test_a_dimension_the_measure_lacks_is_refused(self):
        response = self.client_for("analyst").get(url("builder", measure="reports", rows="nationality"))
        self.assertEqual(response.status_code, 400)
        self.assertIsNone(response.context["report"])

    def test_changing_the_measure_redraws_the_form_with_its_filters(self):
        response = self.client_for("analyst").get(
            url("builder", measure="services", refresh="1"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="builder-form"
        )
        self.assertContains(response, 'name="f_service_type"')
        self.assertNotContains(response, "<html")
        self.assertFalse(AuditEvent.objects.filter(action="stats.report_generated").exists())

    def test_every_generation_is_audited_without_personal_data(self):
        before = AuditEvent.objects.filter(action="stats.report_generated").count()
        self.report(measure="victims", rows="sex", f_nationality=["GY"], **Y2025)
        self.client_for("analyst").get(url("builder_export", "csv", measure="victims", rows="sex"))
        events = list(AuditEvent.objects.filter(action="stats.report_generated").order_by("id"))[before:]
        self.assertEqual(len(events), 2)
        self.assertEqual(events[0].actor_name, "analyst")
        self.assertEqual(events[0].details["measure"], "victims")
        self.assertEqual(events[0].details["dims"], ["sex"])
        self.assertEqual(events[0].details["filters"], {"nationality": ["GY"]})
        self.assertEqual((events[0].details["format"], events[1].details["format"]), ("html", "csv"))


# --- exports -------------------------------------------------------------------------------------------------


class ExportTests(StatsData):
    def export(self, fmt, **query):
        response = self.client_for("analyst").get(url("builder_export", fmt, **query))
        self.assertEqual(response.status_code, 200)
        self.assertIn("attachment;", response["Content-Disposition"])
        return response.content

    def test_csv_shows_small_cells_as_under_five(self):
        rows = list(csv.reader(io.StringIO(self.export("csv", measure="victims", rows="sex", **Y2025).decode())))
        body = {row[0]: row[1:] for row in rows if len(row) > 1}
        self.assertEqual(body["Female"], ["9"])
        self.assertEqual(body["Male"], ["<5"])
        self.assertEqual(body["Total"], ["10"])

    def test_xlsx_shows_small_cells_as_under_five(self):
        data = self.export("xlsx", measure="victims", rows="sex", columns="age_broad", **Y2025)
        sheet = load_workbook(io.BytesIO(data)).active
        rows = {
            r[0]: list(r[1:]) for r in sheet.iter_rows(values_only=True) if r and r[0] in ("Female", "Male", "Total")
        }
        self.assertEqual(rows["Female"][:3], ["<5", 7, 9])
        self.assertEqual(rows["Male"][:3], [0, "<5", "<5"])
        self.assertEqual(rows["Total"][:3], ["<5", 8, 10])

    def test_pdf_has_the_table_with_small_cells_hidden(self):
        data = self.export("pdf", measure="victims", rows="sex", **Y2025)
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
        self.assertIn("Victims", text)
        self.assertIn("<5", text)
        self.assertIn("Female", text)
        self.assertRegex(text, r"Female\s+9")

    def test_spreadsheet_formulas_are_neutralised(self):
        provider = self.safe_harbour
        provider.name = '=HYPERLINK("x")'
        provider.save()
        ServiceDelivery.objects.create(case_person=self.man, service_type="counselling", delivered_on=date(2025, 9, 1),
                                       provider=provider, recorded_by=self.users["care"])  # fmt: skip
        text = self.export("csv", measure="services", rows="provider").decode()
        self.assertIn("'=HYPERLINK", text)

    def test_an_unknown_format_is_not_found(self):
        response = self.client_for("analyst").get(url("builder_export", "docx", measure="victims"))
        self.assertEqual(response.status_code, 404)


# --- large reports in the background --------------------------------------------------------------------------


@override_settings(STATS_BACKGROUND_RECORDS=3)
class BackgroundTests(StatsData):
    def run_worker(self):
        with self.captureOnCommitCallbacks(execute=True):
            call_command("beacon_worker", "--once", stdout=StringIO())

    def test_a_large_export_runs_in_the_background_and_only_the_requester_downloads_it(self):
        client = self.client_for("analyst")
        with self.captureOnCommitCallbacks(execute=True):
            response = client.get(url("builder_export", "xlsx", measure="victims", rows="sex", **Y2025))
        run = ReportRun.objects.get()
        self.assertRedirects(response, url("builder_run", run.pk))
        self.assertEqual(
            (run.status, run.format, run.requested_by, run.params["dims"]), ("queued", "xlsx", self.analyst, ["sex"])
        )
        page = client.get(url("builder_run", run.pk))
        self.assertContains(page, "Queued")
        self.assertContains(page, 'hx-trigger="every 2s"')
        self.assertEqual(AuditEvent.objects.filter(action="stats.report_generated", details__format="xlsx").count(), 1)

        self.run_worker()
        run.refresh_from_db()
        self.assertEqual((run.status, run.progress), ("ready", 100))
        status = client.get(url("builder_status", run.pk))
        self.assertContains(status, url("builder_download", run.pk))
        self.assertNotContains(status, "every 2s")
        download = client.get(url("builder_download", run.pk))
        self.assertEqual(download.status_code, 200)
        sheet = load_workbook(io.BytesIO(download.content)).active
        self.assertIn(("Male", "<5"), [tuple(r[:2]) for r in sheet.iter_rows(values_only=True)])
        self.assertTrue(AuditEvent.objects.filter(action="stats.report_downloaded", actor_name="analyst").exists())
        # The stored file is encrypted, and nobody else may see or download the run.
        for who in ("director", "hoi"):
            other = self.client_for(who)
            for name in ("builder_run", "builder_status", "builder_download"):
                with self.subTest(who=who, page=name):
                    self.assertEqual(other.get(url(name, run.pk)).status_code, 404)
        self.assertEqual(self.client_for("investigator").get(url("builder_download", run.pk)).status_code, 403)

    def test_a_large_report_on_screen_shows_progress_then_the_table(self):
        client = self.client_for("analyst")
        with self.captureOnCommitCallbacks(execute=True):
            response = client.get(url("builder", measure="victims", rows="year"))
        run = ReportRun.objects.get()
        self.assertEqual(run.format, "html")
        self.assertContains(response, url("builder_status", run.pk))
        self.assertIsNone(response.context["report"])
        self.run_worker()
        status = client.get(url("builder_status", run.pk))
        self.assertEqual(status.context["report"]["panels"][0]["totals"]["total"], 11)
        self.assertContains(status, 'data-row="total" data-col="total">11<')

    def test_progress_is_reported_as_the_report_is_built(self):
        seen = []
        spec = builder.ReportSpec("victims", rows="sex", columns="year", series="age_broad")
        report = builder.build(spec, progress=seen.append)
        self.assertEqual(seen, sorted(seen))
        self.assertGreater(len(seen), 4)
        self.assertEqual(report["panels"][0]["totals"]["total"], 11)


# --- dashboard -------------------------------------------------------------------------------------------------


class DashboardTests(BeaconTestCase):
    """Dates relative to today, so the default window (the last 24 months) always holds them."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        owner = cls.users["investigator"]
        today = timezone.localdate()
        cls.this_month = today.replace(day=1)
        case = f.make_case(owner=owner, opened_on=cls.this_month)
        f.add_victim(case, sex="female", age=20)
        f.add_victim(case, sex="male", age=30)
        f.add_victim(case, sex="male", age=31, status="PossibleVictimOfTrafficking")
        f.add_suspect(case, sex="male", birth_year=1980)

    def series(self, response, key):
        return next(s for s in response.context["series"] if s["key"] == key)

    def test_the_dashboard_shows_each_series_over_time(self):
        response = self.client_for("analyst").get(url("dashboard"))
        self.assertEqual(response.status_code, 200)
        keys = [s["key"] for s in response.context["series"]]
        self.assertEqual(
            sorted(keys),
            sorted(
                [
                    "reports",
                    "identified_victims",
                    "cases",
                    "suspects",
                    "prosecuted",
                    "convicted",
                    "referrals",
                    "services",
                ]
            ),
        )
        victims = self.series(response, "identified_victims")
        self.assertEqual(len(victims["table"]), 24)  # the last 24 months
        self.assertEqual(victims["table"][-1], (f"{self.this_month:%Y-%m}", 2))  # the possible victim is not identified
        self.assertEqual(victims["this_year"], 2)
        self.assertContains(response, "Identified victims")
        self.assertContains(response, 'id="chart-identified_victims-title"')
        self.assertContains(response, 'id="true-counts-note"')

    def test_with_the_cache_on_figures_are_reused_for_a_short_while_and_every_view_is_still_audited(self):
        """Issue #11: the dashboard's unit-wide aggregates are kept per filter set for a short while, shared by
        viewers; the figures equal a fresh count and each view still leaves its own audit row."""
        from django.core.cache import caches
        from django.test import override_settings

        from audit.models import AuditEvent

        caches["default"].clear()
        with override_settings(STATS_DASHBOARD_CACHE_SECONDS=60):
            first = self.client_for("analyst").get(url("dashboard"))
            case = f.make_case(owner=self.users["investigator"], opened_on=self.this_month)
            f.add_victim(case, sex="female", age=22)
            second = self.client_for("director").get(url("dashboard"))
            male = self.client_for("analyst").get(url("dashboard", sex="male"))
        self.assertEqual(self.series(first, "identified_victims")["this_year"], 2)
        # Within the cache time the new victim is not counted yet, for any viewer with the same filters...
        self.assertEqual(self.series(second, "identified_victims")["this_year"], 2)
        # ...while other filters are counted afresh, and with the cache off every view counts the database.
        self.assertEqual(self.series(male, "identified_victims")["this_year"], 1)
        self.assertEqual(self.series(self.client_for("analyst").get(url("dashboard")), "identified_victims")["this_year"], 3)
        self.assertEqual(AuditEvent.objects.filter(action="stats.dashboard_viewed").count(), 4)
        caches["default"].clear()

    def test_filters_refresh_the_results_with_htmx(self):
        response = self.client_for("analyst").get(url("dashboard", sex="male"), HTTP_HX_REQUEST="true")
        self.assertNotContains(response, "<html")
        self.assertEqual(self.series(response, "identified_victims")["in_period"], 1)
        self.assertEqual(self.series(response, "suspects")["in_period"], 1)
        # Reports have no sex: the filter does not apply, and the page says so.
        self.assertEqual(self.series(response, "reports")["in_period"], 1)
        self.assertIn("Sex", self.series(response, "reports")["ignored"])

    def test_the_head_of_investigations_sees_investigation_measures_first(self):
        response = self.client_for("hoi").get(url("dashboard"))
        self.assertEqual([s["key"] for s in response.context["series"]][:3], ["suspects", "prosecuted", "convicted"])
        response = self.client_for("director").get(url("dashboard"))
        self.assertEqual(response.context["series"][0]["key"], "reports")

    def test_the_home_page_shows_the_statistics_panel_to_those_who_may_see_it(self):
        response = self.client_for("director").get(reverse("home"))
        self.assertContains(response, 'id="stats-panel"')
        self.assertContains(response, "Identified victims")
        self.assertNotContains(self.client_for("investigator").get(reverse("home")), 'id="stats-panel"')

    def test_a_period_outside_the_data_shows_zeros(self):
        response = self.client_for("analyst").get(url("dashboard", date_from="2000-01-01", date_to="2000-12-31"))
        victims = self.series(response, "identified_victims")
        self.assertEqual(len(victims["table"]), 12)
        self.assertEqual(victims["in_period"], 0)


# --- programme indicators ---------------------------------------------------------------------------------------


class IndicatorTests(StatsData):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        care = cls.users["care"]
        girl = cls.c1.persons.filter(role="victim").order_by("pk").first()
        for day in (date(2025, 9, 1), date(2025, 9, 8), date(2025, 9, 15)):
            ServiceDelivery.objects.create(
                case_person=cls.man,
                service_type="counselling",
                delivered_on=day,
                provider_other="NGO",
                recorded_by=care,
            )
        ServiceDelivery.objects.create(
            case_person=girl,
            service_type="counselling",
            delivered_on=date(2025, 10, 1),
            provider_other="NGO",
            recorded_by=care,
        )
        ServiceDelivery.objects.create(
            case_person=girl,
            service_type="medical",
            delivered_on=date(2025, 10, 2),
            provider_other="Clinic",
            recorded_by=care,
        )
        CarePlan.objects.create(case_person=cls.man, kind="transition", plan_type="Health", objectives="x", start_on=date(2025, 9, 1),
                                actual_end_date=date(2025, 12, 1), recorded_by=care)  # fmt: skip
        sent = timezone.make_aware(datetime.combine(date(2025, 9, 2), time(9)))
        Referral.objects.create(
            case_person=cls.man, provider=cls.safe_harbour, status="sent", sent_at=sent, created_by=care
        )

    def section(self, response, key):
        return next(s for s in response.context["sections"] if s["key"] == key)

    def test_indicators_disaggregated_by_sex(self):
        response = self.client_for("analyst").get(url("indicators", by="sex", **Y2025))
        self.assertEqual(response.status_code, 200)
        served = self.section(response, "survivors_served")["panels"][0]
        cells = {(row["key"], item["key"]): item["n"] for row in served["rows"] for item in row["items"]}
        self.assertEqual(cells[("counselling", "female")], 1)
        self.assertEqual(cells[("counselling", "male")], 1)
        self.assertEqual(cells[("medical", "female")], 1)
        self.assertEqual(served["totals"]["total"], 2)  # two survivors, whatever the services
        counselling = self.section(response, "counselling")["panels"][0]
        self.assertEqual({row["key"]: row["total"] for row in counselling["rows"]}, {"female": 1, "male": 3})
        plans = self.section(response, "transition_plans")["panels"][0]
        self.assertEqual(plans["totals"]["total"], 1)
        referrals = self.section(response, "referrals_by_provider")["panels"][0]
        self.assertEqual([(row["label"], row["total"]) for row in referrals["rows"]], [("Safe Harbour Shelter", 1)])
        self.assertContains(response, "Counselling sessions")
        self.assertContains(response, 'data-export="xlsx"')

    def test_indicators_by_area_and_age(self):
        response = self.client_for("analyst").get(url("indicators", by="age_broad", **Y2025))
        counselling = self.section(response, "counselling")["panels"][0]
        self.assertEqual({row["key"]: row["total"] for row in counselling["rows"]}, {"0-17": 1, "18+": 3})
        response = self.client_for("analyst").get(url("indicators", by="area", **Y2025))
        self.assertEqual(self.section(response, "counselling")["panels"][0]["totals"]["total"], 4)

    def test_indicator_exports_use_the_same_report(self):
        response = self.client_for("analyst").get(url("indicators", by="sex", **Y2025))
        link = next(x["url"] for x in self.section(response, "counselling")["export_links"] if x["fmt"] == "csv")
        text = self.client_for("analyst").get(link).content.decode()
        self.assertIn("Male,<5", text)


class AnonymousTests(BeaconTestCase):
    def test_every_page_sends_anonymous_visitors_to_sign_in(self):
        for target in (
            url("dashboard"),
            url("builder"),
            url("indicators"),
            url("builder_export", "pdf"),
            url("builder_status", 1),
        ):
            with self.subTest(url=target):
                response = Client().get(target)
                self.assertEqual(response.status_code, 302)
                self.assertIn("/accounts/login/", response["Location"])

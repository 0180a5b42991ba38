"""The statistics panel on the home page (issue #11): both years' headline counts in one query per measure,
with the same numbers as counting each year on its own; and the dashboard's queries on a cache miss."""

from __future__ import annotations

from datetime import date

from django.core.cache import caches
from django.db import connection
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from stats import builder, dataset, patterns
from stats.panels import HEADLINES, statistics_panel
from stats.views import SERIES
from tests.test_stats_builder import StatsData
from tests.test_stats_dashboard_figures import DashboardData, figures


class StatisticsPanelTests(StatsData):
    def panel(self, user):
        request = RequestFactory().get("/")
        request.user = User.objects.get(pk=user.pk)
        request.user.has_perm("stats.view_dashboard")  # the user's roles, read once per request anyway
        with CaptureQueriesContext(connection) as captured:
            result = statistics_panel(request)
        return result, len(captured.captured_queries)

    def test_counts_are_those_of_each_year_counted_alone(self):
        today = timezone.localdate()
        panel, _queries = self.panel(self.director)
        expected = []
        for key, measure, fixed, title in SERIES:
            if key not in HEADLINES:
                continue
            wanted = builder.engine_filters(fixed)
            this_year = dataset.total(measure, wanted, date_from=date(today.year, 1, 1), date_to=today)
            last_year = dataset.total(
                measure, wanted, date_from=date(today.year - 1, 1, 1), date_to=date(today.year - 1, 12, 31)
            )
            expected.append({"title": str(title), "this_year": this_year, "last_year": last_year})
        self.assertEqual(panel["items"], expected)
        self.assertTrue(any(item["this_year"] or item["last_year"] for item in panel["items"]))

    def test_one_query_per_headline(self):
        _panel, queries = self.panel(self.director)
        self.assertLessEqual(queries, len(HEADLINES))

    def test_hidden_from_those_who_may_not_see_the_dashboard(self):
        panel, _queries = self.panel(self.investigator)
        self.assertIsNone(panel)


class DashboardQueryTests(DashboardData):
    def test_a_cache_miss_runs_one_or_two_grouped_queries_per_series_and_one_for_the_map(self):
        caches["default"].clear()
        with CaptureQueriesContext(connection) as captured:
            figures()
        # Records counted by their key: one query by day; people counted once each: months, then totals.
        per_series = [1 if dataset.MEASURES[measure].counted == "pk" else 2 for _k, measure, _f, _t in SERIES]
        self.assertEqual(per_series, [1, 2, 1, 2, 2, 2, 1, 1])
        self.assertEqual(len(captured.captured_queries), sum(per_series) + 1)

    def test_every_method_of_recruitment_is_counted_in_one_query(self):
        with CaptureQueriesContext(connection) as captured:
            patterns.count_by_recruitment()
        self.assertEqual(len(captured.captured_queries), 1)

    def test_the_page_reads_the_cached_figures_and_patterns_without_counting_again(self):
        caches["default"].clear()
        client = self.client_for("director")
        with override_settings(STATS_DASHBOARD_CACHE_SECONDS=60):
            with CaptureQueriesContext(connection) as cold:
                self.assertEqual(client.get("/statistics/").status_code, 200)
            with CaptureQueriesContext(connection) as warm:
                self.assertEqual(client.get("/statistics/").status_code, 200)
        caches["default"].clear()
        counted_tables = ("cases_victimprofile", "investigations_charge", "care_servicedelivery", "referrals_referral")
        counting = [q["sql"] for q in warm.captured_queries if any(t in q["sql"] for t in counted_tables)]
        self.assertEqual(counting, [])
        self.assertLess(len(warm.captured_queries), len(cold.captured_queries))

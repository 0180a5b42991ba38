"""The statistics panel on the home page (issue #11): both years' headline counts in one query per measure,
with the same numbers as counting each year on its own."""

from __future__ import annotations

from datetime import date

from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from stats import builder, dataset
from stats.panels import HEADLINES, statistics_panel
from stats.views import SERIES
from tests.test_stats_builder import StatsData


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

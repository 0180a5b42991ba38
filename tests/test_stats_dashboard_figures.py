"""The statistics dashboard's figures pinned on a seeded data set (issue #11): the dashboard counts in fewer,
grouped queries, and every figure it shows must stay the one the counting engine gave before."""

from __future__ import annotations

from datetime import date, datetime, time

from django.core.cache import caches
from django.utils import timezone

from care.models import ServiceDelivery
from geo import loader
from geo.assign import assign_all
from investigations.models import Charge
from referrals.models import Referral
from stats import dataset
from stats.views import SERIES, _dashboard_figures
from tests import factories as f
from tests.test_stats_builder import StatsData

TODAY = date(2026, 6, 30)
START, END = date(2025, 1, 1), TODAY
ORDER = tuple(s[0] for s in SERIES)


def _aware(day: date):
    return timezone.make_aware(datetime.combine(day, time(10)))


class DashboardData(StatsData):
    """StatsData (victims in 2025 and 2026, one suspect charged in 2025 and convicted in 2026) plus a second
    suspect, a second charge, referrals (one a draft), services and a place in San Fernando."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        owner, care = cls.users["investigator"], cls.users["care"]
        cls.s2 = f.add_suspect(cls.c3, sex="female", birth_year=1985)
        Charge.objects.create(
            case=cls.c3,
            suspect=cls.s2,
            offence="Trafficking",
            statute="s.16",
            laid_on=date(2026, 3, 1),
            created_by=owner,
        )
        Charge.objects.create(
            case=cls.c1,
            suspect=cls.s1,
            offence="Harbouring",
            statute="s.17",
            laid_on=date(2026, 4, 1),
            created_by=owner,
        )
        girl = cls.c1.persons.filter(role="victim").order_by("pk").first()
        Referral.objects.create(
            case_person=cls.man,
            provider=cls.safe_harbour,
            status="sent",
            sent_at=_aware(date(2025, 9, 2)),
            created_by=care,
        )
        Referral.objects.create(
            case_person=girl,
            provider=cls.safe_harbour,
            status="sent",
            sent_at=_aware(date(2026, 2, 10)),
            created_by=care,
        )
        Referral.objects.create(case_person=girl, provider=cls.safe_harbour, status="draft", created_by=care)
        for day in (date(2025, 9, 1), date(2025, 9, 8), date(2026, 3, 3)):
            ServiceDelivery.objects.create(case_person=cls.man, service_type="counselling", delivered_on=day,
                                           provider_other="NGO", recorded_by=care)  # fmt: skip
        loader.load(loader.read(loader.DEMO_GEOJSON))
        f.add_place(cls.c4, latitude=10.2796, longitude=-61.4589)  # San Fernando
        assign_all()


def figures(filters=None) -> tuple[dict, dict]:
    """The dashboard's figures as plain data: per series its three totals and its non-empty months."""
    series, by_area = _dashboard_figures(ORDER, filters or {}, START, END, TODAY)
    out = {
        s["key"]: (s["this_year"], s["last_year"], s["in_period"], {label: n for label, n in s["table"] if n})
        for s in series
    }
    return out, by_area


class DashboardFiguresTests(DashboardData):
    maxDiff = None

    def setUp(self):
        caches["default"].clear()

    def test_every_figure_on_the_seeded_data(self):
        shown, by_area = figures()
        self.assertEqual(
            shown,
            {
                "reports": (1, 3, 4, {"2025-03": 1, "2025-05": 1, "2025-08": 1, "2026-01": 1}),
                "identified_victims": (1, 10, 10, {"2025-03": 3, "2025-05": 6, "2025-08": 1, "2026-01": 1}),
                "cases": (1, 3, 4, {"2025-03": 1, "2025-05": 1, "2025-08": 1, "2026-01": 1}),
                "suspects": (1, 1, 2, {"2025-03": 1, "2026-01": 1}),
                "prosecuted": (2, 1, 2, {"2025-05": 1, "2026-03": 1, "2026-04": 1}),
                "convicted": (1, 0, 1, {"2026-02": 1}),
                "referrals": (1, 1, 2, {"2025-09": 1, "2026-02": 1}),
                "services": (1, 2, 3, {"2025-09": 2, "2026-03": 1}),
            },
        )
        self.assertEqual(by_area, {None: 4, "TT-SFO": 6})

    def test_filtered_figures(self):
        shown, by_area = figures({"sex": ["female"]})
        self.assertEqual(shown["identified_victims"], (0, 9, 9, {"2025-03": 3, "2025-05": 6}))
        self.assertEqual(shown["suspects"], (1, 0, 1, {"2026-01": 1}))
        self.assertEqual(shown["prosecuted"], (1, 0, 1, {"2026-03": 1}))
        self.assertEqual(shown["reports"], (1, 3, 4, {"2025-03": 1, "2025-05": 1, "2025-08": 1, "2026-01": 1}))
        self.assertEqual(by_area, {None: 3, "TT-SFO": 6})

    def test_the_totals_are_each_periods_own_distinct_count(self):
        """A person counted in two years is one person over the period: totals are never sums."""
        for key, measure, fixed, _title in SERIES:
            with self.subTest(key):
                wanted = {k: list(v) for k, v in fixed.items()}
                shown, _area = figures()
                this_year, last_year, in_period, _months = shown[key]
                self.assertEqual(this_year, dataset.total(measure, wanted, date_from=date(2026, 1, 1), date_to=TODAY))
                self.assertEqual(
                    last_year, dataset.total(measure, wanted, date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
                )
                self.assertEqual(in_period, dataset.total(measure, wanted, date_from=START, date_to=END))

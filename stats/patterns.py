"""Emerging patterns (issue #8): which monthly counts are rising unusually, and what to expect next.

Only aggregate series are examined (victims per administrative area, form of exploitation, nationality and
method of recruitment; victims and reports in all), never anything about a person. The method is written
for analysts in docs/patterns.md; in short:

- months are whole calendar months; the current month is incomplete and left out, so the *reference
  month* is the last complete one;
- the *recent window* is the last ``WINDOW_MONTHS`` months up to the reference month; the *baseline* is
  the ``BASELINE_MONTHS`` months before the window (fewer when the records start later; with fewer than
  ``MIN_BASELINE_MONTHS`` nothing is flagged);
- expected count in the window = baseline monthly mean x window length (a baseline with no event at all
  counts as one event, so a first appearance is unusual but not infinitely so);
- a rise is flagged when the observed count is at least ``MIN_OBSERVED`` and a Poisson count with the
  expected mean would reach it with probability below ``P_THRESHOLD`` (computed exactly, no SciPy);
- the forecast for the next ``FORECAST_MONTHS`` months is the mean of the last 12 months, with 80 % and
  95 % intervals from the spread of those months (never narrower than a Poisson count's).

The pure functions (``poisson_sf``, ``assess``, ``forecast``, ``chart``) take plain lists; the rest reads
the counting engine (stats/dataset.py) and ``count_by_recruitment``.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connections
from django.db.models import Count, Q
from django.db.models.functions import ExtractYear
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.choices import RecruitmentMethod
from stats import dataset

WINDOW_MONTHS = 3
BASELINE_MONTHS = 12
MIN_BASELINE_MONTHS = 6
P_THRESHOLD = 0.01
MIN_OBSERVED = 3
FORECAST_MONTHS = 3
FORECAST_BASIS_MONTHS = 12
CHART_MONTHS = 24
Z80, Z95 = 1.2816, 1.96

DIMENSIONS = ("area", "form", "nationality", "recruitment")


# --- months -------------------------------------------------------------------------------------------------


def month_key(day: date) -> int:
    """A month as the counting engine writes it: 202608 for August 2026."""
    return day.year * 100 + day.month


def add_months(key: int, n: int) -> int:
    index = (key // 100) * 12 + (key % 100 - 1) + n
    return (index // 12) * 100 + index % 12 + 1


def months_between(first: int, last: int) -> list[int]:
    """Every month from ``first`` to ``last`` inclusive (empty when ``first`` is later)."""
    out, key = [], first
    while key <= last:
        out.append(key)
        key = add_months(key, 1)
    return out


def first_day(key: int) -> date:
    return date(key // 100, key % 100, 1)


def last_day(key: int) -> date:
    return first_day(add_months(key, 1)) - timedelta(days=1)


def reference_month(today: date) -> int:
    """The last complete month before ``today``."""
    return add_months(month_key(today), -1)


# --- the Poisson tail ---------------------------------------------------------------------------------------


def poisson_pmf(k: int, mu: float) -> float:
    if k < 0:
        return 0.0
    if mu <= 0:
        return 1.0 if k == 0 else 0.0
    return math.exp(-mu + k * math.log(mu) - math.lgamma(k + 1))


def poisson_sf(k: int, mu: float) -> float:
    """P(X >= k) for a Poisson count X with mean ``mu``, exactly (to floating-point precision).

    Below the mean the tail is one minus the few terms under ``k``; above it the terms are summed upwards
    until they no longer matter, so very small probabilities keep their precision."""
    if k <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    if k <= mu:
        return max(0.0, 1.0 - math.fsum(poisson_pmf(i, mu) for i in range(k)))
    terms, i = [], k
    term = poisson_pmf(k, mu)
    while term > 0 and (not terms or term > 1e-17 * terms[0]):
        terms.append(term)
        i += 1
        term *= mu / i
    return min(1.0, math.fsum(terms))


# --- assessing one series -----------------------------------------------------------------------------------


@dataclass
class Assessment:
    baseline_months: int
    baseline_total: int
    baseline_mean: float  # per month
    expected: float  # in the recent window
    observed: int
    p: float | None
    flagged: bool
    reason: str  # "rise", "short_history", "small", "" (nothing unusual)

    @property
    def ratio(self) -> float | None:
        return self.observed / self.expected if self.expected else None

    @property
    def once_in(self) -> int | None:
        """N in "would happen by chance about once in N periods of this length"."""
        if not self.p:
            return None
        return max(1, round(1 / self.p))

    @property
    def p_text(self) -> str:
        if self.p is None:
            return "—"
        return "< 0.0001" if self.p < 0.0001 else f"{self.p:.4f}"

    @property
    def chance_text(self) -> str:
        """How unusual, in words: "about once in 250 periods of 3 months"."""
        if self.p is None:
            return ""
        n = self.once_in
        if n is None or n > 10_000:  # None: p so small it rounds to zero
            return _("less than once in 10,000 periods of %(months)d months") % {"months": WINDOW_MONTHS}
        return _("about once in %(n)s periods of %(months)d months") % {"n": f"{n:,}", "months": WINDOW_MONTHS}


def assess(baseline: Sequence[int], recent: Sequence[int]) -> Assessment:
    """Compare the recent window with the months before it (both oldest first)."""
    n = len(baseline)
    total = sum(baseline)
    observed = sum(recent)
    if n == 0:
        return Assessment(0, 0, 0.0, 0.0, observed, None, False, "short_history")
    mean = total / n
    # No event in the baseline counts as one, so a first appearance is not infinitely surprising.
    expected = max(total, 1) / n * len(recent)
    p = poisson_sf(observed, expected)
    if n < MIN_BASELINE_MONTHS:
        reason, flagged = "short_history", False
    elif observed < MIN_OBSERVED:
        reason, flagged = "small", False
    elif observed > expected and p < P_THRESHOLD:
        reason, flagged = "rise", True
    else:
        reason, flagged = "", False
    return Assessment(n, total, mean, expected, observed, p, flagged, reason)


# --- forecast -----------------------------------------------------------------------------------------------


@dataclass
class Forecast:
    months: list[int]
    mean: float
    sd: float
    low80: float
    high80: float
    low95: float
    high95: float
    basis_months: int


def forecast(counts: Sequence[int], *, after: int | None = None, horizon: int = FORECAST_MONTHS) -> Forecast | None:
    """Each of the next ``horizon`` months: the mean of the last ``FORECAST_BASIS_MONTHS`` months, with
    prediction intervals from their spread (variance never below the mean, as for a Poisson count).
    ``after`` is the last observed month (for the months' names). None with too little history."""
    basis = list(counts)[-FORECAST_BASIS_MONTHS:]
    n = len(basis)
    if n < MIN_BASELINE_MONTHS:
        return None
    mean = sum(basis) / n
    variance = sum((c - mean) ** 2 for c in basis) / (n - 1)
    sd = math.sqrt(max(variance, mean) * (1 + 1 / n))
    months = [add_months(after, i) for i in range(1, horizon + 1)] if after else []
    return Forecast(
        months=months,
        mean=mean,
        sd=sd,
        low80=max(0.0, mean - Z80 * sd),
        high80=mean + Z80 * sd,
        low95=max(0.0, mean - Z95 * sd),
        high95=mean + Z95 * sd,
        basis_months=n,
    )


# --- series -------------------------------------------------------------------------------------------------


@dataclass
class Series:
    dimension: str  # "total", or one of DIMENSIONS
    measure: str  # "victims" or "reports"
    value: str
    label: str
    months: list[int]
    counts: list[int]
    window: list[int]  # the months of the recent window
    assessment: Assessment
    forecast: Forecast | None = None

    @property
    def key(self) -> str:
        return f"{self.measure}-{self.dimension}-{self.value}".replace(" ", "_")

    def rows(self) -> list[dict]:
        """The chart's numbers as a table: observed months, then the forecast months."""
        window = set(self.window)
        out = [
            {"month": dataset.label("month", m), "count": c, "window": m in window, "forecast": False}
            for m, c in zip(self.months, self.counts, strict=True)
        ]
        if self.forecast:
            f = self.forecast
            out += [
                {"month": dataset.label("month", m), "count": None, "window": False, "forecast": True,
                 "mean": f.mean, "low80": f.low80, "high80": f.high80, "low95": f.low95, "high95": f.high95}
                for m in f.months
            ]  # fmt: skip
        return out


def build_series(
    dimension, measure, value, label, counts_by_month: dict[int, int], *, start: int, reference: int
) -> Series:
    """A series from ``start`` (the first month with any record of the measure, or the chart's first
    month) to the reference month, assessed and forecast."""
    months = months_between(start, reference)
    counts = [counts_by_month.get(m, 0) for m in months]
    window = months[-WINDOW_MONTHS:]
    recent = counts[-WINDOW_MONTHS:]
    before = counts[:-WINDOW_MONTHS][-BASELINE_MONTHS:] if len(counts) > WINDOW_MONTHS else []
    return Series(
        dimension=dimension,
        measure=measure,
        value=value,
        label=label,
        months=months[-CHART_MONTHS:],
        counts=counts[-CHART_MONTHS:],
        window=window,
        assessment=assess(before, recent),
        forecast=forecast(counts, after=reference),
    )


# --- recruitment (not a dimension of the engine: a victim may have several methods) ------------------------


def count_by_recruitment(
    *, date_from: date | None = None, date_to: date | None = None, using: str | None = None
) -> list[dict]:
    """Rows ``{"month", "recruitment", "n"}``: victims per month for each HTCDS method of recruitment,
    each victim counted once per method they were recruited by (so methods do not add up to the victims).

    One grouped query, in the database, with a conditional count per method: PostgreSQL tests JSON containment (``@>``); SQLite,
    which has no containment lookup, matches the quoted value in the stored JSON text (the HTCDS codes are
    plain ASCII words, none the quoted form of another, so the match is exact)."""
    m = dataset.MEASURES["victims"]
    alias = using or dataset.stats_database()
    qs = m.model()._default_manager.using(alias).filter(m.base())
    qs = qs.annotate(_date=m.date()).filter(_date__isnull=False).annotate(_year=ExtractYear("_date"))
    if date_from:
        qs = qs.filter(_date__gte=date_from)
    if date_to:
        qs = qs.filter(_date__lte=date_to)
    qs = qs.annotate(_month=m.expression("month"))
    containment = connections[alias].features.supports_json_field_contains
    conditions = {}
    for i, code in enumerate(RecruitmentMethod.values):
        if containment:
            conditions[f"n{i}"] = (code, Q(victim_profile__recruitment_methods__contains=[code]))
        else:
            conditions[f"n{i}"] = (code, Q(victim_profile__recruitment_methods__icontains=json.dumps(code)))
    # Every method in one grouped query (issue #11): a conditional distinct count per method.
    any_method = Q()
    for _code, cond in conditions.values():
        any_method |= cond
    grouped = list(
        qs.filter(any_method)
        .values("_month")
        .annotate(**{name: Count(m.counted, distinct=True, filter=cond) for name, (_code, cond) in conditions.items()})
        .order_by("_month")
    )
    rows = []
    for name, (code, _cond) in conditions.items():
        rows += [{"month": r["_month"], "recruitment": code, "n": r[name]} for r in grouped if r[name]]
    return rows


# --- everything ---------------------------------------------------------------------------------------------


@dataclass
class Patterns:
    reference: int
    window: list[int]
    series: dict[str, list[Series]] = field(default_factory=dict)  # "total" and each dimension

    @property
    def flags(self) -> list[Series]:
        found = [s for group in self.series.values() for s in group if s.assessment.flagged]
        return sorted(found, key=lambda s: (s.assessment.p, -s.assessment.observed))

    @property
    def series_count(self) -> int:
        return sum(len(group) for group in self.series.values())

    def window_label(self) -> str:
        return f"{dataset.label('month', self.window[0])} – {dataset.label('month', self.window[-1])}"


def _labeller(dimension: str, using: str):
    if dimension == "area":
        from geo.models import AdministrativeArea

        names = dict(AdministrativeArea.objects.using(using).values_list("code", "name"))
        return lambda v: names.get(v, v)
    if dimension == "recruitment":
        names = dict(RecruitmentMethod.choices)
        return lambda v: str(names.get(v, v))
    return lambda v: dataset.label(dimension, v)


def _by_value(rows: list[dict], dimension: str) -> dict[str, dict[int, int]]:
    out: dict[str, dict[int, int]] = defaultdict(dict)
    for row in rows:
        value = row[dimension]
        if value in (None, "", dataset.UNKNOWN):  # unknowns say nothing about a place, form or nationality
            continue
        out[value][row["month"]] = out[value].get(row["month"], 0) + row["n"]
    return out


def emerging_patterns(
    *, today: date | None = None, dimensions: Sequence[str] = DIMENSIONS, totals: bool = True, using: str | None = None
) -> Patterns:
    """Every series examined, assessed and forecast, as of the last complete month before ``today``."""
    using = using or dataset.stats_database()
    reference = reference_month(today or timezone.localdate())
    span = max(WINDOW_MONTHS + BASELINE_MONTHS, CHART_MONTHS, FORECAST_BASIS_MONTHS)
    query_start = add_months(reference, -(span - 1))
    date_from, date_to = first_day(query_start), last_day(reference)
    result = Patterns(
        reference=reference, window=months_between(add_months(reference, -(WINDOW_MONTHS - 1)), reference)
    )

    # The records start in the first month with any victim (any report): months before it are not zeros.
    victims_by_month = {r["month"]: r["n"] for r in dataset.count("victims", ["month"], date_to=date_to, using=using)}
    reports_by_month = {r["month"]: r["n"] for r in dataset.count("reports", ["month"], date_to=date_to, using=using)}
    victims_start = max(min(victims_by_month, default=reference), query_start)
    reports_start = max(min(reports_by_month, default=reference), query_start)

    if totals:
        result.series["total"] = [
            build_series(
                "total", "victims", "all", _("All victims"), victims_by_month, start=victims_start, reference=reference
            ),
            build_series(
                "total",
                "reports",
                "all",
                _("All reports received"),
                reports_by_month,
                start=reports_start,
                reference=reference,
            ),
        ]
    for dimension in dimensions:
        if dimension == "recruitment":
            rows = count_by_recruitment(date_from=date_from, date_to=date_to, using=using)
        else:
            rows = dataset.count("victims", ["month", dimension], date_from=date_from, date_to=date_to, using=using)
        label = _labeller(dimension, using)
        group = [
            build_series(dimension, "victims", value, label(value), by_month, start=victims_start, reference=reference)
            for value, by_month in _by_value(rows, dimension).items()
        ]
        group.sort(
            key=lambda s: (
                not s.assessment.flagged,
                s.assessment.p if s.assessment.p is not None else 1.0,
                -s.assessment.observed,
                s.label,
            )
        )
        result.series[dimension] = group
    return result


def dimension_titles() -> dict[str, str]:
    return {
        "total": _("In all"),
        "area": _("Victims by administrative area"),
        "form": _("Victims by form of exploitation"),
        "nationality": _("Victims by nationality"),
        "recruitment": _("Victims by method of recruitment"),
    }


def summary(*, today: date | None = None, limit: int = 5) -> dict:
    """What the dashboard's card shows: the reference window and the strongest current flags."""
    result = emerging_patterns(today=today)
    titles = dimension_titles()
    flags = result.flags
    return {
        "window": result.window_label(),
        "count": len(flags),
        "flags": [{"series": s, "dimension": titles[s.dimension]} for s in flags[:limit]],
        "more": max(0, len(flags) - limit),
    }


# --- the chart (server-rendered SVG, numbers computed here) -------------------------------------------------

CHART_W, CHART_H = 640, 240
PAD_L, PAD_R, PAD_T, PAD_B = 44, 28, 12, 40


def _nice_ceiling(value: float) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return int(math.ceil(step * magnitude))
    return int(math.ceil(value))


def chart(series: Series) -> dict:
    """Coordinates for stats/patterns_chart.html: observed line, baseline mean, recent window, forecast
    line and its 80 % / 95 % bands, axis ticks."""
    f = series.forecast
    months = series.months + (f.months if f else [])
    n = len(months)
    top = _nice_ceiling(max([*series.counts, f.high95 if f else 0, series.assessment.baseline_mean, 1]))
    inner_w, inner_h = CHART_W - PAD_L - PAD_R, CHART_H - PAD_T - PAD_B
    step = inner_w / max(n - 1, 1)

    def x(i: float) -> float:
        return round(PAD_L + i * step, 1)

    def y(v: float) -> float:
        return round(PAD_T + inner_h * (1 - min(v, top) / top), 1)

    points = [(x(i), y(c)) for i, c in enumerate(series.counts)]
    last = len(series.counts) - 1
    out = {
        "width": CHART_W,
        "height": CHART_H,
        "left": PAD_L,
        "right": CHART_W - PAD_R,
        "top": PAD_T,
        "bottom": CHART_H - PAD_B,
        "observed": " ".join(f"{px},{py}" for px, py in points),
        "dots": [
            {"x": px, "y": py, "value": c, "month": dataset.label("month", m)}
            for (px, py), c, m in zip(points, series.counts, series.months, strict=True)
        ],
        "yticks": [{"y": y(v), "value": v} for v in (0, top / 2, top) if v == int(v)] or [{"y": y(0), "value": 0}],
        "xticks": [
            {"x": x(i), "label": dataset.label("month", m)} for i, m in enumerate(months) if (n - 1 - i) % 3 == 0
        ],
    }
    window_idx = [i for i, m in enumerate(series.months) if m in set(series.window)]
    if window_idx:
        out["window"] = {
            "x": round(x(window_idx[0]) - step / 2, 1),
            "width": round(step * len(window_idx), 1),
            "height": CHART_H - PAD_B - PAD_T,
        }
    a = series.assessment
    baseline_idx = (
        [i for i, m in enumerate(series.months) if m not in set(series.window)][-a.baseline_months :]
        if a.baseline_months
        else []
    )
    if baseline_idx:
        out["baseline"] = {"x1": x(baseline_idx[0]), "x2": x(baseline_idx[-1]), "y": y(a.baseline_mean)}
    if f and last >= 0:
        xs = [x(last)] + [x(last + i) for i in range(1, len(f.months) + 1)]
        start = series.counts[last]

        def band(low: float, high: float) -> str:
            upper = [(xs[0], y(start))] + [(px, y(high)) for px in xs[1:]]
            lower = [(px, y(low)) for px in reversed(xs[1:])] + [(xs[0], y(start))]
            return " ".join(f"{px},{py}" for px, py in upper + lower)

        out["band95"] = band(f.low95, f.high95)
        out["band80"] = band(f.low80, f.high80)
        out["forecast"] = " ".join([f"{xs[0]},{y(start)}"] + [f"{px},{y(f.mean)}" for px in xs[1:]])
    return out

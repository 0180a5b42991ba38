"""The report builder (issue #8): a measure broken down by up to three dimensions (rows, columns, series),
filtered and dated, turned into tables that the screen, CSV, XLSX and PDF all share.

Every number comes from ``stats.dataset.count``. Totals are their own queries with fewer dimensions, never
sums of cells, so a person counted in two groups is counted once in the total. Tables hold true counts; the
small-cell rule (``settings.STATS_SMALL_CELL``: 1 to 4 printed "<5") is applied when a table leaves the unit
(``shown``), never on screen inside the unit. Nothing here carries personal data: codes, labels, counts.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from audit import log as audit
from stats import dataset

MAX_DIMS = 3
# Dimensions offered as filters (time is filtered by the date range instead).
FILTER_DIMS = [d for d in dataset.DIMENSIONS if d not in dataset.TIME_DIMENSIONS]
# Longest run of empty periods filled in a time dimension (a wider gap keeps only the periods with data).
_MAX_FILLED_PERIODS = 600


def small_cell() -> int:
    return getattr(settings, "STATS_SMALL_CELL", 5)


def background_threshold() -> int:
    """Reports over more records than this are generated in the background, with progress shown."""
    return getattr(settings, "STATS_BACKGROUND_RECORDS", 20000)


def shown(n, *, suppress: bool):
    """A count as it leaves the unit: 1 to 4 become "<5" (0 stays 0: an empty cell discloses nobody)."""
    threshold = small_cell()
    if suppress and isinstance(n, int) and 0 < n < threshold:
        return f"<{threshold}"
    return n


def engine_filters(filters: dict[str, list]) -> dict[str, list]:
    """Filters as the counting engine takes them. "Unknown" form of exploitation is stored as an empty code,
    so it is asked for both ways."""
    out = {k: list(v) for k, v in filters.items() if v}
    if dataset.UNKNOWN in out.get("form", []):
        out["form"].append("")
    return out


# --- the question ------------------------------------------------------------------------------------------


@dataclass
class ReportSpec:
    measure: str
    rows: str = ""
    columns: str = ""
    series: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    date_from: date | None = None
    date_to: date | None = None

    @property
    def dims(self) -> list[str]:
        return [d for d in (self.rows, self.columns, self.series) if d]

    def validate(self) -> None:
        if self.measure not in dataset.MEASURES:
            raise KeyError(self.measure)
        allowed = set(dataset.MEASURES[self.measure].dimensions)
        if len(self.dims) != len(set(self.dims)) or len(self.dims) > MAX_DIMS:
            raise KeyError("dimensions")
        for d in [*self.dims, *self.filters]:
            if d not in allowed:
                raise KeyError(d)

    def to_params(self) -> dict:
        """Parameters as stored and audited: codes only."""
        return {
            "measure": self.measure,
            "dims": self.dims,
            "rows": self.rows,
            "columns": self.columns,
            "series": self.series,
            "filters": {k: list(v) for k, v in sorted(self.filters.items()) if v},
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }

    @classmethod
    def from_params(cls, params: dict) -> ReportSpec:
        return cls(
            measure=params["measure"],
            rows=params.get("rows") or "",
            columns=params.get("columns") or "",
            series=params.get("series") or "",
            filters={k: list(v) for k, v in (params.get("filters") or {}).items()},
            date_from=date.fromisoformat(params["date_from"]) if params.get("date_from") else None,
            date_to=date.fromisoformat(params["date_to"]) if params.get("date_to") else None,
        )

    def query_string(self) -> str:
        """The builder's GET parameters for this report (export links, the indicators page)."""
        from django.http import QueryDict

        q = QueryDict(mutable=True)
        q["measure"] = self.measure
        for name in ("rows", "columns", "series"):
            if getattr(self, name):
                q[name] = getattr(self, name)
        if self.date_from:
            q["date_from"] = self.date_from.isoformat()
        if self.date_to:
            q["date_to"] = self.date_to.isoformat()
        for dim, values in sorted(self.filters.items()):
            q.setlist(f"f_{dim}", [str(v) for v in values])
        return q.urlencode()

    def count(self, dims: list[str]) -> list[dict]:
        return dataset.count(
            self.measure, dims, engine_filters(self.filters), date_from=self.date_from, date_to=self.date_to
        )

    def estimated_records(self) -> int:
        return dataset.total(self.measure, engine_filters(self.filters), date_from=self.date_from, date_to=self.date_to)


def audit_generation(spec: ReportSpec, *, actor, fmt: str, background: bool = False) -> None:
    """Every generation of a report, on screen or exported, leaves one audit row (codes, never values)."""
    audit.record(
        "stats.report_generated",
        actor=actor,
        details={
            "measure": spec.measure,
            "dims": spec.dims,
            "filters": {k: list(v) for k, v in sorted(spec.filters.items()) if v},
            "date_from": spec.date_from.isoformat() if spec.date_from else None,
            "date_to": spec.date_to.isoformat() if spec.date_to else None,
            "format": fmt,
            "background": background,
        },
    )


# --- the answer ----------------------------------------------------------------------------------------------


class Labeller:
    """``dataset.label`` with a memory, so a table of 50 areas does not ask 50 times."""

    def __init__(self, measure: str):
        self.measure = measure
        self.cache: dict = {}
        self.areas: dict | None = None

    def __call__(self, dim: str, value) -> str:
        if dim == "area" and value not in (None, "", dataset.UNKNOWN):
            if self.areas is None:
                self.areas = dict(dataset.values_for("area"))
            if value in self.areas:
                return self.areas[value]
        key = (dim, value)
        if key not in self.cache:
            self.cache[key] = dataset.label(dim, value, measure=self.measure)
        return self.cache[key]


def _next_period(dim: str, value: int) -> int:
    if dim == "year":
        return value + 1
    if dim == "quarter":
        year, q = divmod(value, 10)
        return year * 10 + q + 1 if q < 4 else (year + 1) * 10 + 1
    year, month = divmod(value, 100)
    return year * 100 + month + 1 if month < 12 else (year + 1) * 100 + 1


def period_of(dim: str, day: date) -> int:
    if dim == "year":
        return day.year
    if dim == "quarter":
        return day.year * 10 + (day.month - 1) // 3 + 1
    return day.year * 100 + day.month


def order_keys(dim: str, keys, *, date_from: date | None = None, date_to: date | None = None) -> list:
    """The values of a dimension in reading order: periods in time order with empty ones filled in, known
    categories in their usual order, others alphabetically, unknown last."""
    keys = list(dict.fromkeys(keys))
    unknown = [k for k in keys if k in (None, "", dataset.UNKNOWN)]
    known = [k for k in keys if k not in unknown]
    if dim in dataset.TIME_DIMENSIONS:
        bounds = [k for k in known if isinstance(k, int)]
        if date_from:
            bounds.append(period_of(dim, date_from))
        if date_to:
            bounds.append(period_of(dim, date_to))
        if bounds:
            first, last, filled = min(bounds), max(bounds), []
            value = first
            while value <= last and len(filled) <= _MAX_FILLED_PERIODS:
                filled.append(value)
                value = _next_period(dim, value)
            if len(filled) <= _MAX_FILLED_PERIODS:
                known = filled
        known = sorted(set(known))
    else:
        usual = (
            [code for code, _label in dataset.values_for(dim)]
            if dim in ("sex", "age_broad", "age_band", "form")
            else []
        )
        first = [k for k in usual if k in known]
        known = first + sorted((k for k in known if k not in first), key=lambda k: str(k).lower())
    return known + (unknown[:1] if unknown else [])


def _norm(value):
    """Unknown values come back as None or "unknown" depending on the dimension: one key for both."""
    return dataset.UNKNOWN if value in (None, "") else value


def build(spec: ReportSpec, *, progress: Callable[[int], None] | None = None) -> dict:
    """The report as plain data (JSON-safe): panels of rows × columns with totals, all true counts."""
    spec.validate()
    progress = progress or (lambda pct: None)
    label = Labeller(spec.measure)
    measure = dataset.MEASURES[spec.measure]
    r, c, s = spec.rows, spec.columns, spec.series
    steps = 4 * (2 if s else 1)
    done = 0

    def q(dims):
        nonlocal done
        rows = spec.count([d for d in dims if d])
        done += 1
        progress(min(95, int(done * 90 / steps) + 5))
        return rows

    def key(row, dim):
        return _norm(row[dim]) if dim else None

    panels = []
    # Queries for the whole population, then (with a series) the same with the series dimension added.
    groups = [(None, [])] + ([(s, [s])] if s else [])
    for series_dim, extra in groups:
        cells = q([r, c, *extra]) if (r and c) else None
        row_tot = q([r, *extra]) if r else None
        col_tot = q([c, *extra]) if c else None
        grand = q(extra)
        if series_dim is None:
            series_keys = [None]
        else:
            series_keys = order_keys(s, [key(x, s) for x in grand], date_from=spec.date_from, date_to=spec.date_to)
        for sk in series_keys:

            def mine(rows, sk=sk):
                if rows is None:
                    return []
                return [x for x in rows if sk is None or key(x, s) == sk]

            row_keys = (
                order_keys(r, [key(x, r) for x in mine(row_tot)], date_from=spec.date_from, date_to=spec.date_to)
                if r
                else []
            )
            col_keys = (
                order_keys(c, [key(x, c) for x in mine(col_tot)], date_from=spec.date_from, date_to=spec.date_to)
                if c
                else []
            )
            cell = {(key(x, r), key(x, c)): x["n"] for x in mine(cells)}
            rt = {key(x, r): x["n"] for x in mine(row_tot)}
            ct = {key(x, c): x["n"] for x in mine(col_tot)}
            panel_total = next((x["n"] for x in mine(grand)), 0)
            panels.append(
                {
                    "title": str(_("All")) if sk is None else label(s, sk),
                    "series_key": None if sk is None else str(sk),
                    "columns": [label(c, k) for k in col_keys],
                    "column_keys": [str(k) for k in col_keys],
                    "rows": [
                        {
                            "label": label(r, rk),
                            "key": str(rk),
                            "cells": [cell.get((rk, ck), 0) for ck in col_keys],
                            "total": rt.get(rk, 0),
                        }
                        for rk in row_keys
                    ],
                    "totals": {"cells": [ct.get(ck, 0) for ck in col_keys], "total": panel_total},
                }
            )
    progress(96)
    return {
        "measure": spec.measure,
        "measure_label": str(measure.label),
        "description": str(measure.description),
        "rows_dim": r,
        "columns_dim": c,
        "series_dim": s,
        "rows_label": str(dataset.DIMENSIONS[r]) if r else "",
        "columns_label": str(dataset.DIMENSIONS[c]) if c else "",
        "series_label": str(dataset.DIMENSIONS[s]) if s else "",
        "period": period_text(spec),
        "filters_text": filters_text(spec, label),
        "params": spec.to_params(),
        "panels": panels,
    }


def period_text(spec: ReportSpec) -> str:
    if spec.date_from and spec.date_to:
        return _("From %(start)s to %(end)s") % {"start": spec.date_from.isoformat(), "end": spec.date_to.isoformat()}
    if spec.date_from:
        return _("From %(start)s") % {"start": spec.date_from.isoformat()}
    if spec.date_to:
        return _("Up to %(end)s") % {"end": spec.date_to.isoformat()}
    return _("All dates")


def filters_text(spec: ReportSpec, label: Callable | None = None) -> list[str]:
    label = label or Labeller(spec.measure)
    return [
        f"{dataset.DIMENSIONS[dim]}: {', '.join(label(dim, v) for v in values)}"
        for dim, values in sorted(spec.filters.items())
        if values
    ]


def year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


# --- background runs ----------------------------------------------------------------------------------------

RUN_STORE = "stats-reports"


def needs_background(spec: ReportSpec) -> bool:
    return spec.estimated_records() > background_threshold()


def request_run(spec: ReportSpec, *, actor, fmt: str):
    """Queue a report in the background (a large one): audited now, generated by the worker, stored
    encrypted, downloadable by ``actor`` only."""
    from stats.models import ReportRun
    from stats.tasks import run_report

    spec.validate()
    with transaction.atomic():
        run = ReportRun.objects.create(requested_by=actor, params=spec.to_params(), format=fmt)
        audit_generation(spec, actor=actor, fmt=fmt, background=True)
        transaction.on_commit(partial(run_report.enqueue, run.pk), robust=True)
    return run


def new_stored_name() -> str:
    return uuid.uuid4().hex

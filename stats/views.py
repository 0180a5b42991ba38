"""Statistics pages (issue #8): the dashboard, the report builder with its exports and background runs, and
the programme indicators. Leadership and analysts only (``stats.view_dashboard`` for the dashboard and
indicators, ``stats.build_reports`` for the builder and exports); others get 403.

Counts only, never a record or a person. On screen, inside the unit, counts are true counts (the page says
so); anything exported applies the small-cell rule. Every report generated (screen or export) is audited.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.views.decorators.http import require_GET

from audit import log as audit
from cases.choices import TraffickingStatus
from stats import builder, charts, dataset, exports
from stats.builder import ReportSpec
from stats.forms import BuilderForm, DashboardForm, IndicatorForm
from stats.models import ReportRun, ReportRunStatus
from utilities.storage import read_encrypted

VIEW, BUILD = "stats.view_dashboard", "stats.build_reports"
FORMATS = ("csv", "xlsx", "pdf")


def _require(request: HttpRequest, code: str) -> None:
    if not request.user.has_perm(code):
        raise PermissionDenied


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


# --- the dashboard ---------------------------------------------------------------------------------------

# key, measure, fixed filters, title
SERIES = [
    ("reports", "reports", {}, gettext_lazy("Reports received")),
    ("identified_victims", "victims", {"status": [TraffickingStatus.ACTUAL]}, gettext_lazy("Identified victims")),
    ("cases", "cases", {}, gettext_lazy("Cases opened")),
    ("suspects", "suspects", {}, gettext_lazy("Suspects")),
    ("prosecuted", "prosecuted", {}, gettext_lazy("Persons prosecuted")),
    ("convicted", "convicted", {}, gettext_lazy("Persons convicted")),
    ("referrals", "referrals", {}, gettext_lazy("Referrals")),
    ("services", "services", {}, gettext_lazy("Services delivered")),
]
# What each role sees first (#8 "a dashboard per role"); everyone sees every series.
INVESTIGATION_FIRST = [
    "suspects",
    "prosecuted",
    "convicted",
    "cases",
    "reports",
    "identified_victims",
    "referrals",
    "services",
]
ROLE_ORDER = {"head_of_investigations": INVESTIGATION_FIRST}
ROLE_FOCUS = {
    "head_of_investigations": gettext_lazy("Investigation and prosecution measures come first for your role.")
}


def _order_for(user) -> tuple[list[str], str]:
    codes = user.role_codes
    if codes & {"director", "deputy_director"}:  # leadership: the whole route, in its order
        return [s[0] for s in SERIES], ""
    for role, order in ROLE_ORDER.items():
        if role in codes:
            return order, str(ROLE_FOCUS.get(role, ""))
    return [s[0] for s in SERIES], ""


def _patterns_summary(today: date):
    """The emerging-patterns card (stats/patterns.py, built separately); absent if that module is not there.
    Unit-wide aggregates like the dashboard's figures, so kept as long, per day and language (issue #11)."""
    try:
        from stats import patterns
    except ImportError:
        return None
    summary = getattr(patterns, "summary", None)
    if not summary:
        return None
    seconds = settings.STATS_DASHBOARD_CACHE_SECONDS
    key = f"stats-patterns-summary:{today.isoformat()}:{get_language()}"
    if seconds and (hit := caches["default"].get(key)) is not None:
        return hit
    result = summary(today=today)
    if seconds:
        caches["default"].set(key, result, seconds)
    return result


def _dashboard_series(key, measure, fixed, title, *, filters, start, end, today):
    m = dataset.MEASURES[measure]
    applied = {k: v for k, v in filters.items() if k in m.dimensions}
    ignored = [str(dataset.DIMENSIONS[k]) for k in filters if k not in m.dimensions]
    wanted = builder.engine_filters({**applied, **fixed})
    periods = {
        "this_year": (date(today.year, 1, 1), today),
        "last_year": (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
        "in_period": (start, end),
    }
    if m.counted == "pk":
        # Records counted once each: one query by day gives the months and all three totals (issue #11).
        days = dataset.daily(measure, wanted, date_from=min(start, periods["last_year"][0]), date_to=max(end, today))
        by_month: dict[int, int] = {}
        for day, n in days.items():
            if start <= day <= end:
                by_month[day.year * 100 + day.month] = by_month.get(day.year * 100 + day.month, 0) + n
        totals = {
            name: sum(n for day, n in days.items() if low <= day <= high) for name, (low, high) in periods.items()
        }
    else:
        # People counted once each: the months in one query, the three totals, each the distinct count over
        # its own period, in another (issue #11).
        rows = dataset.count(measure, ["month"], wanted, date_from=start, date_to=end)
        by_month = {r["month"]: r["n"] for r in rows}
        totals = dataset.totals(measure, wanted, periods=periods)
    months = builder.order_keys("month", list(by_month), date_from=start, date_to=end)
    labels = [dataset.label("month", k) for k in months]
    values = [by_month.get(k, 0) for k in months]
    return {
        "key": key,
        "measure": measure,
        "title": str(title),
        "description": str(m.description),
        **totals,
        "ignored": ignored,
        "chart": charts.lines(labels, [(str(title), values)]),
        "table": list(zip(labels, values, strict=True)),
        "builder_query": ReportSpec(
            measure, rows="month", filters={**applied, **fixed}, date_from=start, date_to=end
        ).query_string(),
    }


def _dashboard_figures(order: tuple, filters: dict, start, end, today) -> tuple[list, dict]:
    """The dashboard's series and victims by area. They are unit-wide aggregates (no person, the same for every
    viewer), so each worker keeps them STATS_DASHBOARD_CACHE_SECONDS per filter set and language (issue #11)."""
    seconds = settings.STATS_DASHBOARD_CACHE_SECONDS
    key = (
        "stats-dashboard:"
        + hashlib.sha256(
            json.dumps(
                [order, filters, str(start), str(end), str(today), get_language()], sort_keys=True, default=str
            ).encode()
        ).hexdigest()
    )
    if seconds and (hit := caches["default"].get(key)) is not None:
        return hit
    by_key = {s[0]: s for s in SERIES}
    series = [_dashboard_series(*by_key[k], filters=filters, start=start, end=end, today=today) for k in order]
    # The map: identified victims per administrative area over the period.
    victim_filters = builder.engine_filters({**{k: v for k, v in filters.items() if k in dataset.MEASURES["victims"].dimensions},
                                             "status": [TraffickingStatus.ACTUAL]})  # fmt: skip
    by_area = {
        r["area"]: r["n"] for r in dataset.count("victims", ["area"], victim_filters, date_from=start, date_to=end)
    }
    if seconds:
        caches["default"].set(key, (series, by_area), seconds)
    return series, by_area


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    _require(request, VIEW)
    form = DashboardForm(request.GET or None)
    if form.is_bound:
        form.is_valid()
    start, end = form.period()
    filters = form.filters()
    today = timezone.localdate()
    order, focus = _order_for(request.user)
    series, by_area = _dashboard_figures(tuple(order), filters, start, end, today)
    labeller = builder.Labeller("victims")
    area_rows = (
        [(labeller("area", k), by_area[k]) for k in builder.order_keys("area", list(by_area))] if by_area else []
    )
    area_map = charts.area_map({k: v for k, v in by_area.items() if k})
    context = {
        "form": form,
        "series": series,
        "start": start,
        "end": end,
        "this_year": today.year,
        "last_year": today.year - 1,
        "focus": focus,
        "area_map": area_map,
        "area_rows": area_rows,
        "can_build": request.user.has_perm(BUILD),
        **_small_cell_context(),
    }
    audit.record(
        "stats.dashboard_viewed",
        actor=request.user,
        details={"filters": filters, "date_from": start.isoformat(), "date_to": end.isoformat()},
    )
    if _is_htmx(request):
        return render(request, "stats/_dashboard_results.html", context)
    context["patterns_summary"] = _patterns_summary(today)
    return render(request, "stats/dashboard.html", context)


# --- the report builder ------------------------------------------------------------------------------------


def _report_context(report: dict, prefix: str = "report") -> dict:
    """A built report ready for the template: charts computed, each cell paired with its column's code."""
    panels = []
    for i, p in enumerate(report["panels"]):
        keys = p["column_keys"]
        rows = [
            {**row, "items": [{"key": k, "n": n} for k, n in zip(keys, row["cells"], strict=True)]} for row in p["rows"]
        ]
        panels.append({
            **p, "rows": rows, "pid": f"{prefix}-{i}", "chart": charts.for_panel(report, p),
            "total_items": [{"key": k, "n": n} for k, n in zip(keys, p["totals"]["cells"], strict=True)],
        })  # fmt: skip
    return {"report": report, "panels": panels}


def _small_cell_context() -> dict:
    n = builder.small_cell()
    return {"small_cell": n, "small_cell_last": n - 1}


def _export_links(spec: ReportSpec) -> list[dict]:
    query = spec.query_string()
    return [
        {"fmt": fmt, "label": fmt.upper(), "url": f"{reverse('stats:builder_export', args=[fmt])}?{query}"}
        for fmt in FORMATS
    ]


@require_GET
def builder_page(request: HttpRequest) -> HttpResponse:
    _require(request, BUILD)
    submitted = "measure" in request.GET and "refresh" not in request.GET
    form = BuilderForm(request.GET or None)
    context = {"form": form, "report": None, "run": None, **_small_cell_context()}
    status = 200
    if submitted:
        if form.is_valid():
            spec = form.spec()
            context["export_links"] = _export_links(spec)
            if builder.needs_background(spec):
                context["run"] = builder.request_run(spec, actor=request.user, fmt="html")
            else:
                report = builder.build(spec)
                builder.audit_generation(spec, actor=request.user, fmt="html")
                context.update(_report_context(report))
        else:
            status = 400
    if _is_htmx(request) and request.headers.get("HX-Target") == "builder-form":
        return render(request, "stats/_builder_form.html", context)
    return render(request, "stats/builder.html", context, status=status)


def _download(data: bytes, name: str, fmt: str) -> HttpResponse:
    response = HttpResponse(data, content_type=exports.CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def builder_export(request: HttpRequest, fmt: str) -> HttpResponse:
    _require(request, BUILD)
    if fmt not in FORMATS:
        raise Http404
    form = BuilderForm(request.GET)
    if not form.is_valid():
        context = {"form": form, "report": None, "run": None, **_small_cell_context()}
        return render(request, "stats/builder.html", context, status=400)
    spec = form.spec()
    if builder.needs_background(spec):
        run = builder.request_run(spec, actor=request.user, fmt=fmt)
        return redirect("stats:builder_run", run.pk)
    report = builder.build(spec)
    builder.audit_generation(spec, actor=request.user, fmt=fmt)
    return _download(exports.render(report, fmt), exports.filename(report, fmt), fmt)


def _own_run(request: HttpRequest, pk: int) -> ReportRun:
    """A run is its requester's alone: anyone else gets 404, as if it did not exist."""
    _require(request, BUILD)
    run = ReportRun.objects.filter(pk=pk, requested_by=request.user).first()
    if run is None:
        raise Http404
    return run


def _run_context(run: ReportRun) -> dict:
    context = {"run": run, **_small_cell_context()}
    if run.status == ReportRunStatus.READY and run.format == "html":
        report = json.loads(read_encrypted(builder.RUN_STORE, run.stored_name))
        context.update(_report_context(report))
        context["export_links"] = _export_links(ReportSpec.from_params(run.params))
    return context


@require_GET
def builder_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = _own_run(request, pk)
    spec = ReportSpec.from_params(run.params)
    context = _run_context(run)
    context["builder_url"] = f"{reverse('stats:builder')}?{spec.query_string()}"
    context["params_text"] = [
        str(dataset.MEASURES[spec.measure].label),
        builder.period_text(spec),
        *builder.filters_text(spec),
    ]
    return render(request, "stats/run.html", context)


@require_GET
def builder_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The htmx fragment polled every 2 s while a report is generated; the report itself once ready."""
    run = _own_run(request, pk)
    return render(request, "stats/_run_status.html", _run_context(run))


@require_GET
def builder_download(request: HttpRequest, pk: int) -> HttpResponse:
    run = _own_run(request, pk)
    if run.status != ReportRunStatus.READY or run.format not in FORMATS:
        raise Http404
    data = read_encrypted(builder.RUN_STORE, run.stored_name)
    audit.record(
        "stats.report_downloaded",
        actor=request.user,
        obj=run,
        details={"format": run.format, "measure": run.params.get("measure")},
    )
    spec = ReportSpec.from_params(run.params)
    name = exports.filename(
        {"measure": spec.measure, "rows_dim": spec.rows, "columns_dim": spec.columns, "series_dim": spec.series},
        run.format,
    )
    return _download(data, name, run.format)


# --- programme indicators ------------------------------------------------------------------------------------

# key, title, explanation, spec without the disaggregation: (measure, rows, filters)
INDICATORS = [
    ("survivors_served", gettext_lazy("Survivors receiving each kind of service"),
     gettext_lazy("Survivors who received a service in the period, each counted once per kind of service."),
     ("survivors_served", "service_type", {})),
    ("counselling", gettext_lazy("Counselling sessions"),
     gettext_lazy("Counselling sessions delivered in the period."),
     ("services", "", {"service_type": ["counselling"]})),
    ("transition_plans", gettext_lazy("Transition plans completed"),
     gettext_lazy("Transition plans closed with an actual end date in the period."),
     ("transition_plans_completed", "", {})),
    ("referrals_by_provider", gettext_lazy("Referrals by provider"),
     gettext_lazy("Referrals sent to each service provider in the period (drafts excluded)."),
     ("referrals", "provider", {})),
]  # fmt: skip


def indicator_spec(measure: str, rows: str, filters: dict, *, by: str, start: date, end: date) -> ReportSpec:
    """The indicator as a report: its own grouping in rows and the chosen disaggregation in columns (or in
    rows when the indicator has no grouping of its own)."""
    if rows:
        return ReportSpec(measure, rows=rows, columns=by, filters=dict(filters), date_from=start, date_to=end)
    return ReportSpec(measure, rows=by, filters=dict(filters), date_from=start, date_to=end)


@require_GET
def indicators(request: HttpRequest) -> HttpResponse:
    _require(request, VIEW)
    form = IndicatorForm(request.GET or None)
    by, start, end = form.values()
    can_export = request.user.has_perm(BUILD)
    sections = []
    for key, title, explanation, (measure, rows, filters) in INDICATORS:
        spec = indicator_spec(measure, rows, filters, by=by, start=start, end=end)
        report = builder.build(spec)
        builder.audit_generation(spec, actor=request.user, fmt="html")
        sections.append({
            "key": key, "title": str(title), "explanation": str(explanation), **_report_context(report, key),
            "export_links": _export_links(spec) if can_export else [],
            "builder_url": f"{reverse('stats:builder')}?{spec.query_string()}",
        })  # fmt: skip
    context = {
        "form": form,
        "sections": sections,
        "by": by,
        "start": start,
        "end": end,
        "can_export": can_export,
        **_small_cell_context(),
    }
    if _is_htmx(request):
        return render(request, "stats/_indicator_sections.html", context)
    return render(request, "stats/indicators.html", context)

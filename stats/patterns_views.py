"""Emerging patterns (issue #8): the page for leadership and analysts, and the map's per-area flags.

Aggregates only: every number is a monthly count of a series (an area, a form of exploitation, a
nationality, a method of recruitment), never a record or a person. Each generation is audited as
``stats.patterns_viewed`` with the view, the reference month and how many series and flags went out.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.log import record
from stats import patterns

PERMISSION = "stats.view_dashboard"


def _require(request: HttpRequest) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


@require_GET
def patterns_page(request: HttpRequest) -> HttpResponse:
    _require(request)
    result = patterns.emerging_patterns()
    flags = result.flags
    record(
        "stats.patterns_viewed",
        actor=request.user,
        details={
            "view": "page",
            "reference_month": result.reference,
            "series": result.series_count,
            "flags": len(flags),
        },
    )
    titles = patterns.dimension_titles()
    charted = {s.key for s in flags}
    sections = [
        {
            "key": dimension,
            "title": titles[dimension],
            "series": group,
            "charts": [
                {"series": s, "chart": patterns.chart(s)} for s in group if dimension == "total" or s.key in charted
            ],
        }
        for dimension, group in result.series.items()
    ]
    return render(
        request,
        "stats/patterns.html",
        {
            "result": result,
            "flags": [{"series": s, "dimension": titles[s.dimension]} for s in flags],
            "sections": sections,
            "method": {
                "window": patterns.WINDOW_MONTHS,
                "baseline": patterns.BASELINE_MONTHS,
                "min_baseline": patterns.MIN_BASELINE_MONTHS,
                "p": patterns.P_THRESHOLD,
                "min_observed": patterns.MIN_OBSERVED,
                "horizon": patterns.FORECAST_MONTHS,
                "basis": patterns.FORECAST_BASIS_MONTHS,
            },
        },
    )


@require_GET
def patterns_geojson(request: HttpRequest) -> JsonResponse:
    """Administrative areas with their victims' series assessed: flagged or not, observed, expected,
    ratio and p. Counts per area only."""
    _require(request)
    from geo.models import AdministrativeArea

    result = patterns.emerging_patterns(dimensions=("area",), totals=False)
    by_area = {s.value: s for s in result.series.get("area", [])}
    features = []
    for area in AdministrativeArea.objects.order_by("code"):
        s = by_area.get(area.code)
        a = s.assessment if s else None
        features.append({
            "type": "Feature",
            "properties": {
                "code": area.code,
                "name": area.name,
                "flagged": bool(a and a.flagged),
                "observed": a.observed if a else 0,
                "expected": round(a.expected, 2) if a else 0,
                "baseline_mean": round(a.baseline_mean, 2) if a else 0,
                "ratio": round(a.ratio, 2) if a and a.ratio is not None else None,
                "p": a.p if a else None,
                "once_in": a.once_in if a else None,
            },
            "geometry": area.geometry,
        })  # fmt: skip
    flagged = sum(1 for f in features if f["properties"]["flagged"])
    record(
        "stats.patterns_viewed",
        actor=request.user,
        details={"view": "map", "reference_month": result.reference, "series": len(by_area), "flags": flagged},
    )
    return JsonResponse({
        "type": "FeatureCollection",
        "window": result.window_label(),
        "reference_month": result.reference,
        "features": features,
    })  # fmt: skip

"""The map, its JSON layers and the first responders' "what is near me" (issue #7).

Every data request is audited as ``geo.map_data`` with the layer and how many items went out; coordinates
a user sends (their own position) are never logged and never travel in a URL.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from audit.log import record
from care.choices import NeedType
from geo import layers
from geo.models import AdministrativeArea
from intake.choices import Exploitation

CREDIT = "Boundaries: Natural Earth (public domain), via Who's On First"
CREDIT_URL = "https://github.com/whosonfirst-data/whosonfirst-data/blob/master/LICENSE.md"


def _audit(request, layer: str, count: int) -> None:
    record("geo.map_data", actor=request.user, details={"layer": layer, "count": count})


def _int(value, default: int, allowed) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return default
    return n if n in allowed else default


def _incident_filters(params) -> dict:
    exploitation = params.get("exploitation", "")
    status = params.get("status", "")
    return {
        "days": _int(params.get("period"), layers.DEFAULT_PERIOD, layers.PERIODS),
        "exploitation": exploitation if exploitation in Exploitation.values else "",
        "status": status if status in {"open", "closed"} else "",
    }


def _service_filters(params) -> dict:
    service_type = params.get("service_type", "")
    eligibility = params.get("eligibility", "")
    return {
        "service_type": service_type if service_type in NeedType.values else "",
        "eligibility": eligibility if eligibility in {"children", "adults"} else "",
        "language": params.get("language", "")[:10],
        "open_now": params.get("open_now") == "1",
        "free": params.get("free") == "1",
    }


def _period_choices():
    return [(30, _("Last 30 days")), (90, _("Last 90 days")), (365, _("Last 12 months")), (0, _("All time"))]


@require_GET
def map_page(request):
    filters = _incident_filters(request.GET)
    table = layers.area_table(request.user, **filters)
    _audit(request, "area_table", len(table["rows"]))
    return render(
        request,
        "geo/map.html",
        {
            "table": table,
            "filters": filters,
            "service_filters": _service_filters(request.GET),
            "periods": _period_choices(),
            "exploitations": Exploitation.choices,
            "service_types": NeedType.choices,
            "tile_url": getattr(settings, "BEACON_TILE_URL", ""),
            "credit": CREDIT,
            "credit_url": CREDIT_URL,
        },
    )


@require_GET
def areas_json(request):
    areas = list(AdministrativeArea.objects.order_by("code"))
    _audit(request, "areas", len(areas))
    features = [
        {"type": "Feature", "properties": {"code": a.code, "name": a.name}, "geometry": a.geometry} for a in areas
    ]
    return JsonResponse({"type": "FeatureCollection", "features": features, "credit": CREDIT})


@require_GET
def services_json(request):
    points = layers.services(request.user, **_service_filters(request.GET))
    _audit(request, "services", len(points))
    return JsonResponse({"services": [p.as_json() for p in points]})


@require_GET
def incidents_json(request):
    items = layers.incidents(request.user, **_incident_filters(request.GET))
    exact = [i for i in items if i.exact]
    _audit(request, "incidents", len(exact))
    return JsonResponse(
        {
            "incidents": [
                {"kind": i.kind, "lat": i.latitude, "lon": i.longitude, "area": i.area, "label": i.label, "url": i.url}
                for i in exact
            ],
            "not_shown": len(items) - len(exact),
        }
    )


@require_GET
def counts_json(request):
    table = layers.area_table(request.user, **_incident_filters(request.GET))
    _audit(request, "counts", len(table["rows"]))
    return JsonResponse(
        {"areas": table["rows"], "outside": table["outside"], "suppressed": table["suppressed"], "max": table["max"]}
    )


def _coordinates(data) -> tuple[float, float] | None:
    try:
        lat, lon = float(data.get("lat", "")), float(data.get("lon", ""))
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


@require_http_methods(["GET", "POST"])
def near(request):
    """First responders: the nearest suitable services to a position POSTed from the device, a click on
    the map or typed coordinates (never in the URL, never in the log)."""
    service_type = request.POST.get("service_type", "") if request.method == "POST" else ""
    service_type = service_type if service_type in NeedType.values else ""
    context = {"service_types": NeedType.choices, "service_type": service_type, "searched": False, "error": "",
               "tile_url": getattr(settings, "BEACON_TILE_URL", ""), "credit": CREDIT, "credit_url": CREDIT_URL}  # fmt: skip
    if request.method == "POST":
        position = _coordinates(request.POST)
        if position is None:
            context["error"] = _("Give a latitude between -90 and 90 and a longitude between -180 and 180.")
        else:
            located, other = layers.nearest(request.user, *position, service_type=service_type)
            context.update(searched=True, located=located, other=other, lat=position[0], lon=position[1])
            _audit(request, "near", len(located) + len(other))
    return render(request, "geo/near.html", context, status=400 if context["error"] else 200)

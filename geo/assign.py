"""Which administrative area a point lies in (issue #7): ``area_for(lat, lon)``.

The areas are read once per process and kept with a stamp of the table (count and latest update), so a
reload by ``load_areas`` is picked up by the next lookup. See ``geo.geometry`` for the border rule.
"""

from __future__ import annotations

import threading

from django.db import transaction
from django.db.models import Count, Max

from geo.geometry import Shape

_lock = threading.Lock()
_cache: dict = {"stamp": None, "shapes": [], "areas": {}}

# Located records and how to read their coordinates. Reports, case places and agencies (issue #7).
LOCATED = {
    "intake.report": ("intake", "Report"),
    "cases.place": ("cases", "Place"),
    "directory.agency": ("directory", "Agency"),
}


def _stamp():
    from geo.models import AdministrativeArea

    agg = AdministrativeArea.objects.aggregate(n=Count("id"), at=Max("updated_at"))
    return agg["n"], agg["at"]


def shapes() -> list[Shape]:
    """Every area as a Shape, in code order (the tie-break when data overlap)."""
    from geo.models import AdministrativeArea

    stamp = _stamp()
    with _lock:
        if _cache["stamp"] != stamp:
            areas = list(AdministrativeArea.objects.order_by("code"))
            _cache["shapes"] = [Shape.from_geojson(a.code, a.geometry) for a in areas]
            _cache["areas"] = {a.code: a for a in areas}
            _cache["stamp"] = stamp
        return _cache["shapes"]


def area_code_for(lat, lon, *, within: list[Shape] | None = None) -> str | None:
    """The code of the area containing (lat, lon), or None outside every area."""
    if lat is None or lon is None:
        return None
    x, y = float(lon), float(lat)
    for shape in within if within is not None else shapes():
        if shape.contains(x, y):
            return shape.code
    return None


def area_for(lat, lon):
    """The AdministrativeArea containing (lat, lon), or None."""
    code = area_code_for(lat, lon)
    return _cache["areas"].get(code) if code else None


def assign_all(*, batch: int = 1000) -> dict[str, int]:
    """(Re)assign every located report, case place and agency; returns how many of each were assigned."""
    from django.apps import apps

    from geo.models import AdministrativeArea, AreaAssignment

    within = shapes()
    ids = dict(AdministrativeArea.objects.values_list("code", "pk"))
    done = {}
    with transaction.atomic():
        for label, (app, model_name) in LOCATED.items():
            model = apps.get_model(app, model_name)
            rows = model._default_manager.filter(latitude__isnull=False, longitude__isnull=False).values_list(
                "pk", "latitude", "longitude"
            )
            AreaAssignment.objects.filter(object_type=label).delete()
            objs = []
            for pk, lat, lon in rows.iterator():
                code = area_code_for(lat, lon, within=within)
                objs.append(
                    AreaAssignment(
                        object_type=label,
                        object_id=pk,
                        area_id=ids.get(code),
                        latitude=float(lat),
                        longitude=float(lon),
                    )
                )
            AreaAssignment.objects.bulk_create(objs, batch_size=batch)
            done[label] = len(objs)
    return done

"""Which administrative area a point lies in (issue #7): ``area_for(lat, lon)``; and the stored area of every
located record (issue #11): ``refresh_area`` at write time, ``assign_all`` after areas change.

The areas are read once per process and kept with a stamp of the table (count and latest update), so a
reload by ``load_areas`` is picked up by the next lookup. See ``geo.geometry`` for the border rule.

Write paths that set coordinates call ``refresh_area(obj)`` (or ``refresh_areas(label, pks)`` for many) in
their transaction: reports (``intake.actions``), case places (``cases.actions``), agencies
(``directory.actions``), imports. The map (``geo.layers``) reads the stored areas and recomputes, per
request, only the records whose row is missing or stale, so a path that forgets the hook is slower, not wrong.
"""

from __future__ import annotations

import threading

from django.db import connection, transaction
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


def label_of(obj) -> str:
    """The ``object_type`` of a located record: "app_label.model"."""
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def _model(label: str):
    from django.apps import apps

    if label not in LOCATED:
        raise ValueError(f"not a located record type: {label!r}")
    return apps.get_model(*LOCATED[label])


def _assignments(label: str, rows, within: list[Shape], ids: dict[str, int]) -> list:
    from geo.models import AreaAssignment

    return [
        AreaAssignment(
            object_type=label,
            object_id=pk,
            area_id=ids.get(area_code_for(lat, lon, within=within)),
            latitude=float(lat),
            longitude=float(lon),
        )
        for pk, lat, lon in rows
    ]


def refresh_areas(label: str, pks) -> int:
    """Store the area of the records ``pks`` of type ``label`` as they are now in the database (issue #11):
    created, located, moved, unlocated or deleted. Call it from the action that wrote the coordinates, inside
    its transaction, after the save (or the delete), so the map's counts never see a record without its area.
    The coordinates are read back from the database (rounded as stored), never taken from the caller."""
    from geo.models import AdministrativeArea, AreaAssignment

    pks = [pk for pk in pks if pk is not None]
    if not pks:
        return 0
    model = _model(label)
    rows = list(
        model._default_manager.filter(pk__in=pks, latitude__isnull=False, longitude__isnull=False).values_list(
            "pk", "latitude", "longitude"
        )
    )
    within = shapes() if rows else []
    ids = dict(AdministrativeArea.objects.values_list("code", "pk")) if rows else {}
    with transaction.atomic():
        # Delete then insert: the same statements on SQLite and PostgreSQL, and a record that lost its pin (or
        # was deleted) loses its row.
        AreaAssignment.objects.filter(object_type=label, object_id__in=pks).delete()
        AreaAssignment.objects.bulk_create(_assignments(label, rows, within, ids))
    return len(rows)


def refresh_area(obj, fields=None) -> None:
    """``refresh_areas`` for one report, case place or agency: the hook the write actions call after saving
    (or deleting) it. With ``fields`` (the names the action changed), nothing happens unless a coordinate did."""
    if fields is not None and not {"latitude", "longitude"} & set(fields):
        return
    refresh_areas(label_of(obj), [obj.pk])


def forget_area(label: str, pk) -> None:
    """Drop the stored area of a record that is being deleted (``refresh_areas`` does it too, after the delete)."""
    from geo.models import AreaAssignment

    AreaAssignment.objects.filter(object_type=label, object_id=pk).delete()


def assign_all(*, batch: int = 2000, progress=None) -> dict[str, int]:
    """(Re)assign every located report, case place and agency; returns how many of each were assigned.

    Idempotent: each type's rows are replaced in one transaction, so running it twice (or after a failed
    run) leaves exactly one row per located record. ``progress(label, done, total)`` is called after each
    batch, for large tables (the command prints it). Run it after loading or changing areas (``load_areas``
    does) and once after upgrading (issue #11: the map reads these rows)."""
    from geo.models import AdministrativeArea, AreaAssignment

    within = shapes()
    ids = dict(AdministrativeArea.objects.values_list("code", "pk"))
    done = {}
    for label in LOCATED:
        model = _model(label)
        located = model._default_manager.filter(latitude__isnull=False, longitude__isnull=False)
        with transaction.atomic():
            total = located.count()
            AreaAssignment.objects.filter(object_type=label).delete()
            rows = located.order_by("pk").values_list("pk", "latitude", "longitude")
            n, chunk = 0, []
            for row in rows.iterator(chunk_size=batch):
                chunk.append(row)
                if len(chunk) == batch:
                    AreaAssignment.objects.bulk_create(_assignments(label, chunk, within, ids))
                    n += len(chunk)
                    chunk = []
                    if progress:
                        progress(label, n, total)
            AreaAssignment.objects.bulk_create(_assignments(label, chunk, within, ids))
            n += len(chunk)
            if progress and (chunk or not n):
                progress(label, n, total)
        done[label] = n
    if connection.vendor == "postgresql":
        # Fresh statistics, so the map's join (geo.layers) is planned for the table's real size.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {AreaAssignment._meta.db_table}")
    return done

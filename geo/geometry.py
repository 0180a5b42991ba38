"""Pure-Python polygons for point-in-area lookups (issue #7). No GEOS, no PostGIS: SQLite is the default.

Coordinates are GeoJSON order, (longitude, latitude). Rings may wind either way; holes are simply more rings
(even-odd rule), so a hole is outside its polygon whatever its winding.

Border rule (deterministic): the crossing test is half-open. A point exactly on a border between two areas
belongs to the area on its **east** side; where the border runs exactly east-west, to the area on its
**north** side. The intersection of an edge with the horizontal through the point is always computed from
the edge's endpoints in one canonical order, so the two areas sharing an edge agree on it to the last bit.
If the data overlap, the first matching area in code order wins (``geo.assign``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Ring = list[tuple[float, float]]


class GeometryError(ValueError):
    """A geometry that cannot be used: wrong type, unclosed ring, coordinates out of range."""


def _ring(raw, where: str) -> Ring:
    if not isinstance(raw, list) or len(raw) < 4:
        raise GeometryError(f"{where}: a ring needs at least 4 positions")
    ring = []
    for i, pos in enumerate(raw):
        if not isinstance(pos, list | tuple) or len(pos) < 2:
            raise GeometryError(f"{where}, position {i}: expected [longitude, latitude]")
        try:
            lon, lat = float(pos[0]), float(pos[1])
        except (TypeError, ValueError):
            raise GeometryError(f"{where}, position {i}: coordinates must be numbers") from None
        if not (math.isfinite(lon) and math.isfinite(lat)) or not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise GeometryError(f"{where}, position {i}: ({lon}, {lat}) is not a longitude/latitude")
        ring.append((lon, lat))
    if ring[0] != ring[-1]:
        raise GeometryError(f"{where}: ring is not closed (first and last positions differ)")
    return ring


def parse(geometry) -> list[list[Ring]]:
    """A GeoJSON Polygon or MultiPolygon as a list of polygons, each a list of rings (outer first)."""
    if not isinstance(geometry, dict):
        raise GeometryError("geometry missing")
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon":
        polygons = coords
    else:
        raise GeometryError(f"geometry type {kind!r} is not Polygon or MultiPolygon")
    if not isinstance(polygons, list) or not polygons:
        raise GeometryError("geometry has no coordinates")
    result = []
    for p, polygon in enumerate(polygons):
        if not isinstance(polygon, list) or not polygon:
            raise GeometryError(f"polygon {p}: no rings")
        result.append([_ring(r, f"polygon {p}, ring {k}") for k, r in enumerate(polygon)])
    return result


def bbox(polygons: list[list[Ring]]) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) of the outer rings."""
    lons = [x for polygon in polygons for x, _y in polygon[0]]
    lats = [y for polygon in polygons for _x, y in polygon[0]]
    return min(lons), min(lats), max(lons), max(lats)


def _crossings(ring: Ring, x: float, y: float) -> int:
    count = 0
    a = ring[-1]
    for b in ring:
        # Half-open in y: an edge counts when exactly one endpoint lies strictly above the point.
        if (a[1] > y) != (b[1] > y):
            lo, hi = (a, b) if a <= b else (b, a)  # canonical order: both neighbours compute the same float
            x_cross = lo[0] + (y - lo[1]) * (hi[0] - lo[0]) / (hi[1] - lo[1])
            if x < x_cross:
                count += 1
        a = b
    return count


@dataclass
class Shape:
    """An area's polygons with their bounding boxes, ready for fast lookups."""

    code: str
    polygons: list[list[Ring]]
    boxes: list[tuple[float, float, float, float]]
    box: tuple[float, float, float, float]

    @classmethod
    def from_geojson(cls, code: str, geometry) -> Shape:
        polygons = parse(geometry)
        boxes = [bbox([p]) for p in polygons]
        return cls(code, polygons, boxes, bbox(polygons))

    def contains(self, lon: float, lat: float) -> bool:
        x0, y0, x1, y1 = self.box
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            return False
        for polygon, (px0, py0, px1, py1) in zip(self.polygons, self.boxes, strict=True):
            if px0 <= lon <= px1 and py0 <= lat <= py1:
                if sum(_crossings(ring, lon, lat) for ring in polygon) % 2 == 1:
                    return True
        return False

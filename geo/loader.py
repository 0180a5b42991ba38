"""Loading administrative areas from GeoJSON (issue #7): any country, idempotent by code, all or nothing."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from geo.geometry import GeometryError, bbox, parse

ISO_3166_2 = re.compile(r"^([A-Z]{2})-[A-Z0-9]{1,3}$")


class LoadError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


# The demo's areas (Trinidad and Tobago), shipped with the code so any checkout runs the demo and the tests.
DEMO_GEOJSON = Path(__file__).resolve().parent / "data" / "tt_admin1.geojson"


def read(path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LoadError([f"{path}: no such file"]) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LoadError([f"{path}: not valid JSON ({exc})"]) from None


def validate(data, *, name_property: str = "name", code_property: str = "iso_3166_2") -> list[dict]:
    """Every feature checked before anything is written; raises LoadError listing every problem."""
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        raise LoadError(["the file is not a GeoJSON FeatureCollection"])
    problems, rows, seen = [], [], set()
    for i, feature in enumerate(data["features"]):
        props = (feature or {}).get("properties") or {}
        name = str(props.get(name_property) or "").strip()
        code = str(props.get(code_property) or "").strip().upper()
        where = f"feature {i}" + (f" ({code})" if code else "")
        if not name:
            problems.append(f"{where}: property {name_property!r} is missing")
        match = ISO_3166_2.match(code)
        if not match:
            problems.append(f"{where}: property {code_property!r} is not an ISO 3166-2 code: {code!r}")
        elif code in seen:
            problems.append(f"{where}: code {code} appears twice")
        seen.add(code)
        try:
            geometry = feature.get("geometry")
            box = bbox(parse(geometry))
        except (GeometryError, AttributeError) as exc:
            problems.append(f"{where}: {exc}")
            continue
        if match and name:
            rows.append({"name": name[:200], "code": code, "country": match.group(1), "geometry": geometry, "box": box})
    if not data["features"]:
        problems.append("the file has no features")
    if problems:
        raise LoadError(problems)
    return rows


def load(data, *, name_property: str = "name", code_property: str = "iso_3166_2", source: str = "") -> LoadResult:
    from geo.models import AdministrativeArea

    rows = validate(data, name_property=name_property, code_property=code_property)
    result = LoadResult()
    with transaction.atomic():
        existing = {a.code: a for a in AdministrativeArea.objects.filter(code__in=[r["code"] for r in rows])}
        for row in rows:
            min_lon, min_lat, max_lon, max_lat = row["box"]
            values = {
                "name": row["name"], "country": row["country"], "geometry": row["geometry"], "source": source[:300],
                "min_lon": min_lon, "min_lat": min_lat, "max_lon": max_lon, "max_lat": max_lat,
            }  # fmt: skip
            area = existing.get(row["code"])
            if area is None:
                AdministrativeArea.objects.create(code=row["code"], **values)
                result.created += 1
            elif any(getattr(area, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(area, k, v)
                area.save()
                result.updated += 1
            else:
                result.unchanged += 1
    return result

"""Charts and maps for statistics (issue #8), drawn on the server as SVG: no chart library, nothing fetched
at run time, readable without JavaScript. Functions here compute geometry only (numbers and labels already
counted by ``stats.dataset``); the templates ``stats/_bars.html``, ``stats/_lines.html`` and
``stats/_map.html`` draw it. Every chart sits next to its table: the table gives the exact numbers.
"""

from __future__ import annotations

import math

# Okabe-Ito: distinguishable with the common forms of colour blindness.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
MAP_SHADES = ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"]
WIDTH = 600
MAX_SERIES = len(PALETTE)
MAX_CATEGORIES = 60


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _nice_max(value: int) -> int:
    """A round upper bound for an axis (1, 2, 5 × 10^k)."""
    if value <= 0:
        return 1
    exp = 10 ** int(math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bars(categories: list[str], series: list[tuple[str, list[int]]]) -> dict | None:
    """Horizontal grouped bars: one group per category, one bar per series, the value written at the end."""
    if not categories or not series:
        return None
    categories = categories[:MAX_CATEGORIES]
    series = [(name, list(values)[: len(categories)]) for name, values in series[:MAX_SERIES]]
    label_w, value_w = 190, 50
    area = WIDTH - label_w - value_w
    bar_h = 16 if len(series) == 1 else 11
    group_h = bar_h * len(series) + 10
    top = 8 + (18 * ((len(series) + 2) // 3) if len(series) > 1 else 0)
    peak = max((v for _n, values in series for v in values), default=0) or 1
    groups = []
    for i, cat in enumerate(categories):
        y0 = top + i * group_h
        items = []
        for j, (name, values) in enumerate(series):
            v = values[i] if i < len(values) else 0
            w = round(area * v / peak, 1)
            y = y0 + 5 + j * bar_h
            items.append({"name": name, "value": v, "x": label_w, "y": y, "w": w, "h": bar_h - 2, "colour": colour(j),
                          "text_x": label_w + w + 4, "text_y": y + bar_h - 4})  # fmt: skip
        groups.append({"label": _short(cat), "full_label": cat, "text_y": y0 + group_h / 2 + 4, "bars": items})
    legend = []
    if len(series) > 1:
        for j, (name, _values) in enumerate(series):
            legend.append(
                {"name": _short(name, 24), "colour": colour(j), "x": 4 + (j % 3) * 200, "y": 4 + (j // 3) * 18}
            )
    return {
        "width": WIDTH,
        "height": top + len(categories) * group_h + 8,
        "label_x": label_w - 6,
        "groups": groups,
        "legend": legend,
    }


def lines(x_labels: list[str], series: list[tuple[str, list[int]]]) -> dict | None:
    """Lines over time with a dot per point (hover gives the value); the x axis labels thin out to stay legible."""
    if not x_labels or not series:
        return None
    series = series[:MAX_SERIES]
    left, right, top, bottom = 44, 12, 10 + (18 * ((len(series) + 2) // 3) if len(series) > 1 else 0), 34
    height = top + 180 + bottom
    plot_w, plot_h = WIDTH - left - right, 180
    peak = _nice_max(max((v for _n, values in series for v in values), default=0))
    n = len(x_labels)

    def x(i):
        return round(left + (plot_w * (i + 0.5) / n), 1)

    def y(v):
        return round(top + plot_h - plot_h * v / peak, 1)

    drawn = []
    for j, (name, values) in enumerate(series):
        points = [{"x": x(i), "y": y(v), "value": v, "label": x_labels[i]} for i, v in enumerate(values)]
        drawn.append(
            {
                "name": name,
                "colour": colour(j),
                "points": points,
                "path": " ".join(f"{p['x']},{p['y']}" for p in points),
            }
        )
    # One series: columns read better than a line for counts per period (often zero).
    columns = []
    if len(series) == 1:
        slot = plot_w / n
        width = round(max(1.0, slot * 0.7), 1)
        for p in drawn[0]["points"]:
            columns.append({**p, "x": round(p["x"] - width / 2, 1), "w": width, "h": round(top + plot_h - p["y"], 1)})
    every = max(1, math.ceil(n / 12))
    ticks = [{"x": x(i), "label": lbl} for i, lbl in enumerate(x_labels) if i % every == 0]
    grid = [{"y": y(v), "label": v} for v in (0, peak // 2 if peak >= 2 else None, peak) if v is not None]
    legend = []
    if len(series) > 1:
        legend = [
            {"name": _short(name, 24), "colour": colour(j), "x": 4 + (j % 3) * 200, "y": 4 + (j // 3) * 18}
            for j, (name, _v) in enumerate(series)
        ]
    return {"width": WIDTH, "height": height, "left": left, "right": WIDTH - right, "base": top + plot_h,
            "tick_y": top + plot_h + 16, "series": [] if columns else drawn, "columns": columns, "colour": colour(0),
            "ticks": ticks, "grid": grid, "legend": legend}  # fmt: skip


# --- the map ---------------------------------------------------------------------------------------------

_SHAPES: dict = {}


def _area_shapes():
    """Administrative areas as projected SVG paths, cached until an area changes."""
    from geo.geometry import GeometryError, parse
    from geo.models import AdministrativeArea

    areas = list(
        AdministrativeArea.objects.values(
            "code", "name", "geometry", "min_lon", "min_lat", "max_lon", "max_lat", "updated_at"
        )
    )
    if not areas:
        return None
    stamp = tuple((a["code"], a["updated_at"]) for a in areas)
    if _SHAPES.get("stamp") == stamp:
        return _SHAPES["shapes"]
    min_lon, max_lon = min(a["min_lon"] for a in areas), max(a["max_lon"] for a in areas)
    min_lat, max_lat = min(a["min_lat"] for a in areas), max(a["max_lat"] for a in areas)
    kx = math.cos(math.radians((min_lat + max_lat) / 2))
    span_x, span_y = max((max_lon - min_lon) * kx, 1e-9), max(max_lat - min_lat, 1e-9)
    scale = (WIDTH - 20) / span_x
    height = round(span_y * scale + 20)

    def pt(lon, lat):
        return f"{round(10 + (lon - min_lon) * kx * scale, 1)},{round(10 + (max_lat - lat) * scale, 1)}"

    shapes = []
    for a in areas:
        try:
            polygons = parse(a["geometry"])
        except GeometryError:
            continue
        parts = []
        for polygon in polygons:
            for ring in polygon:
                step = max(1, len(ring) // 300)  # keep pages light: at most ~300 points a ring
                kept = ring[::step]
                parts.append("M" + " L".join(pt(lon, lat) for lon, lat in kept) + " Z")
        shapes.append({"code": a["code"], "name": a["name"], "d": " ".join(parts)})
    result = {"width": WIDTH, "height": height, "shapes": shapes}
    _SHAPES.update(stamp=stamp, shapes=result)
    return result


def area_map(values: dict[str, int]) -> dict | None:
    """A choropleth of counts per administrative area code; None when no areas are loaded."""
    base = _area_shapes()
    if not base:
        return None
    peak = max(values.values(), default=0)
    shapes = []
    for shape in base["shapes"]:
        v = values.get(shape["code"], 0)
        shade = (
            MAP_SHADES[0]
            if not v or not peak
            else MAP_SHADES[min(len(MAP_SHADES) - 1, 1 + int((len(MAP_SHADES) - 2) * v / peak + 0.0001))]
        )
        shapes.append({**shape, "value": v, "fill": shade})
    legend = [{"fill": MAP_SHADES[0], "label": "0"}]
    if peak:
        legend.append({"fill": MAP_SHADES[-1], "label": str(peak)})
    return {"width": base["width"], "height": base["height"], "shapes": shapes, "legend": legend}


# --- from a built report ------------------------------------------------------------------------------------


def for_panel(report: dict, panel: dict) -> dict:
    """The chart(s) for one panel of a built report: lines when the rows are periods, bars otherwise, and a
    map too when the rows are administrative areas."""
    from stats.dataset import TIME_DIMENSIONS

    if not panel["rows"]:
        return {}
    categories = [row["label"] for row in panel["rows"]]
    if panel["columns"] and len(panel["columns"]) <= MAX_SERIES:
        series = [(name, [row["cells"][i] for row in panel["rows"]]) for i, name in enumerate(panel["columns"])]
        note = ""
    else:
        series = [(report["measure_label"], [row["total"] for row in panel["rows"]])]
        note = "totals" if panel["columns"] else ""
    chart = {"note": note, "truncated": len(categories) > MAX_CATEGORIES}
    if report["rows_dim"] in TIME_DIMENSIONS:
        chart["lines"] = lines(categories, series)
    else:
        chart["bars"] = bars(categories, series)
    if report["rows_dim"] == "area":
        chart["map"] = area_map({row["key"]: row["total"] for row in panel["rows"]})
    return chart

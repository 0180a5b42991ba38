"""Benchmark (issue #7): load the 15-area file and assign N random points in the country's bounding box."""

from __future__ import annotations

import os
import platform
import random
import re
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from geo import loader
from geo.assign import area_code_for, shapes
from geo.models import AdministrativeArea

START, END = "<!-- bench:geo -->", "<!-- /bench:geo -->"


class Command(BaseCommand):
    help = "Measure loading administrative areas and assigning random points; writes docs/benchmarks.md."

    def add_arguments(self, parser):
        parser.add_argument("--points", type=int, default=100_000)
        parser.add_argument("--file", default=str(loader.DEMO_GEOJSON))
        parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md alone")
        parser.add_argument("--keep", action="store_true", help="keep the loaded areas (default: roll back)")

    def handle(self, *args, **options):
        n = options["points"]
        with transaction.atomic():
            t0 = time.perf_counter()
            result = loader.load(loader.read(options["file"]), source=options["file"])
            t_load = time.perf_counter() - t0
            t0 = time.perf_counter()
            within = shapes()
            t_index = time.perf_counter() - t0
            box = [
                AdministrativeArea.objects.order_by(f).values_list(f, flat=True).first() for f in ("min_lon", "min_lat")
            ]
            box += [
                AdministrativeArea.objects.order_by("-" + f).values_list(f, flat=True).first()
                for f in ("max_lon", "max_lat")
            ]
            rng = random.Random(7)  # noqa: S311 - reproducible benchmark points, not secrets
            points = [(rng.uniform(box[1], box[3]), rng.uniform(box[0], box[2])) for _ in range(n)]
            t0 = time.perf_counter()
            inside = sum(1 for lat, lon in points if area_code_for(lat, lon, within=within) is not None)
            t_assign = time.perf_counter() - t0
            areas = AdministrativeArea.objects.count()
            if not options["keep"]:
                transaction.set_rollback(True)
        cpu = (
            next(
                (
                    line.split(":", 1)[1].strip()
                    for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")
                ),
                platform.processor(),
            )
            if Path("/proc/cpuinfo").exists()
            else platform.processor()
        )
        lines = [
            "## Administrative areas: loading and point-in-polygon assignment (issue #7)",
            "",
            f"    .venv/bin/python manage.py bench_geo --points {n}",
            "",
            f"Machine: {cpu} ({platform.machine()}, {os.cpu_count()} CPUs), {platform.system()} {platform.release()}, Python {platform.python_version()}, "
            f"{connection.vendor}; pure-Python ray casting with bounding-box prefilter (`geo/geometry.py`), one process.",
            "",
            "| step | figure |",
            "|---|---|",
            f"| load {areas} areas from `{Path(options['file']).name}` (validate + write; {result.created} new, {result.updated} changed, {result.unchanged} unchanged) | {t_load * 1000:.0f} ms |",
            f"| build the in-memory index | {t_index * 1000:.1f} ms |",
            f"| assign {n:,} random points in the country's bounding box | {t_assign:.2f} s ({n / t_assign:,.0f} points/s, {t_assign / n * 1e6:.1f} µs/point) |",
            f"| points inside an area | {inside:,} ({100.0 * inside / n:.1f} %; the rest is sea) |",
        ]
        text = "\n".join(lines)
        self.stdout.write(text)
        if not options["no_write"]:
            path = settings.BASE_DIR / "docs/benchmarks.md"
            doc = path.read_text(encoding="utf-8")
            section = f"{START}\n{text}\n{END}"
            if START in doc and END in doc:
                doc = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _m: section, doc, flags=re.S)
            else:
                doc = doc.rstrip("\n") + "\n\n" + section + "\n"
            path.write_text(doc, encoding="utf-8")

"""``manage.py bench_extra``: pages through the full Django stack, map data, a web worker's peak memory, a
mixed load of concurrent users (locust) and batch duplicate detection beside Splink, on the database made by
``bench_people`` (issue #11). One table goes to docs/benchmarks.md (section ``bench-extra``)."""

from __future__ import annotations

import io
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

STEPS = ("pages", "map", "memory", "load", "splink")
TARGETS = {"page": 150.0, "load": 500.0}


class Command(BaseCommand):
    help = (
        "Benchmark pages, map data, worker memory, concurrent load and duplicate detection vs Splink (bench database)."
    )
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--only", action="append", choices=STEPS, help="run only this step (repeatable)")
        parser.add_argument("--skip", action="append", choices=STEPS, default=[], help="skip this step (repeatable)")
        parser.add_argument(
            "--extra-cases",
            type=int,
            default=20_000,
            help="realistic cases (1-8 people) added once for the page figures",
        )
        parser.add_argument("--requests", type=int, default=100, help="requests per page figure")
        parser.add_argument("--points", type=int, default=100_000, help="points for geo's bench_geo")
        parser.add_argument("--users", type=int, default=50, help="locust users")
        parser.add_argument("--spawn-rate", type=int, default=10)
        parser.add_argument("--seconds", type=int, default=120, help="locust run time")
        parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers for the load")
        parser.add_argument(
            "--splink-sample",
            type=int,
            default=0,
            help="compare duplicates on a random subset of N people (0: everyone)",
        )
        parser.add_argument("--splink-threshold", type=float, default=0.9)
        parser.add_argument("--no-doc", action="store_true")

    def out(self, message: str) -> None:
        self.stdout.write(f"[{time.monotonic() - self.started:8.1f}s] {message}")
        self.stdout.flush()

    def handle(self, *args, **o):
        self.started = time.monotonic()
        conf = connection.settings_dict
        if connection.vendor != "postgresql" or "bench" not in conf["NAME"]:
            raise CommandError(
                "bench_extra runs on the PostgreSQL database made by bench_people (name containing 'bench')."
            )
        from bench import cases, people

        scale = people._state_get("generated", 0)
        if not scale:
            raise CommandError("No generated people: run `manage.py bench_people --scale N` first.")
        steps = [s for s in (o["only"] or STEPS) if s not in o["skip"]]
        call_command("migrate", verbosity=0)
        self.static()
        extra = cases.ensure(o["extra_cases"], self.out)
        res: dict = {"failed": {}}

        def step(name: str, fn) -> None:
            try:
                res[name] = {**fn(), "measured": f"{timezone.localtime():%Y-%m-%d %H:%M}"}
            except Exception as exc:  # noqa: BLE001 - one failed step must not lose the others' figures
                self.out(f"step {name} failed: {exc!r}")
                res["failed"][name] = f"{type(exc).__name__}: {str(exc)[:200]}"

        if "pages" in steps:
            from bench import pages

            step("pages", lambda: pages.measure(self.out, requests=o["requests"]))
        if "map" in steps:
            from bench import pages

            step("map", lambda: pages.measure_map(self.out))
            step("geo", lambda: self.geo(o["points"]))
        if "memory" in steps or "load" in steps:
            from bench import load

            users = load.prepare_users(max(o["users"], 1) if "load" in steps else 1, extra, self.out)
            if "memory" in steps:
                step("memory", lambda: load.memory(users, self.out))
            if "load" in steps:
                step(
                    "load",
                    lambda: load.load(
                        users,
                        self.out,
                        count=o["users"],
                        rate=o["spawn_rate"],
                        seconds=o["seconds"],
                        workers=o["workers"],
                    ),
                )
        if "splink" in steps:
            from bench import splink_compare

            step(
                "splink",
                lambda: splink_compare.compare(
                    self.out, sample=o["splink_sample"] or None, threshold=o["splink_threshold"]
                ),
            )
        command = (
            f"DATABASE_URL=postgres://{conf['USER']}@{conf['HOST'] or 'localhost'}:{conf['PORT'] or 5432}/{conf['NAME']} .venv/bin/python manage.py bench_extra "
            + " ".join(sys.argv[2:])
        )
        # A step rerun alone replaces its own rows; the other steps' last figures are kept (with their date).
        kept = people._state_get("extra_results", {})
        for name in res["failed"]:
            kept.pop(name, None)
        kept.update({k: v for k, v in res.items() if k != "failed"})
        people._state_set("extra_results", kept)
        res = {**kept, "failed": res["failed"]}
        text = section(scale, command.strip(), people.machine(), extra, res, o)
        self.stdout.write(text)
        if not o["no_doc"]:
            write_doc(people, scale, text)
            self.out("docs/benchmarks.md updated")

    def static(self) -> None:
        """Outside tests Beacon serves hashed static files from a manifest, as in production: collect them once."""
        from django.conf import settings

        if (
            "Manifest" in settings.STORAGES["staticfiles"]["BACKEND"]
            and not (settings.STATIC_ROOT / "staticfiles.json").exists()
        ):
            self.out(f"collectstatic into {settings.STATIC_ROOT}")
            call_command("collectstatic", interactive=False, verbosity=0)

    def geo(self, points: int) -> dict:
        """geo's own benchmark (load the areas, assign ``points`` random points), rolled back, doc left alone."""
        self.out(f"map: geo's bench_geo --points {points} --no-write")
        buf = io.StringIO()
        started = time.perf_counter()
        call_command("bench_geo", points=points, no_write=True, stdout=buf)
        seconds = time.perf_counter() - started
        line = next((x for x in buf.getvalue().splitlines() if x.startswith("| assign")), "")
        return {"points": points, "seconds": seconds, "line": line}


def write_doc(people, scale: int, text: str) -> None:
    """``bench.people.write_doc`` keeps only sections named ``<kind>:<scale>``; geo's section
    (``<!-- bench:geo -->``, written by ``bench_geo``) would be lost: it is put back after."""
    import re

    before = people.DOC.read_text() if people.DOC.exists() else ""
    kept = re.findall(r"<!-- bench:geo -->.*?<!-- /bench:geo -->", before, re.S)
    people.write_doc(scale, text, kind="bench-extra")
    after = people.DOC.read_text()
    missing = [block for block in kept if block not in after]
    if missing:
        people.DOC.write_text(after.rstrip("\n") + "\n\n" + "\n\n".join(missing) + "\n")


def _f(ms: float) -> str:
    return f"{ms:,.1f}"


def _met(value: float, target: float) -> str:
    return "yes" if value < target else "**no**"


def section(scale: int, command: str, info: dict, extra: dict, res: dict, o: dict) -> str:
    lines = [
        f"<!-- bench-extra:{scale} -->",
        f"### Pages, map data, memory, concurrent load, batch duplicates ({scale:,} people)",
        "",
        f"Measured {timezone.localtime():%Y-%m-%d %H:%M %Z} with `{command}`.",
        "",
        f"Machine: {info['cpus']} CPUs, {info['ram']} RAM; PostgreSQL {info['postgres']} (shared_buffers {info['shared_buffers']}) "
        f"on the same machine; Python {info['python']}. A step can be rerun alone with `--only STEP`; the table keeps the other "
        f"steps' last figures. Measured: "
        + ", ".join(f"{k} {v['measured']}" for k, v in res.items() if isinstance(v, dict) and "measured" in v)
        + ".",
        "",
        "What this measures (see `bench/pages.py`, `bench/load.py`, `bench/splink_compare.py`): "
        f"{len(extra['cases']):,} realistic cases of 1 to 8 people ({extra['links']:,} links; `bench/cases.py`) are added once beside the 50 "
        "large cases of the generator, and case pages are sampled from them. *Pages* go through the full Django stack in process "
        "(`django.test.Client`: sessions, CSRF, two-factor, session limits, view, template, audit row), after 10 warm-up requests. "
        "*Baseline*: every SELECT a request ran, captured and run again under `EXPLAIN ANALYZE`; the sum of PostgreSQL's planning and "
        "execution times is the database's own time for the page, and *ratio* = page p50 / database p50 is what Beacon adds on top "
        "(Python, templates, middleware, round trips, audit writes). *Memory*: one gunicorn sync worker serving a signed-in director "
        "the page mix below, peak resident set (`VmHWM`). *Load*: locust, headless, on loopback, bounded in time, against gunicorn "
        "sync workers; each simulated user signs in once (password and TOTP code through the real forms) and then mixes case list, "
        "case pages, person search, map data and the statistics dashboard, 1 to 3 s apart. *Duplicates*: `find_duplicates` "
        "(`cases.duplicates.find_all`) and Splink (DuckDB, in memory) on the same people, scored against the planted near-duplicates.",
        "",
        "| operation | n | p50 ms | p95 ms | baseline (database) p50 ms | ratio | target | met? |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for name, r in res.get("pages", {}).items():
        if not isinstance(r, dict):
            continue  # the step's "measured" date
        lines.append(
            f"| {name} | {r['n']} | {_f(r['p50'])} | {_f(r['p95'])} | {_f(r['db_p50'])} ({r['queries']} SELECTs) | "
            f"{r['p50'] / max(r['db_p50'], 0.001):.1f}× | p95 < 150 ms | {_met(r['p95'], TARGETS['page'])} |"
        )
    for name, r in res.get("map", {}).items():
        if not isinstance(r, dict):
            continue  # the step's "measured" date
        lines.append(
            f"| {name} ({r['points']:,} reports with coordinates) | {r['n']} | {_f(r['p50'])} | {_f(r['p95'])} | {_f(r['db_p50'])} ({r['queries']} SELECTs) | "
            f"{r['p50'] / max(r['db_p50'], 0.001):.1f}× | none set | – |"
        )
    if "geo" in res:
        g = res["geo"]
        figure = g["line"].strip("| ").split("|")[-1].strip() if g.get("line") else f"{g['seconds']:.1f} s"
        lines.append(
            f"| map: assign {g['points']:,} random points to areas (geo's `bench_geo`, pure Python, in process) | {g['points']:,} | – | – | "
            f"no SQL equivalent (no PostGIS) | – | none set | {figure} |"
        )
    if "memory" in res:
        m = res["memory"]
        lines.append(
            f"| web worker peak memory (1 sync worker, {m['requests']} requests, {m['errors']} errors) | 1 | – | – | – | – | {m['peak_mib']:,.0f} MiB peak (VmHWM); {m['start_mib']:,.0f} MiB after sign-in | – |"
        )
    if "load" in res:
        ld = res["load"]
        empty = {"n": 0, "failures": 0, "p50": 0, "p95": 0, "rps": 0}
        total = ld["rows"].get("all requests", empty)
        pages_only = ld["rows"].get("pages after sign-in", empty)
        ok = (
            pages_only["p95"] < TARGETS["load"] and total["failures"] == 0 and ld["users"] >= 50 and pages_only["n"] > 0
        )
        lines.append(
            f"| {ld['users']} concurrent users, {ld['seconds']} s (locust, {ld['workers']} gunicorn workers): pages after sign-in | {pages_only['n']} | {_f(pages_only['p50'])} | {_f(pages_only['p95'])} | – | – | "
            f"p95 < 500 ms, 0 errors | {'yes' if ok else '**no**'} ({total['failures']} errors in all {total['n']} requests incl. sign-in, {total['rps']:.1f} req/s) |"
        )
        for name, r in sorted(ld["rows"].items()):
            if name not in ("all requests", "pages after sign-in"):
                lines.append(
                    f"| … {name} | {r['n']} | {_f(r['p50'])} | {_f(r['p95'])} | – | – | | {r['failures']} errors |"
                )
    if "splink" in res:
        s = res["splink"]
        b, k = s["beacon"], s["splink"]
        on = f"a random subset of {s['people']:,} people" if s["sample"] else f"all {s['people']:,} people"
        lines.append(
            f"| duplicates: Beacon `find_duplicates` ({b['people']:,} people compared) | {b['pairs']:,} pairs | – | – | – | – | precision {b['precision']:.1%}, recall {b['recall']:.1%} | {b['seconds']:,.1f} s |"
        )
        lines.append(
            f"| duplicates: Splink 5 + DuckDB (threshold {s['threshold']}) | {k['pairs']:,} pairs | – | – | – | – | precision {k['precision']:.1%}, recall {k['recall']:.1%} | {k['seconds']:,.1f} s (+ {k['load_seconds']:,.1f} s decrypting) |"
        )
        for t, sc in s.get("splink_at", {}).items():
            if float(t) != s["threshold"]:
                lines.append(
                    f"| … Splink at threshold {t} (same run) | {sc['pairs']:,} pairs | – | – | – | – | precision {sc['precision']:.1%}, recall {sc['recall']:.1%} | – |"
                )
        better = b["recall"] >= k["recall"] and b["precision"] >= k["precision"]
        faster = b["seconds"] <= k["seconds"] + k["load_seconds"]
        lines += [
            "",
            f"Duplicates scored on {on} ({s['planted']:,} planted pairs inside it)"
            + (
                "; Beacon's report ran over the whole database and its pairs were restricted to the subset, Splink ran on the subset only"
                if s["sample"]
                else ""
            )
            + f". Beacon at least as accurate (precision and recall): {'yes' if better else '**no**'}; faster: {'yes' if faster else '**no**'}.",
        ]
    for name, error in res.get("failed", {}).items():
        lines += ["", f"Step `{name}` **failed** this run: {error}"]
    if "load" in res and res["load"]["failures"]:
        lines += ["", "Load failures: " + "; ".join(res["load"]["failures"][:10])]
    lines += ["", f"<!-- /bench-extra:{scale} -->"]
    return "\n".join(lines)

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

STEPS = ("records", "pages", "map", "memory", "load", "splink")
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
        parser.add_argument("--spawn-rate", type=float, default=2, help="users arriving (and signing in) per second")
        parser.add_argument("--seconds", type=int, default=120, help="measured window, after every user has signed in")
        parser.add_argument(
            "--think",
            action="append",
            help="think time between pages, LOW-HIGH seconds (repeatable: one load run each; default 5-15 and 1-3)",
        )
        parser.add_argument("--workers", type=int, default=3, help="gunicorn workers for the load")
        parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (gthread)")
        parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
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
        # What happens to the cases after they are opened (referrals, services, investigations, audit history):
        # written once, resumable; every step measures on it.
        from bench import records

        generated = records.ensure(self.out)
        if "records" in steps:
            res["records"] = {
                **generated,
                "counts": records.counts(),
                "realistic_cases": len(extra["cases"]),
                "links": extra["links"],
                "measured": f"{timezone.localtime():%Y-%m-%d %H:%M}",
            }

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
                thinks = [tuple(float(x) for x in t.split("-")) for t in (o["think"] or ["5-15", "1-3"])]
                step(
                    "load",
                    lambda: {
                        "runs": [
                            load.load(
                                users, self.out, count=o["users"], rate=o["spawn_rate"], seconds=o["seconds"],
                                think=think, workers=o["workers"], threads=o["threads"], worker_class=o["worker_class"],
                            )
                            for think in thinks
                        ]
                    },
                )  # fmt: skip
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
        "a page mix (case list, case pages, person search, map data, statistics dashboard), peak resident set (`VmHWM`). "
        "*Load*: locust, headless, on loopback, bounded in time; see below the table. *Duplicates*: `find_duplicates` "
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
    if "splink" in res:
        s = res["splink"]
        b, k = s["beacon"], s["splink"]
        on = f"a random subset of {s['people']:,} people" if s["sample"] else f"all {s['people']:,} people"
        lines.append(
            f"| duplicates: Beacon `find_duplicates` ({b['people']:,} people compared, probability {b.get('threshold', '–')}) | {b['pairs']:,} pairs | – | – | – | – | precision {b['precision']:.1%}, recall {b['recall']:.1%} | {b['seconds']:,.1f} s |"
        )
        lines.append(
            f"| duplicates: Splink 5 + DuckDB (threshold {s['threshold']}) | {k['pairs']:,} pairs | – | – | – | – | precision {k['precision']:.1%}, recall {k['recall']:.1%} | {k['seconds']:,.1f} s (+ {k['load_seconds']:,.1f} s decrypting) |"
        )
        for t, sc in s.get("beacon_at", {}).items():
            if float(t) != b.get("threshold"):
                lines.append(
                    f"| … Beacon at probability {t} (same run) | {sc['pairs']:,} pairs | – | – | – | – | precision {sc['precision']:.1%}, recall {sc['recall']:.1%} | – |"
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
    if "load" in res and res["load"].get("runs"):
        lines += load_table(res["load"]["runs"])
    if "records" in res:
        lines += records_text(res["records"])
    for name, error in res.get("failed", {}).items():
        lines += ["", f"Step `{name}` **failed** this run: {error}"]
    lines += ["", f"<!-- /bench-extra:{scale} -->"]
    return "\n".join(lines)


def _think(run: dict) -> str:
    low, high = run["think"]
    return f"{low:g}-{high:g} s"


def load_table(runs: list[dict]) -> list[str]:
    """One block per think time: pages in the measured window per kind, sign-ins (ramp-up) apart."""
    first = runs[0]
    lines = [
        "",
        f"*Concurrent load* (`bench/load.py`, `bench/locustfile.py`): {first['users']} simulated users on loopback against "
        f"gunicorn ({first['server']}). Ramp-up: users arrive {first['rate']:g} per second and sign in through the real forms "
        "(password, then TOTP code: Argon2 and a code check, the costliest requests Beacon serves), timed apart. Measured "
        f"window: once everyone is in, {first['seconds']} s of browsing; only pages inside it are counted. Mix (weights): case "
        "page 8, case list 4, person search 3 (form, then the query), case timeline 2, map 1 (both data layers), statistics "
        "dashboard 1 (directors; investigators open a case page instead); two users in five are investigators (20 cases "
        "each), the others directors. An error is a page that does not answer 200 or sends the user back to sign in. "
        "Think time: an officer reads a case page (people, identifiers, notes, referrals) for far longer than 15 s, so "
        "5-15 s between pages is already a busy unit; the 1-3 s run is shown beside it as a stress figure, so the think "
        "time cannot hide a saturation.",
        "",
        "| load run | page | n | p50 ms | p95 ms | p99 ms | errors | target | met? |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for run in runs:
        p = run["pages"]
        ok = p["p95"] < TARGETS["load"] and p["errors"] == 0 and run["users"] >= 50 and p["n"] > 0
        head = f"{run['users']} users, think {_think(run)}"
        lines.append(
            f"| {head} | **all pages** ({p['rps']:.1f}/s over {run['window_seconds']:.0f} s) | {p['n']} | {_f(p['p50'])} | "
            f"{_f(p['p95'])} | {_f(p['p99'])} | {p['errors']} | p95 < 500 ms, 0 errors | {'yes' if ok else '**no**'} |"
        )
        for name, r in run["kinds"].items():
            lines.append(
                f"| {head} | {name} | {r['n']} | {_f(r['p50'])} | {_f(r['p95'])} | {_f(r['p99'])} | {r['errors']} | | |"
            )
        si = run["sign_in"]
        ramp = f"{run['ramp_seconds']:.0f} s" if run.get("ramp_seconds") is not None else "?"
        lines.append(
            f"| {head} | sign-in, whole (ramp-up, {ramp}; not in the window) | {si['n']} | {_f(si['p50'])} | {_f(si['p95'])} | "
            f"{_f(si['p99'])} | {si['errors']} | | |"
        )
    failures = [f"{text} ({count})" for run in runs for text, count in run.get("failures", [])]
    if failures:
        lines += ["", "Load errors: " + "; ".join(failures[:10])]
    return lines


RECORD_LABELS = {
    "intake_report": "reports (each with a screening and a decision)",
    "cases_case": "cases",
    "cases_caseperson": "people in cases (links)",
    "cases_victimprofile": "victim profiles",
    "cases_suspectprofile": "suspect profiles",
    "care_servicedelivery": "services delivered (care record)",
    "referrals_referral": "referrals",
    "referrals_referralevent": "referral status events",
    "referrals_referralmessage": "referral messages (encrypted)",
    "referrals_referralservice": "services reported by providers",
    "investigations_logentry": "investigation log entries",
    "investigations_evidence": "exhibits",
    "investigations_courtcase": "court cases",
    "investigations_charge": "charges",
    "investigations_hearing": "hearings",
    "audit_auditevent": "audit rows (hash chain)",
}


def records_text(rec: dict) -> list[str]:
    from bench import records

    counts = rec.get("counts", {})
    lines = [
        "",
        f"*Records* (`bench/records.py`): what happens to the {rec.get('realistic_cases', 0):,} realistic cases after they are opened, written "
        f"once in {rec.get('seconds', 0):,.0f} s ({rec.get('runs', 1)} run(s), batches of {rec.get('batch', 0)} cases, resumable): "
        f"{records.SHARE_VICTIMS_SERVICES:.0%} of victims with 1-4 services delivered; {records.SHARE_VICTIMS_REFERRED:.0%} with "
        "1-3 referrals to one of 10 providers (status history; sent referrals with 0-6 messages; 1-2 services reported "
        f"when in progress or completed); an investigation on {records.SHARE_CASES_INVESTIGATED:.0%} of cases (2-12 log "
        "entries, 0-5 exhibits; a third of those with suspects in court: charges, 1-6 hearings); audit history as the actions "
        "write it, plus 3-40 case page views per case, chained so `verify_chain` holds. The table's rows also count the 50 large "
        "cases of the generator (every generated person is linked to one of them) and rows the application wrote itself.",
        "",
        "| table | rows in the table | written for the realistic cases | per realistic case |",
        "|---|---:|---:|---:|",
    ]
    n = max(rec.get("realistic_cases", 1), 1)
    written = {
        **rec.get("written", {}),
        "intake_report": n,
        "cases_case": n,
        "cases_caseperson": rec.get("links", 0),
    }
    for table, label in RECORD_LABELS.items():
        if table in counts:
            mine = written.get(table, 0)
            lines.append(f"| {label} (`{table}`) | {counts[table]:,} | {mine:,} | {mine / n:,.2f} |")
    return lines

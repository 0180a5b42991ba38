"""Pages through the full Django stack, beside the database's own time for their queries (issue #11).

``django.test.Client`` in the benchmark process: every middleware runs (sessions, CSRF, authentication,
two-factor, session limits, language, security headers), the view, the template and the audit row it writes.
Users are signed in as tests/base.py does (session with a verified TOTP device).

Baseline: for a sample of the same requests, every SELECT the request ran is captured
(``CaptureQueriesContext``) and run again under ``EXPLAIN (ANALYZE)``; the sum of PostgreSQL's execution times
is the database's own time for the page. The ratio page / database is the overhead Beacon adds (Python,
templates, middleware, round trips, audit writes).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.people import _state_get, percentiles


def signed_in(user) -> Client:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts import sessions

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="bench", confirmed=True
    )
    client = Client()
    client.force_login(user, backend="accounts.backends.RoleBackend")
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session[sessions.AUTH_AT] = session[sessions.SEEN_AT] = time.time()
    session.save()
    return client


def _get(client: Client, path: str) -> float:
    t = time.perf_counter()
    response = client.get(path)
    ms = (time.perf_counter() - t) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    return ms


def database_ms(client: Client, path: str) -> tuple[float, int]:
    """Sum of PostgreSQL's execution time (EXPLAIN ANALYZE) over the SELECTs one request ran, and their count."""
    with CaptureQueriesContext(connection) as captured:
        client.get(path)
    total, n = 0.0, 0
    with connection.cursor() as c:
        for q in captured.captured_queries:
            sql = q["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            c.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
            plan = c.fetchone()[0]
            plan = plan[0] if isinstance(plan, list) else plan
            total += plan["Execution Time"] + plan.get("Planning Time", 0)
            n += 1
    return total, n


def measure_path(client: Client, paths: list[str], *, warmup: int, baseline_samples: int) -> dict:
    for path in paths[:warmup]:
        _get(client, path)
    times = [_get(client, path) for path in paths]
    db = [database_ms(client, path) for path in paths[:baseline_samples]]
    result = percentiles(times)
    base = percentiles([ms for ms, _n in db])
    result.update({"db_p50": base["p50"], "db_p95": base["p95"], "queries": max(n for _ms, n in db)})
    return result


def measure(out: Callable[[str], None], *, requests: int = 100, warmup: int = 10, baseline_samples: int = 20) -> dict:
    from accounts.models import User

    setup = _state_get("setup")
    extra = _state_get("extra_cases")
    rng = random.Random(11)  # noqa: S311 - reproducible sample
    director = signed_in(User.objects.get(pk=setup["director"]))
    investigator = signed_in(User.objects.get(pk=setup["investigator"]))
    results = {}
    plan = [
        ("case list, director (page 1 of all cases)", director, ["/cases/"] * requests),
        ("case list, investigator (own cases)", investigator, ["/cases/"] * requests),
        (
            "case page, director (1-8 people)",
            director,
            [f"/cases/{c}/" for c in rng.choices(extra["cases"], k=requests)],
        ),
        (
            "case page, investigator (own case)",
            investigator,
            [f"/cases/{c}/" for c in rng.choices(extra["investigator_cases"], k=requests)],
        ),
    ]
    for name, client, paths in plan:
        out(f"pages: {name}, {len(paths)} requests")
        results[name] = measure_path(client, paths, warmup=warmup, baseline_samples=baseline_samples)
        r = results[name]
        out(
            f"  p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms; database p50 {r['db_p50']:.1f} ms over {r['queries']} SELECTs"
        )
    return results


def measure_map(out: Callable[[str], None], *, requests: int = 20) -> dict:
    """The map's data layers for a director (every report with coordinates: the extra cases' reports)."""
    from accounts.models import User
    from beacon.demo_geo import seed_geo
    from geo.models import AreaAssignment

    setup = _state_get("setup")
    director = signed_in(User.objects.get(pk=setup["director"]))
    results = {}
    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM intake_report WHERE latitude IS NOT NULL")
        points = c.fetchone()[0]
    # The map counts by stored area: load the country's areas and assign the generated reports (raw SQL wrote
    # them, outside the actions that keep areas current), as an operator does after an import.
    if AreaAssignment.objects.filter(object_type="intake.report").count() < points:
        started = time.monotonic()
        seed_geo()
        out(f"map: loaded the areas and assigned {points:,} reports in {time.monotonic() - started:.1f}s")
    for name, path in (
        ("map data: counts by area", "/map/data/counts.json?period=0"),
        ("map data: incidents", "/map/data/incidents.json?period=0"),
    ):
        out(f"{name} ({points:,} reports with coordinates), {requests} requests")
        results[name] = measure_path(director, [path] * requests, warmup=2, baseline_samples=3)
        results[name]["points"] = points
    return results

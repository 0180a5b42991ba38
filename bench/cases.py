"""Realistic cases for the page benchmarks (issue #11): ``bench_people`` links every generated person to one
of 50 cases, so each holds thousands of people, which no real case page shows. This adds ``n`` cases of 1 to 8
people each (existing generated people), in SQL, once (the state table remembers them).

Each case gets the rows the real route writes (report, screening, decision, case, owner membership), cloned
from one of the 50 cases opened through the actions, so every column the pages read is set the way the
actions set it. Reports get coordinates in Trinidad and Tobago's bounding box (the map layers read them) and
dates spread over 2019-2026. One case in 50 belongs to the benchmark investigator.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from django.db import connection, transaction

from bench.people import _state_get, _state_set

STATE_KEY = "extra_cases"
LAT, LON = (10.04, 11.36), (-61.93, -60.49)


def _ids(c, table: str, n: int) -> list[int]:
    c.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", [n])  # noqa: S608
    return [row[0] for row in c.fetchall()]


def _columns(c, table: str) -> list[str]:
    c.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position", [table]
    )
    return [row[0] for row in c.fetchall()]


def _clone(c, table: str, template: int, arrays: dict[str, tuple[str, list]], overrides: dict[str, str]) -> None:
    """INSERT one copy of row ``template`` per element of the arrays; ``overrides`` are SQL expressions over
    ``t`` (the template row) and ``u`` (the arrays, one column per name, plus ``g`` the ordinal)."""
    names = list(arrays)
    cols = _columns(c, table)
    exprs = [overrides.get(col, f"t.{col}") for col in cols]
    unnest = ", ".join(f"%s::{sqltype}[]" for sqltype, _values in arrays.values())
    sql = (
        f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(exprs)} FROM {table} t, "  # noqa: S608
        f"unnest({unnest}) WITH ORDINALITY AS u({', '.join(names)}, g) WHERE t.id = %s"
    )
    c.execute(sql, [values for _t, values in arrays.values()] + [template])


def ensure(n: int, out: Callable[[str], None], *, seed: int = 11) -> dict:
    """Add ``n`` realistic cases (once); returns {"cases": [ids], "investigator_cases": [ids]}."""
    done = _state_get(STATE_KEY)
    if done and len(done["cases"]) >= n:
        return done
    if done:
        raise RuntimeError(
            f"{len(done['cases'])} extra cases exist already; asked for {n}. Use --extra-cases {len(done['cases'])}."
        )
    setup = _state_get("setup")
    if not setup:
        raise RuntimeError("No benchmark setup: run `manage.py bench_people --scale N` first.")
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible on purpose
    started = time.monotonic()
    out(f"adding {n:,} cases of 1-8 people each")
    template_case = setup["cases"][1]
    investigator = setup["investigator"]
    with connection.cursor() as c:
        c.execute("SELECT report_id, decision_id, owner_id FROM cases_case WHERE id = %s", [template_case])
        t_report, t_decision, other_owner = c.fetchone()
        c.execute("SELECT screening_id FROM screening_decision WHERE id = %s", [t_decision])
        t_screening = c.fetchone()[0]
        c.execute("SELECT min(id), max(id) FROM cases_person")
        lo, hi = c.fetchone()
    with transaction.atomic(), connection.cursor() as c:
        reports, screenings, decisions, cases = (
            _ids(c, t, n) for t in ("intake_report", "screening_screening", "screening_decision", "cases_case")
        )
        owners = [investigator if i % 50 == 0 else other_owner for i in range(n)]
        days = [rng.randrange(0, 2880) for _ in range(n)]
        lats = [round(rng.uniform(*LAT), 6) for _ in range(n)]
        lons = [round(rng.uniform(*LON), 6) for _ in range(n)]
        when = "(DATE '2019-01-01' + u.day)::timestamptz + interval '10 hours'"
        _clone(c, "intake_report", t_report,
               {"id": ("bigint", reports), "owner": ("bigint", owners), "day": ("int", days), "lat": ("numeric", lats), "lon": ("numeric", lons)},
               {"id": "u.id", "reference": "'R-BX-' || u.id", "received_at": when, "assignee_id": "u.owner", "latitude": "u.lat",
                "longitude": "u.lon", "created_at": when, "updated_at": when, "triaged_at": when, "assigned_at": when,
                "acknowledged_at": when})  # fmt: skip
        _clone(c, "screening_screening", t_screening,
               {"id": ("bigint", screenings), "report": ("bigint", reports), "owner": ("bigint", owners), "day": ("int", days)},
               {"id": "u.id", "report_id": "u.report", "screened_by_id": "u.owner", "person_label": "'B-' || u.id", "screened_at": when})  # fmt: skip
        _clone(c, "screening_decision", t_decision,
               {"id": ("bigint", decisions), "report": ("bigint", reports), "screening": ("bigint", screenings), "day": ("int", days)},
               {"id": "u.id", "report_id": "u.report", "screening_id": "u.screening", "decided_at": when})  # fmt: skip
        _clone(c, "cases_case", template_case,
               {"id": ("bigint", cases), "report": ("bigint", reports), "decision": ("bigint", decisions), "owner": ("bigint", owners), "day": ("int", days)},
               {"id": "u.id", "reference": "'C-BX-' || u.id", "report_id": "u.report", "decision_id": "u.decision", "owner_id": "u.owner",
                "opened_at": when})  # fmt: skip
        c.execute(
            "INSERT INTO cases_casemember (role, added_at, case_id, user_id) SELECT 'owner', now(), u.id, u.owner "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS u(id, owner)",
            [cases, owners],
        )
        roles = ("victim",) * 5 + ("suspect",) * 2 + ("witness",)
        links = []
        for case in cases:
            people = {rng.randrange(lo, hi + 1) for _ in range(rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6, 8)))}
            links += [
                f"{roles[k % len(roles)] if k else 'victim'}\tP-{k + 1}\tnow\t{case}\t{p}\n"
                for k, p in enumerate(sorted(people))
            ]
        with c.cursor.copy(
            "COPY cases_caseperson (role, pseudonym, created_at, case_id, person_id) FROM STDIN"
        ) as copy:
            copy.write("".join(links))
        for table in (
            "intake_report",
            "screening_screening",
            "screening_decision",
            "cases_case",
            "cases_casemember",
            "cases_caseperson",
        ):
            c.execute(f"ANALYZE {table}")
        result = {
            "cases": cases,
            "investigator_cases": [k for k, o in zip(cases, owners, strict=True) if o == investigator],
            "links": len(links),
        }
        _state_set(STATE_KEY, result)
    out(f"added {n:,} cases with {len(links):,} people links in {time.monotonic() - started:.1f}s")
    return result

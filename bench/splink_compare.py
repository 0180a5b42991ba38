"""Batch duplicate detection: Beacon's ``find_duplicates`` beside Splink (DuckDB backend), on the same records,
scored against the near-duplicates the generator planted (table ``bench_planted``), issue #11.

People are decrypted in this process and handed to an in-memory DuckDB database: nothing in clear is written
to disk. Splink's model (a Fellegi-Sunter model, the usual set-up from its tutorials):

- blocking (prediction): same surname sound and birth year; same given-name and surname sounds; given and
  surname sounds crossed (a surname written as the given name). Sounds are Beacon's ``cases.search.sound_key``
  of the first given and first family name (DuckDB has no Spanish-aware phonetic function);
- comparisons: given names and family names by Jaro-Winkler (0.92, 0.8), date of birth (exact, one
  character, within a month, a year, ten years), birth year or year estimated from the age (exact, within
  2 years), sex, first nationality;
- training: probability two random records match from pairs sharing both name sounds and the birth year
  (recall 0.6), u by random sampling (10,000,000 pairs), m by expectation-maximisation on ``EM_BLOCKS``
  (both name sounds and birth year, then both name sounds);
- prediction at match probability >= 0.5, scored at each of ``TRADE_OFF`` and at ``threshold`` (default 0.9);
  term-frequency adjustments on given and family names (as Splink's documentation advises for names).

Precision is the share of reported pairs that are records of one generated person (a planted pair, or two
near-duplicates planted from the same original); an unplanted pair is two different generated people, even with
the same name and year. Recall is the share of those pairs reported. Beacon's report is timed from probability
``LOW_THRESHOLD`` too, so both tools do the same job (every pair of the trade-off) in the time shown. With ``sample`` both
tools are scored on the same random subset of people (planted pairs taken whole); Beacon's report still runs
over the whole database (it reads its own token tables) and its pairs are restricted to the subset.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import date
from itertools import combinations

from django.db import connection

from bench.people import PLANTED, strip_accents

LAMBDA_RECALL = 0.6
# EM needs blocks where true duplicates are a fair share of the pairs; these two gave the best model of those
# tried on the 100,000-people database (exact names, then exact date: no pair above 0.9; name sounds, then
# surname sound and year: no pair above 0.9 either).
EM_BLOCKS = [("given_sound", "family_sound", "birth_year"), ("given_sound", "family_sound")]
LOW_THRESHOLD = 0.5
TRADE_OFF = (0.5, 0.9, 0.95, 0.99)  # both tools are scored at each of these probabilities, from the same run


def _planted() -> set[tuple[int, int]]:
    """Pairs of records of one generated person: each planted (original, near-duplicate) pair, and two
    near-duplicates planted from the same original (they are the same person too)."""
    with connection.cursor() as c:
        c.execute(f"SELECT original, duplicate FROM {PLANTED}")  # noqa: S608
        rows = c.fetchall()
    copies: dict[int, list[int]] = {}
    for original, duplicate in rows:
        copies.setdefault(original, []).append(duplicate)
    out = {tuple(sorted(row)) for row in rows}
    for duplicates in copies.values():
        out |= {tuple(sorted(pair)) for pair in combinations(duplicates, 2)}
    return out


def choose_subset(sample: int | None, planted: set[tuple[int, int]], seed: int = 11) -> set[int] | None:
    if not sample:
        return None
    rng = random.Random(seed)  # noqa: S311 - reproducible sample
    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM cases_person")
        total = c.fetchone()[0]
    pairs = rng.sample(sorted(planted), min(len(planted), int(sample * len(planted) * 2 / max(total, 1) / 2) or 1))
    chosen = {p for pair in pairs for p in pair}
    with connection.cursor() as c:
        c.execute(
            "SELECT id FROM cases_person TABLESAMPLE BERNOULLI (%s) REPEATABLE (11)",
            [min(100.0, 100.0 * sample * 1.2 / max(total, 1))],
        )
        others = [row[0] for row in c.fetchall()]
    rng.shuffle(others)
    for pid in others:
        if len(chosen) >= sample:
            break
        chosen.add(pid)
    return chosen


def _records(subset: set[int] | None, out: Callable[[str], None]) -> list[dict]:
    from cases.models import Person
    from cases.search import sound_key

    today = date.today()
    qs = Person.objects.filter(merged_into__isnull=True).only(
        "pk",
        "given_names",
        "family_names",
        "birth_date",
        "birth_year",
        "estimated_age",
        "age_estimated_on",
        "sex",
        "nationalities",
    )
    if subset is not None:
        qs = qs.filter(pk__in=subset)
    rows = []
    for p in qs.iterator(chunk_size=5000):
        given = strip_accents(p.given_names or "").lower().strip()
        family = strip_accents(p.family_names or "").lower().strip()
        year = p.birth_year or (int(p.birth_date[:4]) if p.birth_date else None)
        if year is None and p.estimated_age is not None:
            year = (p.age_estimated_on or today).year - p.estimated_age
        g1, f1 = (given.split() or [""])[0], (family.split() or [""])[0]
        rows.append({
            "unique_id": p.pk, "given": given or None, "family": family or None,
            "given_sound": sound_key(g1) or None, "family_sound": sound_key(f1) or None,
            "birth_date": p.birth_date or None, "birth_year": year, "sex": p.sex or None,
            "nationality": (p.nationalities or [None])[0],
        })  # fmt: skip
        if len(rows) % 100_000 == 0:
            out(f"  {len(rows):,} people decrypted")
    return rows


def run_splink(
    rows: list[dict], threshold: float, out: Callable[[str], None]
) -> tuple[dict[tuple[int, int], float], float]:
    import duckdb
    import pyarrow as pa
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.monotonic()
    con = duckdb.connect(":memory:")
    people = pa.Table.from_pylist(rows)  # noqa: F841 - read by name by DuckDB below
    con.execute("CREATE TABLE people AS SELECT * FROM people")
    db_api = DuckDBAPI(con)
    df = db_api.register("people")
    year = cl.CustomComparison(
        output_column_name="birth_year",
        comparison_levels=[
            cll.NullLevel("birth_year"),
            cll.ExactMatchLevel("birth_year"),
            cll.AbsoluteDifferenceLevel("birth_year", difference_threshold=2),
            cll.ElseLevel(),
        ],
    )
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("family_sound", "birth_year"),
            block_on("given_sound", "family_sound"),
            "l.given_sound = r.family_sound AND l.family_sound = r.given_sound",
        ],
        comparisons=[
            # Term-frequency adjustments on names (Splink's docs: a match on a rare name is stronger evidence).
            cl.JaroWinklerAtThresholds("given", [0.92, 0.8]).configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("family", [0.92, 0.8]).configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("birth_date", input_is_string=True, datetime_format="%Y-%m-%d"),
            year,
            cl.ExactMatch("sex"),
            cl.ExactMatch("nationality"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    import logging

    logging.getLogger("splink").setLevel(logging.WARNING)
    linker = Linker(df, settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_sound", "family_sound", "birth_year")], recall=LAMBDA_RECALL
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=11)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on(*EM_BLOCKS[0]))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on(*EM_BLOCKS[1]))
    trained = time.monotonic() - started
    out(f"  splink trained in {trained:.1f}s; predicting")
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    pairs = predictions.as_duckdbpyrelation().select("unique_id_l, unique_id_r, match_probability").fetchall()
    seconds = time.monotonic() - started
    con.close()
    return {tuple(sorted((int(a), int(b)))): float(p) for a, b, p in pairs}, seconds


def score(found: set[tuple[int, int]], planted: set[tuple[int, int]]) -> dict:
    hits = len(found & planted)
    return {
        "pairs": len(found),
        "precision": hits / len(found) if found else 0.0,
        "recall": hits / len(planted) if planted else 0.0,
    }


def compare(out: Callable[[str], None], *, sample: int | None = None, threshold: float = 0.9) -> dict:
    """Both tools on the same people, the same truth, in the same run. Each computes every pair from
    LOW_THRESHOLD (so each is timed doing the same job: the whole trade-off) and is scored at each of TRADE_OFF;
    the headline rows are Splink at ``threshold`` and Beacon at its own report threshold. Times include
    decrypting on both sides (Beacon decrypts inside ``find_all``)."""
    from cases import duplicates

    planted = _planted()
    subset = choose_subset(sample, planted)
    if subset is not None:
        planted = {pair for pair in planted if pair[0] in subset and pair[1] in subset}
    low = min(LOW_THRESHOLD, threshold, duplicates.REPORT_PROBABILITY)
    out(
        f"duplicates: Beacon's find_duplicates (cases.duplicates.find_all, from probability {low}) over the whole database"
    )
    started = time.monotonic()
    result = duplicates.find_all(threshold=low)
    beacon_seconds = time.monotonic() - started
    beacon = {tuple(sorted((a, b))): s for a, b, s, _c in result["pairs"]}
    if subset is not None:
        beacon = {pair: s for pair, s in beacon.items() if pair[0] in subset and pair[1] in subset}
    out("duplicates: decrypting people for Splink (in memory)")
    started = time.monotonic()
    rows = _records(subset, out)
    load_seconds = time.monotonic() - started
    out(f"duplicates: Splink on {len(rows):,} people")
    scored, splink_seconds = run_splink(rows, low, out)
    levels = sorted({*TRADE_OFF, threshold, duplicates.REPORT_PROBABILITY})

    def at(found: dict, t: float) -> dict:
        return score({pair for pair, p in found.items() if p >= t}, planted)

    return {
        "people": len(rows), "sample": sample, "planted": len(planted), "threshold": threshold,
        "beacon": {**at(beacon, duplicates.REPORT_PROBABILITY), "seconds": beacon_seconds, "people": result["people"],
                   "threshold": duplicates.REPORT_PROBABILITY},
        "splink": {**at(scored, threshold), "seconds": splink_seconds, "load_seconds": load_seconds},
        "splink_at": {str(t): at(scored, t) for t in levels},
        "beacon_at": {str(t): at(beacon, t) for t in levels},
    }  # fmt: skip

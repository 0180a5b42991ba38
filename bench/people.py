"""Benchmark of name search and duplicate proposals at scale (issue #4).

``manage.py bench_people --scale N`` (``make bench``) on PostgreSQL:

1. creates the benchmark database if missing and migrates it;
2. opens a few cases through the real actions, then generates N synthetic people with realistic Spanish-,
   English-speaking and Indo-Trinidadian names (accents written or not, typos, aliases, phones, passports,
   dates of birth or estimated ages; 2% planted near-duplicates of someone else) and writes them with COPY in
   batches: encrypted fields, case links, identifiers with their blind indexes, and search tokens computed by
   ``cases.search`` itself. Each batch commits with the progress counter, so an interrupted run resumes;
3. measures, over ``--queries`` queries drawn from the data (exact, reordered, unaccented, misspelt, partial and
   one-word), the latency of ``cases.search.search`` and ``cases.duplicates.propose`` on an unrestricted
   queryset, for a director (``visible_to``, sees every case) and for an investigator who sees one case of 50;
4. optionally times ``cases.duplicates.find_all`` (the nightly report) and its recall of the planted pairs;
5. writes the figures into docs/benchmarks.md (one section per scale, other scales kept).
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import statistics
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from bench import names as N
from cases import duplicates, search
from cases.actions import identifier_index
from utilities.crypto import encrypt_text

N_CASES = 50
DUPLICATE_SHARE = 0.02
STATE = "bench_state"
PLANTED = "bench_planted"
DOC = Path(settings.BASE_DIR) / "docs" / "benchmarks.md"
LOOKUP_KEY = "cases_searchtoken_pkey"  # the (token, person_id) primary key: the index searches read


# --- synthetic people ------------------------------------------------------------------------------------


def _weights(items: list[str]) -> list[float]:
    total, out = 0.0, []
    for rank in range(len(items)):
        total += 1 / (rank + 1) ** 0.85  # Zipf-like: a few names are very common, most are rare
        out.append(total)
    return out


_LISTS = {
    name: (items, _weights(items))
    for name, items in {
        "spanish_female": N.SPANISH_FEMALE, "spanish_male": N.SPANISH_MALE, "spanish_family": N.SPANISH_FAMILY,
        "english_female": N.ENGLISH_FEMALE, "english_male": N.ENGLISH_MALE, "english_family": N.ENGLISH_FAMILY,
        "indo_female": N.INDO_GIVEN_FEMALE, "indo_male": N.INDO_GIVEN_MALE, "indo_family": N.INDO_FAMILY,
    }.items()
}  # fmt: skip


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


_SWAPS = (("z", "s"), ("s", "z"), ("v", "b"), ("b", "v"), ("ll", "y"), ("y", "i"), ("i", "y"), ("c", "k"), ("k", "c"), ("ph", "f"), ("mm", "m"), ("h", ""))


def typo(word: str, rng: random.Random) -> str:
    """One plausible slip: a phonetic swap, a doubled, dropped or transposed letter (never the first)."""
    if len(word) < 4:
        return word
    op = rng.random()
    if op < 0.35:
        for a, b in rng.sample(_SWAPS, len(_SWAPS)):
            at = word.lower().find(a, 1)
            if at > 0:
                return word[:at] + b + word[at + len(a) :]
    i = rng.randrange(1, len(word) - 1)
    if op < 0.55:
        return word[:i] + word[i + 1 :]
    if op < 0.75:
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


@dataclass
class Synth:
    given: str
    family: str
    sex: str
    group: str
    birth_date: str = ""
    estimated_age: int | None = None
    estimated_on: date | None = None
    nationalities: tuple = ()
    alias: str = ""
    phone: str = ""
    document: str = ""
    duplicate_of: int | None = None  # index in the batch of the person this one duplicates


class Generator:
    def __init__(self, rng: random.Random, today: date):
        self.rng = rng
        self.today = today

    def pick(self, name: str, k: int = 1) -> list[str]:
        items, cum = _LISTS[name]
        out: list[str] = []
        while len(out) < k:
            word = self.rng.choices(items, cum_weights=cum)[0]
            if word not in out:
                out.append(word)
        return out

    def person(self) -> Synth:
        rng = self.rng
        r = rng.random()
        group = "spanish" if r < 0.45 else "english" if r < 0.8 else "indo"
        sex = "female" if rng.random() < 0.62 else "male"
        if group == "spanish":
            given = self.pick(f"spanish_{sex}", 2 if rng.random() < 0.35 else 1)
            family = self.pick("spanish_family", 2 if rng.random() < 0.65 else 1)
        else:
            given = self.pick(f"{group}_{sex}", 2 if rng.random() < 0.25 else 1)
            family = self.pick(f"{group}_family")
        p = Synth(" ".join(given), " ".join(family), sex, group)
        if group == "spanish" and rng.random() < 0.25:
            p.given, p.family = strip_accents(p.given), strip_accents(p.family)  # written without accents
        if rng.random() < 0.03:
            p.given, p.family = self.misspell(p.given, p.family)
        r = rng.random()
        if r < 0.55:
            born = date(1960, 1, 1) + timedelta(days=rng.randrange(0, 50 * 365))
            p.birth_date = born.isoformat()
        elif r < 0.85:
            p.estimated_age = rng.randrange(12, 61)
            p.estimated_on = self.today - timedelta(days=rng.randrange(0, 5 * 365))
        codes, weights = zip(*N.NATIONALITIES[group], strict=True)
        p.nationalities = (rng.choices(codes, weights=weights)[0],)
        if rng.random() < 0.08:
            p.alias = rng.choice(N.NICKNAMES)
        if rng.random() < 0.3:
            prefix = "+58 412" if p.nationalities[0] == "VE" else "+1 868"
            p.phone = f"{prefix} {rng.randrange(200, 999)}-{rng.randrange(0, 9999):04d}"
        if rng.random() < 0.2:
            p.document = f"{p.nationalities[0]}{rng.randrange(1_000_000, 99_999_999)}"
        return p

    def misspell(self, given: str, family: str) -> tuple[str, str]:
        if self.rng.random() < 0.5:
            words = given.split()
            i = self.rng.randrange(len(words))
            words[i] = typo(words[i], self.rng)
            return " ".join(words), family
        words = family.split()
        i = self.rng.randrange(len(words))
        words[i] = typo(words[i], self.rng)
        return given, " ".join(words)

    def near_duplicate(self, o: Synth, index: int) -> Synth:
        """The same person recorded again elsewhere: fewer names, no accents, a typo, a date a year off..."""
        rng = self.rng
        given, family = o.given.split(), o.family.split()
        if len(given) > 1 and rng.random() < 0.5:
            given = given[:1]
        if len(family) > 1 and rng.random() < 0.5:
            family = family[:1]
        p = Synth(" ".join(given), " ".join(family), o.sex, o.group, nationalities=o.nationalities, duplicate_of=index)
        if rng.random() < 0.5:
            p.given, p.family = strip_accents(p.given), strip_accents(p.family)
        if rng.random() < 0.4:
            p.given, p.family = self.misspell(p.given, p.family)
        if rng.random() < 0.1:
            p.given, p.family = p.family, p.given  # surname written as the given name
        if o.birth_date:
            r = rng.random()
            if r < 0.5:
                p.birth_date = o.birth_date
            elif r < 0.75:
                p.birth_date = (date.fromisoformat(o.birth_date) + timedelta(days=rng.choice((-365, 365)))).isoformat()
            else:
                born = date.fromisoformat(o.birth_date)
                p.estimated_age = max(0, self.today.year - born.year + rng.randrange(-2, 3))
                p.estimated_on = self.today
        elif o.estimated_age is not None:
            p.estimated_age = o.estimated_age + rng.randrange(-2, 3)
            p.estimated_on = o.estimated_on
        if o.document and rng.random() < 0.4:
            p.document = o.document.lower()
        if o.phone and rng.random() < 0.3:
            p.phone = re.sub(r"\D", "", o.phone)[-7:]
        if o.alias and rng.random() < 0.5:
            p.alias = o.alias
        return p


def make_batch(seed: int, start: int, count: int, today: date) -> list[Synth]:
    """People ``start`` .. ``start + count`` of the benchmark, the same for the same (seed, start): a resumed run
    (same batch size, kept in the state table) continues the same population."""
    gen = Generator(random.Random(f"{seed}:{start}"), today)  # noqa: S311 - synthetic data, reproducible on purpose
    out: list[Synth] = []
    for _i in range(count):
        if out and gen.rng.random() < DUPLICATE_SHARE:
            j = gen.rng.randrange(len(out))
            if out[j].duplicate_of is None:
                out.append(gen.near_duplicate(out[j], j))
                continue
        out.append(gen.person())
    return out


# --- writing ---------------------------------------------------------------------------------------------


def _state_get(key: str, default=None):
    with connection.cursor() as c:
        c.execute(f"SELECT value FROM {STATE} WHERE key = %s", [key])  # noqa: S608
        row = c.fetchone()
    return json.loads(row[0]) if row else default


def _state_set(key: str, value) -> None:
    with connection.cursor() as c:
        c.execute(
            f"INSERT INTO {STATE} (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",  # noqa: S608
            [key, json.dumps(value)],
        )


def ensure_tables() -> None:
    with connection.cursor() as c:
        c.execute(f"CREATE TABLE IF NOT EXISTS {STATE} (key text PRIMARY KEY, value text NOT NULL)")
        c.execute(f"CREATE TABLE IF NOT EXISTS {PLANTED} (original bigint NOT NULL, duplicate bigint NOT NULL)")


def ensure_cases(out: Callable[[str], None]) -> dict:
    """Users and cases opened through the real route (report, screening, decision)."""
    existing = _state_get("setup")
    if existing:
        return existing
    from accounts.models import Role, User
    from accounts.roles import sync_roles
    from directory.choices import AgencyKind, OrganisationType
    from directory.models import Agency
    from intake import actions as intake_actions
    from screening.actions import record_decision, record_screening

    out(f"opening {N_CASES} cases through the actions")
    sync_roles()
    ctu, _ = Agency.objects.get_or_create(
        name="Counter Trafficking Unit (bench)", defaults={"short_name": "CTU", "kind": AgencyKind.CTU, "org_type": OrganisationType.CENTRAL_GOVERNMENT, "is_home_unit": True}
    )  # fmt: skip

    def user(name: str, role: str):
        u = User.objects.filter(username=name).first()
        if u is None:
            u = User.objects.create_user(username=name, password=None, agency=ctu, email=f"{name}@example.invalid")
            u.roles.set(Role.objects.filter(code=role))
        return u

    director, hoi = user("bench_director", "director"), user("bench_hoi", "head_of_investigations")
    investigator, others = user("bench_investigator", "investigator"), user("bench_investigator2", "investigator")
    intake = user("bench_intake", "intake_officer")
    answers = {"recruitment": True, "deception": True, "forced_labour": True}
    evidence = {"recruitment": "advert", "deception": "lied about pay", "forced_labour": "no wages"}
    case_ids = []
    for n in range(N_CASES):
        owner = investigator if n == 0 else others
        report = intake_actions.create_report(actor=intake, channel="hotline", received_at=timezone.now(), narrative="Benchmark case.")
        intake_actions.assign_report(report, actor=hoi, version=report.version, investigator=owner)
        report.refresh_from_db()
        intake_actions.acknowledge_report(report, actor=owner, version=report.version)
        report.refresh_from_db()
        screening = record_screening(report, actor=owner, version=report.version, person_label=f"B-{n}", person_age=30, age_basis="stated", answers=answers, evidence=evidence)
        report.refresh_from_db()
        record_decision(screening, actor=hoi, version=report.version, outcome="victim_identified", rationale="Benchmark.", deciding_org="CTU")
        case_ids.append(report.cases.get().pk)
    setup = {"cases": case_ids, "director": director.pk, "investigator": investigator.pk}
    _state_set("setup", setup)
    return setup


def _line(*values) -> str:
    return "\t".join("\\N" if v is None else str(v) for v in values) + "\n"


def write_batch(people: list[Synth], start: int, case_ids: list[int]) -> int:
    """COPY one batch; returns the number of search tokens written."""
    now = timezone.now().isoformat()
    with connection.cursor() as c:
        c.execute("SELECT nextval(pg_get_serial_sequence('cases_person', 'id')) FROM generate_series(1, %s)", [len(people)])
        ids = [row[0] for row in c.fetchall()]
    persons, links, aliases, idents, tokens, planted = [], [], [], [], [], []
    roles = ("victim",) * 12 + ("suspect",) * 4 + ("witness",) * 3 + ("family",)
    for i, (pid, p) in enumerate(zip(ids, people, strict=True)):
        n = start + i
        birth_year = p.birth_date[:4] if p.birth_date else None
        how = "document" if p.birth_date else ("appearance" if p.estimated_age is not None else "unknown")
        gender = {"female": "Feminine", "male": "Masculine"}[p.sex]
        persons.append(_line(
            pid, encrypt_text(p.given), encrypt_text(p.family), encrypt_text(p.birth_date) if p.birth_date else "", birth_year,
            p.estimated_age, p.estimated_on.isoformat() if p.estimated_on else None, how, p.sex, gender,
            json.dumps(list(p.nationalities)), "[]", "f", now, now, 1, None, None,
        ))  # fmt: skip
        links.append(_line(roles[n % len(roles)], f"P-{n}", now, case_ids[n % len(case_ids)], pid))
        names = [f"{p.given} {p.family}"]
        if p.alias:
            aliases.append(_line(encrypt_text(p.alias), now, pid))
            names.append(p.alias)
        for kind, value, doc_type in (("phone", p.phone, ""), ("id_document", p.document, "passport")):
            if value:
                idents.append(_line(kind, doc_type, encrypt_text(value), identifier_index(kind, value), "", None, "", now, None, None, pid))
        tokens += [f"{t}\t{k}\t{p}\n" for t, k, p in search.token_rows(pid, search.tokens_for_names(names))]
        if p.duplicate_of is not None:
            planted.append(_line(ids[p.duplicate_of], pid))
    with connection.cursor() as c:
        raw = c.cursor
        for table, columns, rows in (
            ("cases_person", "id, given_names, family_names, birth_date, birth_year, estimated_age, age_estimated_on, age_estimation, sex, gender, nationalities, languages, interpreter_needed, created_at, updated_at, version, created_by_id, merged_into_id", persons),
            ("cases_caseperson", "role, pseudonym, created_at, case_id, person_id", links),
            ("cases_personalias", "name, created_at, person_id", aliases),
            ("cases_identifier", "kind, document_type, value, index, country, expires_on, note, created_at, case_id, created_by_id, person_id", idents),
            ("cases_searchtoken", "token, kind, person_id", tokens),
            (PLANTED, "original, duplicate", planted),
        ):  # fmt: skip
            if rows:
                with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    copy.write("".join(rows))
    return len(tokens)


def generate(scale: int, *, batch_size: int, seed: int, out: Callable[[str], None]) -> dict:
    ensure_tables()
    setup = ensure_cases(out)
    done = _state_get("generated", 0)
    stats = _state_get("generation", {"seconds": 0.0, "tokens": 0, "runs": 0})
    if _state_get("seed", seed) != seed:
        raise RuntimeError("This benchmark database was generated with another --seed: use --reset.")
    _state_set("seed", seed)
    batch_size = _state_get("batch_size", batch_size)  # a resumed run keeps the batches of the first
    _state_set("batch_size", batch_size)
    if done >= scale:
        out(f"{done} people already generated")
        return stats
    stats["runs"] = stats.get("runs", 0) + 1
    _state_set("generation", stats)
    today = date.fromisoformat(_state_get("today", timezone.localdate().isoformat()))
    _state_set("today", today.isoformat())
    # The (token, person) key is rebuilt once at the end: maintaining it row by row is the slow part.
    with connection.cursor() as c:
        if _lookup_key_present(c):
            c.execute(f"ALTER TABLE cases_searchtoken DROP CONSTRAINT {LOOKUP_KEY}")
    started = time.monotonic()
    first = done
    while done < scale:
        count = min(batch_size, scale - done)
        people = make_batch(seed, done, count, today)
        with transaction.atomic():
            with connection.cursor() as c:
                # Referential checks of a freshly generated, consistent batch are skipped (superuser, bench DB only).
                c.execute("SET LOCAL session_replication_role = replica")
                c.execute("SET LOCAL synchronous_commit = off")
            stats["tokens"] += write_batch(people, done, setup["cases"])
            done += count
            _state_set("generated", done)
            _state_set("generation", {**stats, "seconds": stats["seconds"] + time.monotonic() - started})
        rate = (done - first) / max(0.001, time.monotonic() - started)
        out(f"generated {done}/{scale} people ({rate:,.0f}/s, about {(scale - done) / max(rate, 1):,.0f}s left)")
    with connection.cursor() as c:
        c.execute("SET maintenance_work_mem = '1GB'")
        index_started = time.monotonic()
        out("building the search token index")
        _add_lookup_key(c)
        c.execute("RESET maintenance_work_mem")
        index_seconds = time.monotonic() - index_started
    out("VACUUM ANALYZE")
    with connection.cursor() as c:
        for table in ("cases_person", "cases_caseperson", "cases_personalias", "cases_identifier", "cases_searchtoken"):
            c.execute(f"VACUUM ANALYZE {table}")
    stats = {
        "seconds": round(stats["seconds"] + time.monotonic() - started, 1), "tokens": stats["tokens"], "runs": stats["runs"],
        "index_seconds": round(index_seconds, 1), "finished": f"{timezone.localtime():%Y-%m-%d %H:%M %Z}",
    }  # fmt: skip
    _state_set("generation", stats)
    return stats


def restore_index_if_missing(out: Callable[[str], None]) -> None:
    """After a run interrupted before the end, the lookup index may be missing: measuring without it is wrong."""
    with connection.cursor() as c:
        if not _lookup_key_present(c):
            out("rebuilding the search token index")
            _add_lookup_key(c)


def _lookup_key_present(c) -> bool:
    c.execute("SELECT 1 FROM pg_constraint WHERE conname = %s AND conrelid = 'cases_searchtoken'::regclass", [LOOKUP_KEY])
    return c.fetchone() is not None


def _add_lookup_key(c) -> None:
    c.execute(f"ALTER TABLE cases_searchtoken ADD CONSTRAINT {LOOKUP_KEY} PRIMARY KEY (token, person_id)")


# --- measuring -------------------------------------------------------------------------------------------


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        k = (len(ordered) - 1) * p
        lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)

    return {"n": len(ordered), "p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99), "max": ordered[-1], "mean": statistics.fmean(ordered)}


VARIANTS = (("exact", 20), ("reordered", 15), ("unaccented", 15), ("typo", 20), ("partial", 20), ("one word", 10))


def query_for(person, variant: str, rng: random.Random) -> str:
    given, family = person.given_names, person.family_names
    if variant == "reordered":
        return f"{family}, {given}"
    if variant == "unaccented":
        return strip_accents(f"{given} {family}").lower()
    if variant == "typo":
        words = f"{given} {family}".split()
        i = rng.randrange(len(words))
        words[i] = typo(words[i], rng)
        return " ".join(words)
    if variant == "partial":
        return f"{given.split()[0]} {family.split()[0]}"
    if variant == "one word":
        return family.split()[0]
    return f"{given} {family}"


def sample(rng: random.Random, k: int, people_qs) -> list:
    from cases.models import Person

    ids = list(people_qs.values_list("pk", flat=True).order_by("?")[: k * 2]) if people_qs is not None else []
    if not ids:
        lo, hi = Person.objects.order_by("pk").values_list("pk", flat=True).first(), Person.objects.order_by("-pk").values_list("pk", flat=True).first()
        ids = [rng.randrange(lo, hi + 1) for _ in range(k * 3)]
    found = [p for p in Person.objects.filter(pk__in=ids).prefetch_related("identifiers") if p.given_names and p.family_names and not p.merged_into_id]
    rng.shuffle(found)
    return found[:k]


def time_calls(calls: list[tuple[Callable[[], object], Callable[[object], tuple[bool, bool]]]], warmup: int = 10) -> list[tuple[float, bool, bool]]:
    """(milliseconds, found, found or tied) per call; only the call is timed, not the judging of its result."""
    for call, _judge in calls[:warmup]:
        call()
    out = []
    for call, judge in calls:
        t = time.perf_counter()
        result = call()
        ms = (time.perf_counter() - t) * 1000
        out.append((ms, *judge(result)))
    return out


def summarise(timed: list[tuple[float, bool, bool]], counted: list[bool] | None = None) -> dict:
    """Latency over all calls; recall over the calls ``counted`` (default: all)."""
    counted = counted or [True] * len(timed)
    judged = [(found, tied) for (_ms, found, tied), c in zip(timed, counted, strict=True) if c]
    n = max(1, len(judged))
    return {
        **percentiles([ms for ms, _f, _t in timed]),
        "recall": sum(f for f, _t in judged) / n,
        "recall_or_tied": sum(t for _f, t in judged) / n,
    }


def variant_names(person, variant: str, rng: random.Random) -> tuple[str, str]:
    given, family = person.given_names, person.family_names
    if variant == "unaccented":
        return strip_accents(given).lower(), strip_accents(family).lower()
    if variant == "partial":
        return given.split()[0], family.split()[0]
    if variant == "typo":
        if rng.random() < 0.5:
            return typo(given, rng), family
        return given, typo(family, rng)
    return given, family


def measure(queries: int, seed: int, out: Callable[[str], None]) -> dict:
    from accounts.models import User
    from cases.models import Case, Person

    setup = _state_get("setup")
    rng = random.Random(f"measure:{seed}")  # noqa: S311 - reproducible query sample
    names, weights = zip(*VARIANTS, strict=True)
    results = {}

    def run_search(people_qs, persons) -> dict:
        calls, multi = [], []
        for p in persons:
            variant = rng.choices(names, weights=weights)[0]
            q = query_for(p, variant, rng)

            def judge(hits, q=q, p=p):
                if any(h.person.pk == p.pk for h in hits):
                    return True, True
                # Not shown: fair only if the page is full of matches at least as good as this person.
                own, _reasons = search.score_names(search.words(q), search.load_names([p.pk])[p.pk])
                return False, len(hits) >= 20 and hits[-1].score >= own

            calls.append((lambda q=q: search.search(q, people_qs), judge))
            # One common surname alone matches thousands equally well: recall is counted on longer queries.
            multi.append(variant != "one word")
        return summarise(time_calls(calls), multi)

    everyone = Person.objects.all()
    director = User.objects.get(pk=setup["director"])
    investigator = User.objects.get(pk=setup["investigator"])
    persons = sample(rng, queries, None)
    out(f"measuring search over {len(persons)} queries (unrestricted)")
    results["search (unrestricted)"] = run_search(everyone, persons)
    out("measuring search as a director (visible_to)")
    results["search (director, visible_to)"] = run_search(Person.objects.visible_to(director), persons)
    mine = Person.objects.filter(case_links__case=Case.objects.get(pk=setup["cases"][0]))
    own = sample(rng, queries, mine)
    out(f"measuring search as an investigator on one case of {N_CASES} ({len(own)} queries)")
    results["search (investigator, visible_to)"] = run_search(Person.objects.visible_to(investigator), own)

    # Proposals as the person-add page makes them: the planted near-duplicate's details, its original expected.
    with connection.cursor() as c:
        c.execute(f"SELECT original, duplicate FROM {PLANTED} ORDER BY duplicate")  # noqa: S608
        planted = c.fetchall()
    planted = rng.sample(planted, min(queries, len(planted)))
    people = Person.objects.filter(pk__in=[d for _o, d in planted]).prefetch_related("identifiers").in_bulk()
    out(f"measuring duplicate proposals (unrestricted, {len(planted)} planted near-duplicates)")
    calls = []
    for original, duplicate in planted:
        p = people[duplicate]
        kwargs = {
            "given_names": p.given_names, "family_names": p.family_names, "birth_date": p.birth_date,
            "estimated_age": p.age_on(timezone.localdate()) if not p.birth_date else None,
            "nationalities": p.nationalities, "identifiers": [(i.kind, i.value) for i in p.identifiers.all()], "exclude": p,
        }  # fmt: skip
        def judge(found, kw=kwargs, o=original):
            if any(x.person.pk == o for x in found):
                return True, True
            me = duplicates.describe(**{k: v for k, v in kw.items() if k != "exclude"})
            own, _codes = duplicates.compare(me, duplicates.load_profiles([o])[o])
            return False, len(found) >= 10 and found[-1].score >= own

        calls.append((lambda kw=kwargs: duplicates.propose(everyone, **kw), judge))
    results["propose (unrestricted)"] = summarise(time_calls(calls))
    return results


def measure_report(out: Callable[[str], None]) -> dict:
    started = time.monotonic()
    result = duplicates.find_all(progress=out)
    seconds = time.monotonic() - started
    found = {(a, b) for a, b, _s, _c in result["pairs"]}
    with connection.cursor() as c:
        c.execute(f"SELECT original, duplicate FROM {PLANTED}")  # noqa: S608
        planted = [tuple(sorted(row)) for row in c.fetchall()]
    recall = sum(pair in found for pair in planted) / max(1, len(planted))
    return {"seconds": round(seconds, 1), "pairs": len(result["pairs"]), "planted": len(planted), "recall": recall, "left_out": result["left_out"]}


# --- the document ----------------------------------------------------------------------------------------


def machine() -> dict:
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    with connection.cursor() as c:
        c.execute("SHOW server_version")
        pg = c.fetchone()[0]
        c.execute("SHOW shared_buffers")
        buffers = c.fetchone()[0]
    return {"cpus": os.cpu_count(), "ram": mem, "postgres": pg, "shared_buffers": buffers, "python": platform.python_version()}


def sizes() -> dict:
    out = {}
    with connection.cursor() as c:
        for table in ("cases_person", "cases_searchtoken", "cases_identifier"):
            c.execute("SELECT count(*), pg_size_pretty(pg_total_relation_size(%s)) FROM " + table, [table])  # noqa: S608
            out[table] = c.fetchone()
    return out


INTRO = """# Benchmarks

Figures measured by `manage.py bench_people` (`make bench`) on PostgreSQL, and only those: a scale not listed
here was not measured. Each section is rewritten when its scale is run again.

    make bench        # or:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/beacon_bench .venv/bin/python manage.py bench_people --scale 100000

It creates the database if missing; `--reset` starts again from nothing, an interrupted generation resumes.

What is measured (see `bench/people.py`): synthetic people with Spanish-, English-speaking and Indo-Trinidadian
names (Zipf-like frequencies, accents written or not, 3% misspelt, 8% with an alias, 30% with a phone, 20% with a
passport, dates of birth or estimated ages, 2% planted near-duplicates), written with COPY in batches with their
encrypted fields, case links, identifiers and search tokens computed by `cases.search`. Queries are drawn from
the data: exact, reordered ("family, given"), unaccented, misspelt, partial (first given + first family name)
and one-word (a surname alone). Latency is wall time of `cases.search.search(query, people)` and
`cases.duplicates.propose(people, ...)` in the Django process, database included, after 10 warm-up calls.
"Found": for search, the person a query was drawn from is among the 20 results (queries of two words or more:
a surname alone matches thousands equally well); "or outranked" also counts a query whose 20 results all score
at least as high as that person (a common name fills the page with equally good matches). For proposals, the
details of a planted near-duplicate are proposed against the database, and "found" means its original is
among the 10 proposals; "or outranked" also counts a case where the 10 proposals all score at least as high as
the original (a common name and nothing else to tell them apart).

How search stays fast (see `cases/search.py`), tuned against these figures:

- a query of two words or more looks up only *pair* tokens (two words of the same name, exact or by sound, or
  one word's sound with the other's first letters), selective even for common names, where single-word
  tokens ("maria") match a large share of the database;
- a one-word query reads the exact word first, straight from the `(token, person)` index without sorting,
  and looks at sound-alikes only when fewer than a page of people carry the word itself;
- the database ranks at most 200 candidates; only those are decrypted and scored on their real names;
- a user who sees few people (the investigator rows) gets the global ranking filtered by what they may see,
  widened to 2,000 when too few are visible, and only then a ranking restricted to what they may see, whose
  cost grows with the database (visibility is checked on every matching token row);
- proposals look first among people born around the same time (plaintext year columns), which is what sets
  one "María González" apart from thousands.

The nightly duplicate report (`manage.py find_duplicates`, see `cases/duplicates.py`) is a Fellegi-Sunter model:
each field of a pair adds a weight log2(m/u). The u values come from the database itself (how many people carry
each name word, counted from blind-index tokens; the birth-year spread; how many people share an identifier), so
a common name agreeing is weak evidence and a rare one strong; the m values are stated judgements of how records
of one person differ. The sum gives a probability; pairs from 0.9 are listed. Candidates share a name-sound key
or an identifier (a key shared by more than 15 people only within 2 birth years); a first bound from blind
indexes and plaintext columns (year of birth, estimated age, sex, nationality) drops most pairs, then dates of
birth and names are decrypted only for pairs still in reach, each person at most once.
"""


def _ms(value: float) -> str:
    return f"{value:.1f}"


def section(scale: int, command: str, info: dict, generation: dict, size: dict, results: dict, report: dict | None) -> str:
    lines = [
        f"<!-- bench:{scale} -->",
        f"## {scale:,} people",
        "",
        f"Measured {timezone.localtime():%Y-%m-%d %H:%M %Z} with `{command}`.",
        "",
        f"Machine: {info['cpus']} CPUs, {info['ram']} RAM; PostgreSQL {info['postgres']} (shared_buffers {info['shared_buffers']}, "
        f"server defaults otherwise) on the same machine; Python {info['python']}.",
        "",
    ]
    if generation.get("runs"):
        lines.append(
            f"Generation (finished {generation.get('finished', '?')}): {generation['seconds']:,.0f} s for {scale:,} people ({scale / max(generation['seconds'], 0.001):,.0f} people/s, "
            f"in {generation['runs']} run(s) of the command), of which {generation.get('index_seconds', 0):,.0f} s building the token index; "
            f"{generation['tokens']:,} search tokens."
        )
    lines.append("")
    lines.append("| table | rows | size with indexes |")
    lines.append("|---|---:|---:|")
    for table, (rows, pretty) in size.items():
        lines.append(f"| `{table}` | {rows:,} | {pretty} |")
    lines += [
        "",
        "| operation | queries | p50 ms | p95 ms | p99 ms | max ms | found | found or outranked by equal matches |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['n']} | {_ms(r['p50'])} | {_ms(r['p95'])} | {_ms(r['p99'])} | {_ms(r['max'])} | {r['recall']:.0%} | {r['recall_or_tied']:.0%} |"
        )
    missed = [name for name, r in results.items() if r["p95"] >= 100]
    lines += ["", "Target p95 < 100 ms: met for every operation above." if not missed else f"Target p95 < 100 ms: **missed** for {', '.join(missed)}."]
    if report is None:
        lines += ["", "Duplicate report (`find_duplicates`): not timed at this scale."]
    else:
        lines += [
            "",
            f"Duplicate report (`find_duplicates`): {report['seconds']:,.1f} s, {report['pairs']:,} probable pairs; "
            f"{report['recall']:.0%} of the {report['planted']:,} planted near-duplicates found"
            + (f"; {report['left_out']:,} people of unknown age in very common-name groups compared by identifiers only." if report["left_out"] else "."),
        ]
    lines += ["", f"<!-- /bench:{scale} -->"]
    return "\n".join(lines)


def write_doc(scale: int, text: str, kind: str = "bench") -> None:
    """Replace the section ``kind`` (``bench`` for people, ``bench-stats`` for statistics) at ``scale``,
    keeping every other section; sections are ordered by scale, people first."""
    sections = {}

    def key(name: str, kind_: str) -> tuple:  # numbered scales in order, then named sections (geo)
        return (0, int(name), kind_) if name.isdigit() else (1, name, kind_)

    if DOC.exists():
        for m in re.finditer(r"<!-- (bench(?:-[a-z]+)?):(\w+) -->.*?<!-- /\1:\2 -->", DOC.read_text(), re.S):
            sections[key(m.group(2), m.group(1))] = m.group(0)
    sections[key(str(scale), kind)] = text
    body = INTRO + "\n" + "\n\n".join(sections[k] for k in sorted(sections)) + "\n"
    DOC.write_text(body)

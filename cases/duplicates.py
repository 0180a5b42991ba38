"""Likely duplicate people (issue #4): proposed when a person is created or edited (``propose``), and listed
across the whole database (``find_all``, run by ``manage.py find_duplicates``). Nothing is compared in the
database but keyed blind indexes (name tokens, identifier indexes); names and dates are compared after
decryption, for the few candidates those indexes bring.

The score (0..1) adds up the evidence, each part with the reason a person can check:

=========================================  ==========================================================
evidence                                   points
=========================================  ==========================================================
names (similarity s, order ignored)        s x 0.5 / 0.6 / 0.7 when the shorter name has 1 / 2 / 3+
                                           words (a longer identical name is rarer); nothing below 0.5;
                                           in the report, x down to 0.6 for a name many people share
same date of birth                         +0.3
dates one typing slip apart (1994/1984,    +0.15
  day and month swapped, one part differs)
born within a year                         +0.05
dates of birth further apart               -0.3
ages compatible (estimates: +/-3 years)    +0.05; ages far apart -0.15
same document number / bank account        +0.5 / +0.35
same email / phone / handle / profile      +0.35 / +0.3 / +0.25 / +0.25 (identifiers together: at most +0.6)
same nationality                           +0.05
=========================================  ==========================================================

So the same three-word name alone scores 0.7, with the same date of birth 1.0, with different dates 0.4;
the same passport under another name 0.5. ``propose`` shows from ``PROPOSE_THRESHOLD``; the report lists from
``REPORT_THRESHOLD``.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db.models import F, Q
from django.db.models.functions import ExtractYear
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import search
from cases.choices import IdentifierKind

PROPOSE_THRESHOLD = 0.5
REPORT_THRESHOLD = 0.72
PROPOSE_CANDIDATES = 100
MAX_BLOCK = 60  # people sharing one name key compared pairwise; larger groups are split by birth year
ON_REQUEST_LIMIT = 3000  # up to this many people the report is computed when the page opens

IDENTIFYING = {
    IdentifierKind.ID_DOCUMENT: 0.5,
    IdentifierKind.BANK_ACCOUNT: 0.35,
    IdentifierKind.EMAIL: 0.35,
    IdentifierKind.PHONE: 0.3,
    IdentifierKind.SOCIAL: 0.25,
    IdentifierKind.ONLINE_PROFILE: 0.25,
}  # addresses and vehicles are shared by whole households and shelters: they identify no one


@dataclass
class Proposal:
    person: object
    score: float
    reasons: list = field(default_factory=list)
    codes: list = field(default_factory=list)


@dataclass
class Profile:
    """What is compared: words of each name (the main name first), date of birth, age today, nationalities,
    identifier indexes."""

    names: list[list[str]]
    birth_date: str = ""
    age: int | None = None
    age_estimated: bool = False
    nationalities: frozenset = frozenset()
    identifiers: frozenset = frozenset()  # (kind, index)


def reasons_for(codes: Iterable[str]) -> list[str]:
    """Human reasons for the stored codes (codes, not sentences, are kept, so the report is translated)."""
    labels = {
        "same_name": _("Same name"),
        "common_name": _("A common name: many records share it"),
        "same_dob": _("Same date of birth"),
        "dob_slip": _("Dates of birth one typing slip apart"),
        "birth_year_close": _("Born within a year of each other"),
        "dob_differs": _("Different dates of birth"),
        "age_compatible": _("Ages are compatible"),
        "age_differs": _("Ages are far apart"),
        "same_nationality": _("Same nationality"),
        f"same_{IdentifierKind.ID_DOCUMENT}": _("Same document number"),
        f"same_{IdentifierKind.BANK_ACCOUNT}": _("Same bank account"),
        f"same_{IdentifierKind.EMAIL}": _("Same email address"),
        f"same_{IdentifierKind.PHONE}": _("Same phone number"),
        f"same_{IdentifierKind.SOCIAL}": _("Same social-media handle"),
        f"same_{IdentifierKind.ONLINE_PROFILE}": _("Same online profile"),
    }
    out = []
    for code in codes:
        if code.startswith("name="):
            out.append(_("Similar names (%(percent)s%%)") % {"percent": code.removeprefix("name=")})
        else:
            out.append(labels.get(code, code))
    return out


def _matches(x: list[str], y: list[str]) -> tuple[float, int]:
    """Mean best similarity of the words of ``x`` among ``y``, and how many words of ``x`` have no match."""
    bests = [max(search.word_similarity(w, v) for v in y) for w in x]
    return sum(bests) / len(bests), sum(1 for b in bests if b < 0.75)


def _name_score(a: list[list[str]], b: list[list[str]]) -> tuple[float, int]:
    """Best similarity between any name of ``a`` and any of ``b`` (0..1), and the shorter name's length.
    One name inside the other ("María Pérez" / "María José Pérez González") is similar; names that each have
    a word the other lacks ("Stephen David Samuel" / "David Michael Samuel") are not, however many they share."""
    best, words_in_shorter = 0.0, 0
    for x in a:
        for y in b:
            if not x or not y:
                continue
            one, missing_one = _matches(x, y)
            two, missing_two = _matches(y, x)
            if missing_one and missing_two:
                s = 0.85 * min(one, two)
            else:
                s = 0.7 * max(one, two) + 0.3 * min(one, two)
            if s > best:
                best, words_in_shorter = s, min(len(x), len(y))
    return round(best, 3), words_in_shorter


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def _slip(a: date, b: date) -> bool:
    """Two dates one typing slip apart: one part differs, a digit of the year, or day and month swapped."""
    same = (a.year == b.year, a.month == b.month, a.day == b.day)
    if sum(same) == 2:
        year_digits = sum(x != y for x, y in zip(str(a.year), str(b.year), strict=True))
        return same[2] is False or same[1] is False or year_digits == 1
    return a.year == b.year and a.month == b.day and a.day == b.month


def commonness(sharing: int | None) -> float:
    """How much a name shared by ``sharing`` people (with the same two name sounds, of compatible ages) still
    tells: 1 up to 20 people, then less, never below 0.6 ("María González" is not evidence of anything)."""
    if not sharing or sharing <= 20:
        return 1.0
    return max(0.6, 1 - 0.12 * math.log2(sharing / 20))


def compare(a: Profile, b: Profile, *, sharing: int | None = None, floor: float | None = None) -> tuple[float, list[str]]:
    """Score (0..1) and reason codes for two descriptions of people. ``sharing``: how many people share the
    name's sounds (the whole-database report knows it; a single proposal does not). With ``floor``, a pair
    that cannot reach it whatever its names is given up before the (costlier) names are compared."""
    codes: list[str] = []
    score = 0.0
    da, db = _date(a.birth_date), _date(b.birth_date)
    if da and db:
        if da == db:
            score += 0.3
            codes.append("same_dob")
        elif _slip(da, db):
            score += 0.15
            codes.append("dob_slip")
        elif abs(da.year - db.year) <= 1:
            score += 0.05
            codes.append("birth_year_close")
        else:
            score -= 0.3
            codes.append("dob_differs")
    elif a.age is not None and b.age is not None:
        tolerance = 3 if (a.age_estimated or b.age_estimated) else 1
        gap = abs(a.age - b.age)
        if gap <= tolerance:
            score += 0.05
            codes.append("age_compatible")
        elif gap > 2 * tolerance + 1:
            score -= 0.15
            codes.append("age_differs")
    shared = a.identifiers & b.identifiers
    if shared:
        kinds = sorted({kind for kind, _index in shared}, key=lambda k: -IDENTIFYING.get(k, 0))
        score += min(0.6, sum(IDENTIFYING.get(k, 0) for k in kinds))
        codes += [f"same_{k}" for k in kinds]
    if a.nationalities & b.nationalities:
        score += 0.05
        codes.append("same_nationality")
    rarity = commonness(sharing)
    if floor is not None and score + 0.7 * rarity < floor:
        return round(max(0.0, score + 0.7 * rarity), 3), codes
    similarity, shorter = _name_score(a.names, b.names)
    if similarity >= 0.5:
        score += similarity * (0.5 if shorter <= 1 else 0.6 if shorter == 2 else 0.7) * rarity
        codes.insert(0, "same_name" if similarity >= 0.999 else f"name={round(similarity * 100)}")
        if rarity < 1:
            codes.insert(1, "common_name")
    return round(max(0.0, min(1.0, score)), 3), codes


# --- loading profiles ------------------------------------------------------------------------------------


def _age_today(birth_date: str, estimated_age, estimated_on, today: date) -> tuple[int | None, bool]:
    if birth_date:
        try:
            born = date.fromisoformat(birth_date)
        except ValueError:
            born = None
        if born:
            return today.year - born.year - ((today.month, today.day) < (born.month, born.day)), False
    if estimated_age is not None:
        return estimated_age + (max(0, (today - estimated_on).days // 365) if estimated_on else 0), True
    return None, False


def load_profiles(ids: Iterable[int]) -> dict[int, Profile]:
    """Profiles of people ``ids`` (decrypted here, in memory only)."""
    ids = sorted(ids)
    out: dict[int, Profile] = {}
    for start in range(0, len(ids), 900):  # SQLite allows so many parameters per query
        out.update(_load_profiles(ids[start : start + 900]))
    return out


def _load_profiles(ids: list[int]) -> dict[int, Profile]:
    from cases.models import Identifier, Person

    today = timezone.localdate()
    names = search.load_names(ids)
    idents: dict[int, set] = defaultdict(set)
    for pid, kind, index in Identifier.objects.filter(person_id__in=ids, kind__in=list(IDENTIFYING)).exclude(index="").values_list("person_id", "kind", "index"):
        idents[pid].add((kind, index))
    out = {}
    rows = Person.objects.filter(pk__in=ids).values_list("pk", "birth_date", "estimated_age", "age_estimated_on", "nationalities")
    for pid, birth_date, estimated_age, estimated_on, nationalities in rows:
        n = names.get(pid, {"main": [], "aliases": [], "merged": []})
        age, estimated = _age_today(birth_date or "", estimated_age, estimated_on, today)
        out[pid] = Profile(
            names=[n["main"], *n["aliases"], *n["merged"]], birth_date=birth_date or "", age=age, age_estimated=estimated,
            nationalities=frozenset(nationalities or ()), identifiers=frozenset(idents.get(pid, ())),
        )  # fmt: skip
    return out


# --- proposals for one person ----------------------------------------------------------------------------


def _born_around(people, birth_date: str, age: int | None):
    """``people`` born around the same time as the described person (a year either side of a date of birth,
    more for an estimated age), from the plaintext year columns only; None when nothing is known of the age."""
    born = _date(birth_date)
    if born:
        year, spread = born.year, 1
    elif age is not None:
        year, spread = timezone.localdate().year - age, 4
    else:
        return None
    lo, hi = year - spread, year + spread
    estimated_birth_year = ExtractYear("age_estimated_on") - F("estimated_age")
    return people.annotate(estimated_birth_year=estimated_birth_year).filter(
        Q(birth_year__range=(lo, hi)) | Q(birth_year__isnull=True, estimated_birth_year__range=(lo - 2, hi + 2))
    )


def describe(*, given_names: str = "", family_names: str = "", birth_date="", estimated_age=None, nationalities=(),
             identifiers=()) -> Profile:  # fmt: skip
    """The profile of a person as described on a form (``identifiers``: (kind, value) pairs)."""
    from cases.actions import identifier_index

    # Pages pass a date from a DateField, other callers the stored "YYYY-MM-DD" text.
    birth_date = birth_date.isoformat() if isinstance(birth_date, date) else (birth_date or "")
    indexes = set()
    for kind, value in identifiers or ():
        if kind in IDENTIFYING and value:
            index = identifier_index(kind, value)
            if index:
                indexes.add((kind, index))
    age, estimated = _age_today(birth_date, estimated_age, None, timezone.localdate())
    return Profile(
        names=[search.words(f"{given_names or ''} {family_names or ''}")], birth_date=birth_date, age=age,
        age_estimated=estimated, nationalities=frozenset(nationalities or ()), identifiers=frozenset(indexes),
    )  # fmt: skip


def propose(people, *, given_names: str = "", family_names: str = "", birth_date: str = "", estimated_age=None,
            nationalities=(), identifiers=(), exclude=None, limit: int = 10) -> list[Proposal]:  # fmt: skip
    """People in ``people`` (already restricted with visible_to) who may be the person described.
    ``identifiers`` is a list of (kind, value). Returns proposals with a score (0..1) and the reasons."""
    from cases.models import Identifier

    me = describe(
        given_names=given_names, family_names=family_names, birth_date=birth_date, estimated_age=estimated_age,
        nationalities=nationalities, identifiers=identifiers,
    )  # fmt: skip
    query_words = me.names[0]
    ids: list[int] = []
    if query_words:
        cache: dict = {}
        # People born around the same time first: among thousands of "María González" they are the likely ones.
        around = _born_around(people, me.birth_date, me.age)
        if around is not None:
            ids = search.candidate_ids(query_words, around, cap=PROPOSE_CANDIDATES, enough=limit, cache=cache)
        ids += [pk for pk in search.candidate_ids(query_words, people, cap=PROPOSE_CANDIDATES, enough=limit, cache=cache) if pk not in ids]
    for kind, index in sorted(me.identifiers):
        matches = Identifier.objects.filter(kind=kind, index=index, person__isnull=False).values("person_id")
        ids += [pk for pk in people.filter(pk__in=matches).values_list("pk", flat=True)[:PROPOSE_CANDIDATES] if pk not in ids]
    if exclude is not None:
        ids = [pk for pk in ids if pk != exclude.pk]
    if not ids:
        return []
    scored = []
    for pid, profile in load_profiles(ids).items():
        score, codes = compare(me, profile)
        if score >= PROPOSE_THRESHOLD:
            scored.append((score, pid, codes))
    scored.sort(key=lambda s: (-s[0], s[1]))
    scored = scored[:limit]
    persons = people.model.objects.in_bulk([pid for _s, pid, _c in scored])
    return [Proposal(persons[pid], score, reasons_for(codes), codes) for score, pid, codes in scored]


# --- probable duplicates across the whole database -------------------------------------------------------


def _blocks(progress=None) -> dict[tuple, list[int]]:
    """Blocking keys -> people: two words that sound alike (search token kind b), one word that sounds alike
    and another that starts alike (c, a slip in one word), a one-word name that sounds alike (t), or the same
    identifying document, phone, email... Only unmerged people."""
    from cases.models import Identifier, Person, SearchToken

    live = Person.objects.filter(merged_into__isnull=True)
    blocks: dict[tuple, list[int]] = defaultdict(list)
    rows = SearchToken.objects.filter(kind__in=["b", "c", "t"], person__in=live.values("pk")).values_list("token", "person_id")
    for n, (tok, pid) in enumerate(rows.iterator(chunk_size=20000), 1):
        blocks[("n", tok)].append(pid)
        if progress and n % 200000 == 0:
            progress(f"read {n} name keys")
    idents = Identifier.objects.filter(kind__in=list(IDENTIFYING), person__in=live.values("pk")).exclude(index="")
    for kind, index, pid in idents.values_list("kind", "index", "person_id").iterator(chunk_size=20000):
        blocks[("i", kind, index)].append(pid)
    return blocks


def _approximate_years() -> dict[int, int]:
    """Year of birth, exact or from the age estimate, from plaintext columns (no decryption needed)."""
    from cases.models import Person

    years = {}
    rows = Person.objects.filter(merged_into__isnull=True).values_list("pk", "birth_year", "estimated_age", "age_estimated_on")
    for pid, birth_year, age, on in rows.iterator(chunk_size=20000):
        if birth_year:
            years[pid] = birth_year
        elif age is not None and on:
            years[pid] = on.year - age
    return years


def candidate_groups(progress=None) -> tuple[list[list[int]], int]:
    """Groups of people to compare pairwise: those sharing a blocking key. A name key shared by more than
    MAX_BLOCK people (a very common name) is split into people born within about two years of each other;
    people of unknown age in such a group are compared through their identifiers only (a common name alone
    could not make them probable duplicates anyway). Returns the groups and how many people were left out."""
    blocks = _blocks(progress)
    years = None
    groups: list[list[int]] = []
    left_out: set[int] = set()
    for key, members in blocks.items():
        members = sorted(set(members))
        if len(members) < 2:
            continue
        if key[0] == "i":
            groups.append(members[: 4 * MAX_BLOCK])  # a shared document: nobody is left out below a shelter's size
            continue
        if len(members) <= MAX_BLOCK:
            groups.append(members)
            continue
        if years is None:
            years = _approximate_years()
        by_year: dict[int, list[int]] = defaultdict(list)
        for pid in members:
            if pid in years:
                by_year[years[pid] // 2].append(pid)
            else:
                left_out.add(pid)
        # Overlapping windows of four years, so neighbours across a boundary still meet.
        groups += [g for k in sorted(by_year) if len(g := by_year[k] + by_year.get(k + 1, [])) > 1]
    return groups, len(left_out)


def find_all(*, threshold: float = REPORT_THRESHOLD, batch_size: int = 2000, progress=None) -> dict:
    """Every probable duplicate pair in the database: {"computed_at", "people", "pairs": [[a, b, score,
    [codes]]...] best first, "left_out"}. Ids and codes only: the result holds no personal data.

    People are taken in batches; each person is compared with the later people of every group they are in,
    once, knowing the size of the smallest group the two share (how common their name is). Profiles are
    decrypted once, when a batch first needs them, and dropped when no later batch can."""
    from cases.models import Person

    groups, left_out = candidate_groups(progress)
    member_of: dict[int, list[int]] = defaultdict(list)
    for gi, group in enumerate(groups):
        for pid in group:
            member_of[pid].append(gi)
    if progress:
        progress(f"{len(groups)} groups over {len(member_of)} people")
    found = []
    ordered = sorted(member_of)
    compared = 0
    profiles: dict[int, Profile] = {}
    for start in range(0, len(ordered), batch_size):
        chunk = ordered[start : start + batch_size]
        partners: dict[int, dict[int, int]] = {}
        for a in chunk:
            mine: dict[int, int] = {}
            for gi in member_of[a]:
                group = groups[gi]
                size = len(group)
                for b in group:
                    if b > a and mine.get(b, size + 1) > size:
                        mine[b] = size
            partners[a] = mine
        needed = set(chunk) | {b for mine in partners.values() for b in mine}
        profiles.update(load_profiles(needed - set(profiles)))
        for a, mine in partners.items():
            pa = profiles.get(a)
            if pa is None:
                continue
            for b, sharing in mine.items():
                pb = profiles.get(b)
                if pb is None:
                    continue
                score, codes = compare(pa, pb, sharing=sharing, floor=threshold)
                if score >= threshold:
                    found.append([a, b, score, codes])
            compared += len(mine)
        # Every later partner has a higher id than this batch: what is at or below it is no longer needed.
        profiles = {pid: prof for pid, prof in profiles.items() if pid > chunk[-1]}
        if progress:
            progress(f"compared {compared} pairs ({start + len(chunk)}/{len(ordered)} people), {len(found)} probable duplicates")
    found.sort(key=lambda row: (-row[2], row[0], row[1]))
    return {
        "computed_at": timezone.now().isoformat(),
        "people": Person.objects.filter(merged_into__isnull=True).count(),
        "pairs": found,
        "left_out": left_out,
        "compared": compared,
    }


def report_path() -> Path:
    return Path(getattr(settings, "BEACON_DUPLICATES_FILE", "") or Path(settings.VAR_DIR) / "duplicates.json")


def write_report(result: dict) -> Path:
    path = report_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, separators=(",", ":")))
    tmp.replace(path)
    return path


def read_report() -> dict | None:
    """The probable duplicates: computed now for a small database, else the last ``find_duplicates`` run."""
    from cases.models import Person

    if Person.objects.filter(merged_into__isnull=True).count() <= ON_REQUEST_LIMIT:
        return find_all()
    try:
        return json.loads(report_path().read_text())
    except (OSError, ValueError):
        return None

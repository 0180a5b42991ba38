"""Likely duplicate people (issue #4): proposed when a person is created or edited (``propose``), and listed
across the whole database (``find_all``, run by ``manage.py find_duplicates``, issue #11). Nothing is compared
in the database but keyed blind indexes (name tokens, identifier indexes) and plaintext columns (year of birth,
estimated age, sex, nationalities); names and dates are compared after decryption, for the few candidates
those bring.

The whole-database report is a Fellegi-Sunter model (see "probable duplicates across the whole database"
below): its score is the probability that two records are the same person. ``propose`` (one person against
the database, interactive) keeps the simpler score below, which adds up the evidence, each part with the
reason a person can check:

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
the same passport under another name 0.5. ``propose`` shows from ``PROPOSE_THRESHOLD``; the report lists pairs
whose probability reaches ``REPORT_PROBABILITY``.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import accumulate, chain, combinations, islice
from pathlib import Path

from django.conf import settings
from django.db.models import F, Q
from django.db.models.functions import ExtractYear
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import search
from cases.choices import IdentifierKind

PROPOSE_THRESHOLD = 0.5
PROPOSE_CANDIDATES = 100
MAX_BLOCK = 15  # people sharing one name key compared pairwise; larger groups are split by birth year
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


def compare(
    a: Profile, b: Profile, *, sharing: int | None = None, floor: float | None = None
) -> tuple[float, list[str]]:
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
    for pid, kind, index in (
        Identifier.objects.filter(person_id__in=ids, kind__in=list(IDENTIFYING))
        .exclude(index="")
        .values_list("person_id", "kind", "index")
    ):
        idents[pid].add((kind, index))
    out = {}
    rows = Person.objects.filter(pk__in=ids).values_list(
        "pk", "birth_date", "estimated_age", "age_estimated_on", "nationalities"
    )
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
        ids += [
            pk
            for pk in search.candidate_ids(query_words, people, cap=PROPOSE_CANDIDATES, enough=limit, cache=cache)
            if pk not in ids
        ]
    for kind, index in sorted(me.identifiers):
        matches = Identifier.objects.filter(kind=kind, index=index, person__isnull=False).values("person_id")
        ids += [
            pk
            for pk in people.filter(pk__in=matches).values_list("pk", flat=True)[:PROPOSE_CANDIDATES]
            if pk not in ids
        ]
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
#
# The report is a Fellegi-Sunter model: each field of a pair of records falls into an agreement level, and each
# level adds its weight log2(m / u), where m is how often the level occurs when both records are the same
# person and u how often it occurs for two different people. u comes from this database (how many people carry
# the word, the document, the year of birth: a common name agreeing is weak evidence, a rare one strong); m is a
# stated judgement of how records of one person differ (below). The weights, added to the prior odds that two
# records are the same person, give the probability reported.

REPORT_PROBABILITY = 0.9  # a pair is listed when it is nine times likelier the same person than two people
ASSUMED_DUPLICATE_SHARE = 0.01  # prior: about one record in a hundred is another record of someone
MIN_POPULATION = 1000  # a small database is scored as a sample of at least this many records
YEAR_WINDOW = 2  # a name key shared by more than MAX_BLOCK people: compared within birth years this far apart

# m: share of pairs of records of the same person at each level.
M_WORD = {"exact": 0.9, "similar": 0.08, "missing": 0.02}  # each word of the shorter name, in the other name
M_DATE = {"same_dob": 0.6, "dob_slip": 0.15, "birth_year_close": 0.1, "dob_differs": 0.15}
M_YEARS = {1: 0.55, 3: 0.3, 6: 0.1, None: 0.05}  # birth years (one at least estimated) within 1, 3, 6 years, more
M_SEX = {"agree": 0.97, "differ": 0.03}
M_NATIONALITY = {"agree": 0.9, "differ": 0.1}
M_IDENTIFIER = {
    IdentifierKind.ID_DOCUMENT: 0.2, IdentifierKind.BANK_ACCOUNT: 0.1, IdentifierKind.EMAIL: 0.2,
    IdentifierKind.PHONE: 0.15, IdentifierKind.SOCIAL: 0.1, IdentifierKind.ONLINE_PROFILE: 0.1,
}  # fmt: skip
M_OTHER_DOCUMENT = 0.25  # both have an identity document, and they differ (renewed, or another country's)
SIMILAR_WORD = 0.8  # word_similarity from which two words are "similar" (a typo, a spelling variant)


def _log2(x: float) -> float:
    return math.log2(max(x, 1e-12))


@dataclass
class _Plain:
    """What the database holds in plaintext about a person (no decryption): year of birth, exact or estimated."""

    year: int | None
    exact: bool
    sex: str
    nationalities: frozenset


class _Model:
    """u-probabilities of this database and the weights that follow."""

    def __init__(self, plain: dict[int, _Plain], word_counts: dict[str, int], sound_counts: dict[str, int]):
        self.population = max(len(plain), MIN_POPULATION)
        self.word_counts, self.sound_counts = word_counts, sound_counts
        exact_years = defaultdict(int)
        all_years = defaultdict(int)
        for p in plain.values():
            if p.year is not None:
                all_years[p.year] += 1
                if p.exact:
                    exact_years[p.year] += 1
        # Dates: same date ~ same year and one of 365 days; within a year; one part differs.
        same_year = self._share_within(exact_years, 0)
        self.u_date = {
            "same_dob": same_year / 365.25,
            "dob_slip": same_year * (1 / 12 + 1 / 30) + self._share_one_digit(exact_years) / 365.25,
            "birth_year_close": self._share_within(exact_years, 1),
        }
        self.u_date["dob_differs"] = max(0.5, 1 - sum(self.u_date.values()))
        self.u_years = {k: self._share_within(all_years, k) for k in (1, 3, 6)}
        self.u_years[None] = max(0.5, 1 - self.u_years[6])
        self.prior = _log2(2 * ASSUMED_DUPLICATE_SHARE / (self.population - 1))
        self.w_date = {k: _log2(M_DATE[k] / self.u_date[k]) for k in M_DATE}
        band = {1: self.u_years[1], 3: self.u_years[3] - self.u_years[1], 6: self.u_years[6] - self.u_years[3]}
        band[None] = self.u_years[None]
        self.w_years = {k: _log2(M_YEARS[k] / max(band[k], 1e-6)) for k in M_YEARS}
        self.w_sex = {"agree": 0.0, "differ": _log2(M_SEX["differ"] / 0.5)}
        self.w_nationality = {"agree": 0.0, "differ": 0.0}

    @staticmethod
    def _share_within(counts: dict[int, int], k: int) -> float:
        total = sum(counts.values())
        if total < 2:
            return 1.0 if k else 0.1
        hit = sum(c * counts.get(y + d, 0) for y, c in counts.items() for d in range(-k, k + 1))
        return max(hit / total / total, 1e-6)

    @staticmethod
    def _share_one_digit(counts: dict[int, int]) -> float:
        total = sum(counts.values()) or 1
        hit = sum(
            c * c2 for y, c in counts.items() for y2, c2 in counts.items()
            if y != y2 and sum(a != b for a, b in zip(str(y), str(y2), strict=False)) == 1
        )  # fmt: skip
        return max(hit / total / total, 1e-6)

    def calibrate(self, pairs: Iterable[tuple[int, int]], plain: dict[int, _Plain]) -> None:
        """Sex and nationality u among the pairs compared (mostly two different people with alike names):
        "María" is a woman and "Pérez" often Venezuelan, so their agreement is judged beside people of
        alike names, not of the whole database (it would otherwise count the name twice)."""
        sex_n = sex_agree = nat_n = nat_agree = 0
        for a, b in pairs:
            pa, pb = plain[a], plain[b]
            if pa.sex and pb.sex:
                sex_n += 1
                sex_agree += pa.sex == pb.sex
            if pa.nationalities and pb.nationalities:
                nat_n += 1
                nat_agree += bool(pa.nationalities & pb.nationalities)
        u_sex = (sex_agree + 1) / (sex_n + 2)
        u_nat = (nat_agree + 1) / (nat_n + 2)
        self.w_sex = {"agree": _log2(M_SEX["agree"] / u_sex), "differ": _log2(M_SEX["differ"] / (1 - u_sex))}
        self.w_nationality = {
            "agree": _log2(M_NATIONALITY["agree"] / u_nat),
            "differ": _log2(M_NATIONALITY["differ"] / (1 - u_nat)),
        }

    def tf(self, counts: dict[str, int], key: str) -> float:
        return (counts.get(key, 0) + 1) / self.population

    def word_token_weight(self, tok: str, level: str) -> float:
        """Weight of a word (by its w token) of the shorter name found as written, or alike (bounded by the
        word's own frequency: its sound is at least as common)."""
        return _log2(M_WORD[level] / self.tf(self.word_counts, tok))

    @lru_cache(maxsize=262144)  # noqa: B019 - one model per report, dropped with it
    def word_weight(self, word: str, level: str) -> float:
        if level == "exact":
            return _log2(M_WORD["exact"] / self.tf(self.word_counts, search.token("w", word)))
        if level == "similar":
            return _log2(M_WORD["similar"] / self.tf(self.sound_counts, search.token("p", search.sound_key(word))))
        return _log2(M_WORD["missing"])

    def identifier_weight(self, kind: str, sharing: int) -> float:
        return _log2(M_IDENTIFIER.get(kind, 0.05) * (self.population - 1) / max(1, sharing - 1))

    def probability(self, weight: float) -> float:
        return 1 / (1 + 2 ** (-min(60.0, max(-60.0, weight))))

    def best_date(self) -> float:
        return max(self.w_date.values())


def _name_evidence(model: _Model, a: list[list[str]], b: list[list[str]], cache: dict) -> tuple[float, tuple, bool]:
    """Weight of the best-agreeing names of two people (every name of each, aliases included), those two
    names (shorter first; empty when no name can be compared), and whether the agreeing words are common.
    Each word of the shorter name is looked for in the other name, order ignored: found as written, found
    alike (same sound, or a slip: ``search.word_similarity`` >= SIMILAR_WORD), or missing."""
    best: tuple[float, tuple, bool] = (-99.0, (), False)
    for one in a:
        for other in b:
            if not one or not other:
                continue
            x, y = (other, one) if len(one) > len(other) or (len(one) == len(other) and one > other) else (one, other)
            key = (tuple(x), tuple(y))
            found = cache.get(key)
            if found is None:
                weight, common = 0.0, False
                sounds = {search.sound_key(v) for v in y}
                for w in x:
                    if w in y:
                        level = "exact"
                    elif search.sound_key(w) in sounds or max(_similarity_if_alike(w, v) for v in y) >= SIMILAR_WORD:
                        level = "similar"
                    else:
                        level = "missing"
                    ww = model.word_weight(w, level)
                    common |= level != "missing" and ww < 6
                    weight += ww
                found = cache[key] = (weight, key, common)
            if found[0] > best[0]:
                best = found
    return best


def _name_similarity(names: tuple) -> float:
    """Mean best similarity of the words of the shorter name in the other (what the report shows)."""
    if not names:
        return 0.0
    x, y = names
    return sum(max(search.word_similarity(w, v) for v in y) for w in x) / len(x)


@lru_cache(maxsize=65536)
def _letters(word: str) -> Counter:
    return Counter(word)


def _ratio_bound(a: str, b: str) -> float:
    """An upper bound of ``SequenceMatcher(None, a, b).ratio()``: its matching characters are a common
    subsequence, so at most the letters both words share, counted with repeats."""
    return 2 * sum((_letters(a) & _letters(b)).values()) / (len(a) + len(b))


@lru_cache(maxsize=262144)
def _similarity_if_alike(a: str, b: str) -> float:
    """``search.word_similarity`` when it can reach SIMILAR_WORD, else 0 (cheap upper bounds first: the
    similarity is the mean of two SequenceMatcher ratios, on the words and on their folded spellings, and
    most pairs of different words are ruled out by the letters they share; issue #11, it was most of the
    time spent comparing names)."""
    if 2 * min(len(a), len(b)) / (len(a) + len(b)) < SIMILAR_WORD - 0.1:
        return 0.0
    reach = 2 * SIMILAR_WORD - 0.002  # word_similarity rounds to three decimals
    plain = _ratio_bound(a, b)
    if plain + 1 < reach:
        return 0.0
    sa, sb = search._soft(a), search._soft(b)  # the folded spellings word_similarity compares
    if sa != sb and plain + _ratio_bound(sa, sb) < reach:
        return 0.0
    return search.word_similarity(a, b)


def _date_level(da: date, db: date) -> str:
    if da == db:
        return "same_dob"
    if _slip(da, db):
        return "dob_slip"
    if abs((da - db).days) <= 366:
        return "birth_year_close"
    return "dob_differs"


def _years_level(ya: int, yb: int) -> int | None:
    gap = abs(ya - yb)
    return 1 if gap <= 1 else 3 if gap <= 3 else 6 if gap <= 6 else None


def _one_digit(ya: int, yb: int) -> bool:
    return sum(x != y for x, y in zip(str(ya), str(yb), strict=False)) == 1


def _load_plain() -> dict[int, _Plain]:
    from cases.models import Person

    today = timezone.localdate()
    out = {}
    rows = Person.objects.filter(merged_into__isnull=True).values_list(
        "pk", "birth_year", "estimated_age", "age_estimated_on", "sex", "nationalities"
    )
    for pid, birth_year, age, on, sex, nationalities in rows.iterator(chunk_size=20000):
        if birth_year:
            year, exact = birth_year, True
        elif age is not None:
            year, exact = (on or today).year - age, False
        else:
            year, exact = None, False
        out[pid] = _Plain(year, exact, "" if sex in ("", "unknown", None) else sex, frozenset(nationalities or ()))
    return out


def _token_counts(kind: str, tokens: Iterable[int]) -> dict[int, int]:
    """How many people carry each of ``tokens`` of ``kind`` (blind indexes only: no name is decrypted). Only
    the tokens asked for are counted, through the (token, person) key: counting every token of a kind reads
    the whole token table, the largest of the database (issue #11)."""
    from django.db.models import Count

    from cases.models import SearchToken

    tokens = sorted(set(tokens))
    out: dict[int, int] = {}
    for start in range(0, len(tokens), 900):  # SQLite allows so many parameters per query
        rows = (
            SearchToken.objects.filter(kind=kind, token__in=tokens[start : start + 900])
            .values("token")
            .annotate(n=Count("token"))
            .values_list("token", "n")
        )
        out.update(rows)
    return out


def candidate_pairs(
    plain: dict[int, _Plain], blocks: dict[int, list[int]], identified: dict[tuple, list[int]]
) -> tuple[set[tuple[int, int]], dict, int]:
    """Pairs to compare (blocking): people who share a name key (``_blocks``: two name sounds, a sound and a
    spelling, a one-word name) and whose plaintext details do not rule them out: years of birth within a year,
    or one digit apart, for two known dates; within six years when an age is estimated; the same sex when both
    are known. A name key shared by more than MAX_BLOCK people (a very common name) is compared only between
    people born within YEAR_WINDOW years; people of unknown age in such a group are compared through their
    identifiers only (a common name and nothing else cannot make a probable duplicate). People who share an
    identifier are always compared. Returns the name pairs, {pair: {identifier kind: people sharing it}} and
    how many people were left out."""
    seen: set[tuple[int, int]] = set()
    left_out: set[int] = set()
    for members in blocks.values():
        if len(members) < 2:
            continue
        members = sorted(members)
        if len(members) <= MAX_BLOCK:
            seen.update(combinations(members, 2))
            continue
        known = sorted((plain[m].year, m) for m in members if m in plain and plain[m].year is not None)
        left_out.update(m for m in members if m in plain and plain[m].year is None)
        for i, (ya, a) in enumerate(known):
            for yb, b in known[i + 1 :]:
                if yb - ya > YEAR_WINDOW:
                    break
                seen.add((a, b) if a < b else (b, a))
    shared: dict[tuple[int, int], dict] = {}
    for (kind, _index), members in identified.items():
        members = sorted(m for m in set(members) if m in plain)
        for pair in combinations(members[: 4 * MAX_BLOCK], 2):
            shared.setdefault(pair, {})[kind] = len(members)
    return seen, shared, len(left_out)


def _load_names(ids: list[int]) -> dict[int, list[list[str]]]:
    out = {}
    for start in range(0, len(ids), 900):
        for pid, n in search.load_names(ids[start : start + 900]).items():
            out[pid] = [x for x in (n["main"], *n["aliases"], *n["merged"]) if x]
    return out


def _load_dates(ids: list[int]) -> dict[int, date | None]:
    from cases.models import Person

    out = {}
    for start in range(0, len(ids), 900):
        for pid, text in Person.objects.filter(pk__in=ids[start : start + 900]).values_list("pk", "birth_date"):
            out[pid] = _date(text)
    return out


def find_all(*, threshold: float = REPORT_PROBABILITY, progress=None) -> dict:
    """Every probable duplicate pair in the database: {"computed_at", "people", "pairs": [[a, b, probability,
    [codes]]...] best first, "left_out", "compared"}. Ids and codes only: the result holds no personal data.

    Blocking and a first bound on each pair use plaintext columns and blind indexes only (the most a pair's
    names could weigh, from the words they share); names are then decrypted for the people of the pairs that
    bound leaves, and dates of birth only for pairs that their date could still make probable. Each person
    is decrypted at most once, in memory."""
    from cases.models import Person

    plain = _load_plain()
    if progress:
        progress(f"plaintext details of {len(plain)} people read")
    blocks, identified, words, word_counts = _blocks(progress)
    if progress:
        progress("name keys and word tokens read")
    seen, shared, left_out = candidate_pairs(plain, blocks, identified)
    if progress:
        progress("pairs made")
    model = _Model(plain, word_counts, {})  # sound counts: read below, for the words of the names decrypted
    model.calibrate(islice(seen, 200_000), plain)
    if progress:
        progress(f"{len(seen)} pairs share a name key, {len(shared)} an identifier, among {len(plain)} people")
    goal = _log2(threshold / (1 - threshold))
    exact_minus_similar = {
        t: model.word_token_weight(t, "exact") - max(0.0, model.word_token_weight(t, "similar")) for t in word_counts
    }
    empty: frozenset = frozenset()
    similar_allowance = {t: max(0.0, model.word_token_weight(t, "similar")) for t in word_counts}
    # Each person's words, once, with what they could weigh (issue #11: not per pair): found exactly, rarest
    # first (``fa``; ``pa``: sums of its first k), and found alike (``la``).
    full = {t: exact_minus_similar[t] + similar_allowance[t] for t in word_counts}
    person = {}
    for pid, p in plain.items():
        w = words.get(pid, empty)
        fa = sorted(((full[t], t) for t in w), reverse=True)
        la = sorted(((similar_allowance[t], t) for t in w), reverse=True)
        pa = list(accumulate((v for v, _t in fa), initial=0.0))
        person[pid] = (p.year, p.exact and p.year is not None, p.sex, p.nationalities, w, la, pa, fa)

    def name_bound(wa: frozenset, sa: list, fa: list, wb: frozenset, sb: list) -> float:
        """The most the names of two people can weigh, from their word tokens alone: the shorter name has at
        most k words (k: the fewer words either person has); words both carry weigh as found exactly, the
        rest at most as found alike (their sound is at least as common as the word)."""
        common = wa & wb
        k = min(len(wa), len(wb))
        if len(common) >= k:
            total, taken = 0, 0
            for v, t in fa:  # the k heaviest common words: a's words, heaviest first, that b has too
                if t in common:
                    total += v
                    taken += 1
                    if taken == k:
                        break
            return max(0.0, total)
        bound = sum(full[t] for t in common)
        rest = k - len(common)
        best = 0.0
        for side in (sa, sb):
            total = taken = 0
            for w, t in side:
                if taken == rest:
                    break
                if t not in common:
                    total += w
                    taken += 1
            best = max(best, total)
        return max(0.0, bound + best)

    best_year_date = model.w_date["same_dob"]
    best_other_date = max(model.w_date["dob_slip"], model.w_date["birth_year_close"])
    prior, w_sex, w_nat, w_years = model.prior, model.w_sex, model.w_nationality, model.w_years
    sex_agree, sex_differ = w_sex["agree"], w_sex["differ"]
    nat_agree, nat_differ = w_nat["agree"], w_nat["differ"]
    # Per-pair work reduced to lookups (issue #11): years one digit apart, and the weight of each gap in years.
    years = {p.year for p in plain.values() if p.year is not None}
    one_digit = {(x, y) for x in years for y in years if _one_digit(x, y)}
    years_weight = {
        gap: w_years[_years_level(0, gap)] for gap in range(max(years, default=0) - min(years, default=0) + 1)
    }
    first = []  # pairs whose names could still make them probable, with the plaintext part of their weight
    compared = 0
    for pair in chain(seen, (pair for pair in shared if pair not in seen)):
        a, b = pair
        ya, ea, sa, na, wa, la, pa, fa = person[a]
        yb, eb, sb, nb, wb, lb, pb, _fb = person[b]
        ids = shared.get(pair)
        if not ids and (
            (sa and sb and sa != sb)
            or (
                ya is not None
                and yb is not None
                and ((abs(ya - yb) > 1 and (ya, yb) not in one_digit) if ea and eb else abs(ya - yb) > 6)
            )
        ):
            continue  # blocking: sexes, or years of birth, rule the pair out (and no identifier is shared)
        compared += 1
        weight = prior
        if ids:
            weight += sum(model.identifier_weight(k, n) for k, n in ids.items())
        if sa and sb:
            weight += sex_agree if sa == sb else sex_differ
        if na and nb:
            weight += nat_agree if na & nb else nat_differ
        dated = ea and eb
        date_bound = 0.0
        if dated:
            date_bound = best_year_date if ya == yb else best_other_date
        elif ya is not None and yb is not None:
            weight += years_weight[abs(ya - yb)]
        k = min(len(wa), len(wb))
        if weight + date_bound + max(pa[k], pb[k]) < goal:
            continue  # not even the k rarest words of either name, all found exactly, could make it probable
        names_at_most = name_bound(wa, la, fa, wb, lb)
        if weight + names_at_most + date_bound >= goal:
            first.append((weight, a, b, dated, names_at_most))
    if progress:
        progress(f"{compared} pairs compared on their plaintext details and word tokens")
    # Dates first (one field per person, and most namesakes born the same year differ on the day), then names.
    dates = _load_dates(sorted({p for row in first if row[3] for p in row[1:3]}))
    if progress:
        progress(
            f"{len(first)} pairs left by the plaintext and blind-index bound; dates of birth of {len(dates)} people decrypted"
        )
    second = []
    for weight, a, b, dated, name_bound in first:
        level = None
        if dated:
            da, db = dates.get(a), dates.get(b)
            if da and db:
                level = _date_level(da, db)
                weight += model.w_date[level]
        if weight + name_bound >= goal:
            second.append((weight, a, b, level))
    names = _load_names(sorted({p for row in second for p in row[1:3]}))
    model.sound_counts = _token_counts(
        "p", {search.token("p", search.sound_key(w)) for ns in names.values() for n in ns for w in n}
    )
    if progress:
        progress(f"{len(second)} pairs left after the dates; names of {len(names)} people decrypted")
    cache: dict = {}
    found = []
    for weight, a, b, level in second:
        name_w, compared_names, common = _name_evidence(model, names.get(a, []), names.get(b, []), cache)
        if compared_names:
            weight += name_w
        if weight < goal:
            continue
        codes = []
        similarity = _name_similarity(compared_names)
        if similarity > 0:
            codes.append("same_name" if similarity >= 0.999 else f"name={round(similarity * 100)}")
            if common:
                codes.append("common_name")
        pa, pb = plain[a], plain[b]
        if level:
            codes.append(level)
        elif pa.year is not None and pb.year is not None:
            years = _years_level(pa.year, pb.year)
            if years in (1, 3):
                codes.append("age_compatible")
            elif years is None:
                codes.append("age_differs")
        codes += [f"same_{k}" for k in sorted(shared.get((a, b), {}), key=lambda k: -M_IDENTIFIER.get(k, 0))]
        if pa.nationalities & pb.nationalities:
            codes.append("same_nationality")
        found.append([a, b, round(model.probability(weight), 3), codes])
    found.sort(key=lambda row: (-row[2], row[0], row[1]))
    return {
        "computed_at": timezone.now().isoformat(),
        "people": Person.objects.filter(merged_into__isnull=True).count(),
        "pairs": found,
        "left_out": left_out,
        "compared": compared,
    }


def _blocks(progress=None) -> tuple[dict[int, list[int]], dict[tuple, list[int]], dict[int, frozenset], dict]:
    """Blocking keys -> people: two words of a name that sound alike (search token kind b: spelling variants,
    accents, reordering, a word dropped from a longer name), a one-word name that sounds alike (t); and apart,
    the same identifying document, phone, email... Only unmerged people. (A slip that changes the sound of a
    word still meets through another pair of words, or an identifier.) Also each person's word tokens (w) and
    how many people carry each: read in the same pass over the token table (issue #11)."""
    from cases.models import Identifier, Person, SearchToken

    live = Person.objects.filter(merged_into__isnull=True)
    blocks: dict[int, list[int]] = defaultdict(list)
    by_person: dict[int, set] = defaultdict(set)
    word_counts: dict[int, int] = defaultdict(int)
    rows = SearchToken.objects.filter(kind__in=["b", "t", "w"], person__in=live.values("pk")).values_list(
        "token", "kind", "person_id"
    )
    for n, (tok, kind, pid) in enumerate(rows.iterator(chunk_size=20000), 1):
        if kind == "w":
            by_person[pid].add(tok)
            word_counts[tok] += 1
        else:
            blocks[tok].append(pid)
        if progress and n % 500000 == 0:
            progress(f"read {n} name tokens")
    words = {pid: frozenset(t) for pid, t in by_person.items()}
    identified: dict[tuple, list[int]] = defaultdict(list)
    idents = Identifier.objects.filter(kind__in=list(IDENTIFYING), person__in=live.values("pk")).exclude(index="")
    for kind, index, pid in idents.values_list("kind", "index", "person_id").iterator(chunk_size=20000):
        identified[(kind, index)].append(pid)
    return blocks, identified, words, word_counts


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

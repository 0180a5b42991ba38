"""Finding people by name without plaintext in the database (issue #4).

Names (given and family names together, each alias, and the names of records merged into this one) are cut
into words: accents, case, punctuation and particles ("de", "la", "van"...) are dropped, so word order never
matters ("Maria Jose Perez" finds "Pérez, María José"). Each word and each pair of words is stored only as
keyed blind-index tokens (HMAC-SHA256 under BLIND_INDEX_KEY, truncated to a signed 64-bit integer: without
the key a token cannot be computed from a name; as an integer the index is a third smaller than as text, #11):

====  =====================================================  =============================================
kind  token of                                               tolerates
====  =====================================================  =============================================
w     the word                                               accents and case ("Pérez" = "perez")
p     its sound key (``sound_key``)                          Spanish/English spellings: "Gonsalez",
                                                             "Mohamed"/"Mohammed", "Jose"/"Hose"
x     its first four letters                                 a typo late in a one-word query
a     two words of the same name                             (selective: "maria"+"perez")
b     the sound keys of two words                            spelling variants of both words
c     one word's sound key + the other's first three         a typo in one word that changes its sound
      letters
s, t  a one-word name (word, sound key) with a blank         "Maria Perez" also finds a person recorded
      partner                                                as just "María"
====  =====================================================  =============================================

A query of two words or more looks up only pair tokens (a, b, c, s, t). Pairs are what makes search fast
at a million people: "maria" alone is in tens of thousands of records, "maria"+"perez" in a few hundred.
A one-word query looks up w, then p and x. The database ranks people by the weighted tokens they share with
the query (``WEIGHTS``) and returns at most ``CANDIDATES``; only those few are decrypted and re-scored on
their real names (``name_similarity``). Nothing but opaque tokens is ever compared in the database.

Collisions of the truncated tokens only add a candidate, which the re-scoring on decrypted names then drops.
Changing the tokens (this module) needs ``manage.py reindex_people``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.db.models import Case, IntegerField, Sum, Value, When
from django.utils.translation import gettext as _

from utilities.crypto import normalise

CANDIDATES = 200  # people ranked by the database and decrypted for re-scoring, per query
MIN_VISIBLE = 40  # fewer visible candidates than this in a truncated global ranking: widen it, then restrict it
WIDEN = 10
MAX_WORDS = 6  # words of one name that are indexed (pairs grow as the square)
WEIGHTS = {"w": 3, "p": 2, "x": 1, "a": 6, "b": 3, "c": 1, "s": 2, "t": 1}
PAIR_KINDS = ("a", "b", "c", "s", "t")
TOKEN_BYTES = 8  # 64 bits: collisions only add a candidate; shorter tokens keep the index small
BLANK = "_"  # the partner of the only word of a one-word name (never a word itself: words are alphanumeric)

# Particles that are part of many names and tell nothing apart (Spanish, Portuguese, Dutch, German, Arabic).
PARTICLES = frozenset("de del la las los y e da das do dos di du van von der den ter le el al bin ibn bint".split())


# --- words, sounds and tokens ---------------------------------------------------------------------------


def words(text: str) -> list[str]:
    """The words of a name, normalised, particles and single letters dropped, first occurrence order."""
    seen: dict[str, None] = {}
    for w in re.split(r"[^a-z0-9]+", normalise(text).replace("'", "").replace("\u2019", "")):
        if len(w) > 1 and w not in PARTICLES:
            seen.setdefault(w, None)
    return list(seen)


_SOUND_RULES = (
    ("ph", "f"), ("qu", "k"), ("ck", "k"), ("ll", "y"), ("ch", "x"), ("sh", "x"), ("th", "t"), ("kh", "k"),
    ("dj", "j"),
)  # fmt: skip
_SOUND_TABLE = str.maketrans({"v": "b", "z": "s", "c": "k", "q": "k", "j": "h", "w": "u", "y": "i"})


@lru_cache(maxsize=65536)
def _soft(word: str) -> str:
    """The word with Spanish and English spelling variants folded, vowels kept ("gonzalez" -> "gonsales",
    "jose" -> "hose", "mohammed" -> "mohamed")."""
    w = normalise(word)
    if w.startswith("x"):
        w = "j" + w[1:]  # "Ximena" = "Jimena", "Xavier" = "Javier"
    w = re.sub(r"c(?=[ei])", "s", w)  # soft c and g first, so "gui" in "Guillermo" keeps its hard g
    w = re.sub(r"g(?=[ei])", "j", w)
    w = re.sub(r"gu(?=[ei])", "g", w)
    for a, b in _SOUND_RULES:
        w = w.replace(a, b)
    w = w.translate(_SOUND_TABLE)
    return re.sub(r"(.)\1+", r"\1", w)


@lru_cache(maxsize=65536)
def sound_key(word: str) -> str:
    """A coarse phonetic key: the kind of the first sound and the consonant skeleton ("gonzalez", "gonsales"
    -> "gnsls"; "mohamed", "muhammad" -> "md"; "jose", "hose" -> "as"; "hernandez", "ernandez" -> "arnds")."""
    w = _soft(word)
    if not w:
        return ""
    first, rest = w[0], w[1:]
    if first in "aeiouh":
        first = "a"  # a vowel, a silent h or the Spanish j (folded to h) begin alike: "Ibrahim" = "Ebrahim"
    rest = re.sub(r"[aeiouh]", "", rest)
    return re.sub(r"(.)\1+", r"\1", first + rest)[:8]


@lru_cache(maxsize=16)
def _key(secret: str, purpose: str) -> bytes:
    # The same derivation as utilities.crypto.blind_index, computed once per purpose.
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


_PURPOSES = {
    "w": "name-word", "p": "name-sound", "x": "name-prefix", "a": "name-pair", "b": "name-sound-pair",
    "c": "name-sound-prefix", "s": "name-single", "t": "name-sound-single",
}  # fmt: skip


def token(kind: str, value: str) -> int:
    """The keyed blind index of ``value`` for ``kind``: the first 64 bits of HMAC-SHA256 under a key derived
    from BLIND_INDEX_KEY per kind, as a signed integer (a PostgreSQL bigint)."""
    key = _key(settings.BLIND_INDEX_KEY, _PURPOSES[kind])
    return int.from_bytes(hmac.digest(key, value.encode(), "sha256")[:TOKEN_BYTES], "big", signed=True)


def token_rows(person_id: int, tokens: Iterable[tuple[str, int]]) -> list[tuple[int, str, int]]:
    """``(token, kind, person id)`` rows of one person, in token order, one per token: (token, person) is the
    table's primary key, so of two kinds whose tokens collide (one chance in 2**64) the first is kept; a
    collision only adds a search candidate anyway."""
    seen: dict[int, str] = {}
    for kind, value in sorted(tokens):
        seen.setdefault(value, kind)
    return [(value, kind, person_id) for value, kind in sorted(seen.items())]


def _name_tokens(ws: list[str], tok=None) -> set[tuple[str, int]]:
    """Tokens of one name (already cut into words)."""
    tok = tok or token
    ws = ws[:MAX_WORDS]
    sounds = [sound_key(w) for w in ws]
    out = set()
    for w, s in zip(ws, sounds, strict=True):
        out.add(("w", tok("w", w)))
        out.add(("p", tok("p", s)))
        if len(w) >= 4:
            out.add(("x", tok("x", w[:4])))
    if len(ws) == 1:
        out.add(("s", tok("s", ws[0])))
        out.add(("t", tok("t", sounds[0])))
    out |= _pair_tokens(ws, sounds, tok)
    return out


def _pair_tokens(ws: list[str], sounds: list[str], tok=None) -> set[tuple[str, int]]:
    tok = tok or token
    out = set()
    for i in range(len(ws)):
        for j in range(len(ws)):
            if i == j:
                continue
            if i < j:
                out.add(("a", tok("a", "|".join(sorted((ws[i], ws[j]))))))
                out.add(("b", tok("b", "|".join(sorted((sounds[i], sounds[j]))))))
            out.add(("c", tok("c", f"{sounds[i]}|{ws[j][:3]}")))
    return out


def memoised(memo: dict):
    """``token`` remembering its answers in ``memo``, for indexing many people at once (an import, a
    reindex): names share most of their words, so most tokens are computed once. ``memo`` holds words of
    names: keep it only as long as the batch it serves."""

    def tok(kind: str, value: str) -> int:
        found = memo.get((kind, value))
        if found is None:
            found = memo[(kind, value)] = token(kind, value)
        return found

    return tok


def tokens_for_names(names: Iterable[str], *, memo: dict | None = None) -> set[tuple[str, int]]:
    """All (kind, token) pairs of a person known by ``names`` (each name: given and family names together,
    or one alias). ``memo``: see ``memoised``."""
    tok = token if memo is None else memoised(memo)
    out: set[tuple[str, int]] = set()
    for name in names:
        ws = words(name)
        if ws:
            out |= _name_tokens(ws, tok)
    return out


def tokens_for(text: str) -> set[tuple[str, int]]:
    """Tokens of one name as stored (kept for callers of the first version of this module)."""
    return tokens_for_names([text])


def query_tokens(ws: list[str]) -> set[tuple[str, int]]:
    """Tokens a query of words ``ws`` looks up: pairs when it has two words or more, else the word's own."""
    ws = ws[:MAX_WORDS]
    sounds = [sound_key(w) for w in ws]
    if len(ws) == 1:
        w, s = ws[0], sounds[0]
        out = {("w", token("w", w)), ("p", token("p", s))}
        if len(w) >= 4:
            out.add(("x", token("x", w[:4])))
        return out
    out = _pair_tokens(ws, sounds)
    for w, s in zip(ws, sounds, strict=True):
        out.add(("s", token("s", w)))
        out.add(("t", token("t", s)))
    return out


# --- indexing --------------------------------------------------------------------------------------------


def person_names(person) -> list[str]:
    """Every name a person is known by: given and family names, aliases, and the names of the records merged
    into this one (so a survivor stays findable under the name their first case recorded)."""
    from cases.models import Person

    names = [person.full_name] + [a.name for a in person.aliases.all()]
    if person.pk:
        names += [p.full_name for p in _merged_into(Person, [person.pk]).get(person.pk, [])]
    return [n for n in names if n]


def _merged_into(Person, ids: list[int]) -> dict[int, list]:
    """The records merged (directly or through another merge) into each of ``ids``."""
    found: dict[int, list] = {}
    frontier = {pk: pk for pk in ids}
    for _depth in range(5):  # merges of merges: bounded, a chain longer than this is not plausible
        if not frontier:
            break
        nxt = {}
        for p in Person.objects.filter(merged_into_id__in=list(frontier)).only(
            "id", "merged_into_id", "given_names", "family_names"
        ):
            root = frontier[p.merged_into_id]
            found.setdefault(root, []).append(p)
            nxt[p.pk] = root
        frontier = nxt
    return found


def index_person(person) -> None:
    """Rebuild a person's tokens; called by every action that changes names or aliases."""
    from cases.models import SearchToken

    tokens = tokens_for_names(person_names(person))
    with transaction.atomic():
        SearchToken.objects.filter(person=person).delete()
        SearchToken.objects.bulk_create(
            [SearchToken(person=person, kind=k, token=t) for t, k, _p in token_rows(person.pk, tokens)]
        )


def reindex_all(*, batch_size: int = 1000, progress=None) -> int:
    """Rebuild every person's tokens in batches (after the token design changes). Returns the count."""
    from cases.models import Person, PersonAlias, SearchToken

    done = 0
    total = Person.objects.count()
    last = 0
    while True:
        batch = list(
            Person.objects.filter(pk__gt=last).order_by("pk").only("id", "given_names", "family_names")[:batch_size]
        )
        if not batch:
            break
        ids = [p.pk for p in batch]
        names: dict[int, list[str]] = {p.pk: [p.full_name] for p in batch}
        for pid, name in PersonAlias.objects.filter(person_id__in=ids).values_list("person_id", "name"):
            names[pid].append(name)
        for root, merged in _merged_into(Person, ids).items():
            names[root] += [p.full_name for p in merged]
        memo: dict = {}  # this batch's words (see ``memoised``)
        rows = [
            SearchToken(person_id=pid, kind=k, token=t)
            for pid in ids
            for t, k, _p in token_rows(pid, tokens_for_names((n for n in names[pid] if n), memo=memo))
        ]
        with transaction.atomic():
            SearchToken.objects.filter(person_id__in=ids).delete()
            SearchToken.objects.bulk_create(rows, batch_size=5000)
        done += len(batch)
        last = ids[-1]
        if progress:
            progress(done, total)
    return done


# --- similarity ----------------------------------------------------------------------------------------


@lru_cache(maxsize=262144)
def word_similarity(a: str, b: str) -> float:
    """0..1 for two normalised words: half the plain spelling, half the spelling with variants folded
    ("gonsalez"/"gonzalez" 0.94, "mohamed"/"mohammed" 0.97, "maria"/"mario" 0.8)."""
    if a == b:
        return 1.0
    plain = SequenceMatcher(None, a, b).ratio()
    sa, sb = _soft(a), _soft(b)
    soft = 1.0 if sa == sb else SequenceMatcher(None, sa, sb).ratio()
    return round((plain + soft) / 2, 3)


def _coverage(query_words: list[str], name_words: list[str]) -> tuple[float, int]:
    """How well ``query_words`` are found among ``name_words`` (order ignored): mean best similarity, and
    how many were found exactly."""
    if not query_words or not name_words:
        return 0.0, 0
    total, exact = 0.0, 0
    for q in query_words:
        best = max(word_similarity(q, c) for c in name_words)
        total += best
        exact += best == 1.0
    return total / len(query_words), exact


def name_similarity(query: str, candidate_names: list[str]) -> float:
    """0..1: how well the query's words match the best of the candidate's names, order ignored."""
    q = words(query)
    return round(max((_coverage(q, words(n))[0] for n in candidate_names), default=0.0), 3)


# --- search --------------------------------------------------------------------------------------------


@dataclass
class Hit:
    person: object
    score: float
    reasons: list = field(default_factory=list)


def _rank(tokens: set[tuple[str, int]], restrict=None, cap: int | None = None) -> list[int]:
    """Person ids sharing tokens with the query, the heaviest first (at most ``cap``)."""
    from cases.models import SearchToken

    if not tokens:
        return []
    cap = cap or CANDIDATES
    if len(tokens) == 1:
        # One token (the exact word of a one-word query): every match weighs the same, and the index is
        # already in (token, person) order, so the first ``cap`` entries are read without sorting anything.
        rows = SearchToken.objects.filter(token=next(iter(tokens))[1])
        if restrict is not None:
            rows = rows.filter(person__in=restrict.values("pk"))
        return list(rows.order_by("person_id").values_list("person_id", flat=True)[:cap])
    by_weight: dict[int, set[int]] = {}
    for kind, value in tokens:
        by_weight.setdefault(WEIGHTS[kind], set()).add(value)
    rows = SearchToken.objects.filter(token__in=sorted({t for _k, t in tokens}))
    # Weighed by token, not kind, so PostgreSQL answers from the (token, person) index alone.
    if len(by_weight) > 1:
        cases = [When(token__in=sorted(values), then=Value(w)) for w, values in sorted(by_weight.items(), reverse=True)]
        weight = Sum(Case(*cases, output_field=IntegerField()))
    else:
        weight = Sum(Value(next(iter(by_weight)), output_field=IntegerField()))
    if restrict is not None:
        rows = rows.filter(person__in=restrict.values("pk"))
    ranked = rows.values("person_id").annotate(weight=weight).order_by("-weight", "person_id")[:cap]
    return [r["person_id"] for r in ranked]


def candidate_ids(
    query_words: list[str], people, *, cap: int | None = None, enough: int = 20, cache: dict | None = None
) -> list[int]:
    """Ids of people in ``people`` most likely to carry the name ``query_words``, best first.

    The ranking runs first over the whole index (fast, the database's index only) and is then restricted to
    ``people``; a user who can see few of the many people with a common name gets a second ranking restricted
    to what they can see, so nobody they may see is crowded out by people they may not. A one-word query
    looks for the word itself first: when ``enough`` people carry it exactly, people whose name only sounds
    alike would rank below them anyway and are not looked up. ``cache`` (a dict) lets several calls for the
    same words share the global rankings."""
    if not query_words:
        return []
    cap = cap or CANDIDATES
    if len(query_words) == 1:
        tiers = [{t for t in query_tokens(query_words) if t[0] == "w"}, query_tokens(query_words)]
    else:
        tiers = [query_tokens(query_words)]
    ranked: list[int] = []
    for n, tokens in enumerate(tiers, 1):
        ranked = _visible_ranking(tokens, people, cap, enough, cache)
        if len(ranked) >= enough:
            break
        if n == len(tiers) and not ranked and len(query_words) > 1:
            # No pair at all (every word misspelt beyond its sound?): fall back to the words one by one.
            ranked = _visible_ranking(
                set().union(*(query_tokens([w]) for w in query_words)), people, cap, enough, cache
            )
    return ranked


def _visible_ranking(
    tokens: set[tuple[str, int]], people, cap: int, enough: int = 20, cache: dict | None = None
) -> list[int]:
    """The global ranking filtered by ``people``; widened, then restricted, for users who see few people.

    Checking visibility costs the same per row whether it is a ranked person or a token row, so it is checked
    on the best ``cap`` people, then (fewer than MIN_VISIBLE visible) on the best ``WIDEN`` x ``cap``, and
    only when even those hold fewer than ``enough`` (a page) on every matching token row: the restricted
    ranking, whose cost grows with the database. The visible part of a global ranking is the restricted
    ranking's head, so nothing better is skipped."""
    cache = {} if cache is None else cache

    def global_rank(size: int) -> list[int]:
        key = (frozenset(tokens), size)
        if key not in cache:
            cache[key] = _rank(tokens, cap=size)
        return cache[key]

    ranked = global_rank(cap)
    visible = set(people.filter(pk__in=ranked).values_list("pk", flat=True))
    if len(ranked) >= cap and len(visible) < MIN_VISIBLE:
        ranked = global_rank(cap * WIDEN)
        visible = set(people.filter(pk__in=ranked).values_list("pk", flat=True))
        if len(ranked) >= cap * WIDEN and len(visible) < enough:
            return _rank(tokens, restrict=people, cap=cap)
    return [pk for pk in ranked if pk in visible][:cap]


def load_names(ids: list[int]) -> dict[int, dict]:
    """Decrypted names of people ``ids``: {"main": [...words], "aliases": [[...], ...], "merged": [[...]]}."""
    from cases.models import Person, PersonAlias

    out: dict[int, dict] = {}
    for pid, given, family in Person.objects.filter(pk__in=ids).values_list("pk", "given_names", "family_names"):
        out[pid] = {"main": words(f"{given or ''} {family or ''}"), "aliases": [], "merged": []}
    for pid, name in PersonAlias.objects.filter(person_id__in=ids).values_list("person_id", "name"):
        if pid in out:
            out[pid]["aliases"].append(words(name))
    for root, merged in _merged_into(Person, list(out)).items():
        out[root]["merged"] += [words(p.full_name) for p in merged]
    return out


def score_names(query_words: list[str], names: dict) -> tuple[float, list[str]]:
    """The best coverage of the query by one of the person's names, with human reasons."""
    best, best_exact, best_source = 0.0, 0, "main"
    for source in ("main", "aliases", "merged"):
        sets = [names[source]] if source == "main" else names[source]
        for ws in sets:
            score, exact = _coverage(query_words, ws)
            if score > best:
                best, best_exact, best_source = score, exact, source
    reasons = []
    n = len(query_words)
    if best_exact == n:
        reasons.append(_("Every word of the name matches"))
    elif best_exact:
        reasons.append(
            _("%(exact)d of %(total)d words match exactly, the others are spelled or sound alike")
            % {"exact": best_exact, "total": n}
        )
    else:
        reasons.append(_("The words are spelled or sound alike"))
    if best_source == "aliases":
        reasons.append(_("Found under another name (alias)"))
    elif best_source == "merged":
        reasons.append(_("Found under the name of a record merged into this one"))
    return round(best, 3), reasons


def search(query: str, people, *, limit: int = 20, min_score: float = 0.6) -> list[Hit]:
    """People in ``people`` (a queryset already restricted with visible_to) whose names match ``query``,
    best first, each with a score (0..1) and the reasons."""
    q = words(query)
    ids = candidate_ids(q, people, enough=limit)
    if not ids:
        return []
    names = load_names(ids)
    scored = []
    for pid in ids:
        if pid not in names:
            continue
        score, reasons = score_names(q, names[pid])
        if score >= min_score:
            scored.append((score, pid, reasons))
    scored.sort(key=lambda s: (-s[0], s[1]))
    scored = scored[:limit]
    persons = people.model.objects.in_bulk([pid for _s, pid, _r in scored])
    return [Hit(persons[pid], score, reasons) for score, pid, reasons in scored if pid in persons]

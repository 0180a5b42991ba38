"""Finding people by name without plaintext in the database (issue #4).

Every name (given, family, aliases) is cut into words; each word is stored only as keyed blind-index tokens
(HMAC-SHA256 under BLIND_INDEX_KEY, see utilities.crypto.blind_index):
- ``w``: the normalised word (accents, case removed): "Pérez" and "perez" match;
- ``p``: a phonetic key tuned for Spanish and English spellings: "Gonzalez"/"Gonsales", "Jose"/"Hose";
- ``x``: the first four letters: "Mohammed"/"Mohamed" share "moha".
A query is cut the same way; candidates are people sharing tokens, ranked by how many and which kinds,
then re-scored on the decrypted names of the few candidates (never more than ``CANDIDATES``). Word order
never matters ("Maria Jose Perez" finds "Pérez, María José").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from django.db import transaction
from django.db.models import Count, Q

from utilities.crypto import blind_index, normalise

CANDIDATES = 200
_WEIGHTS = {"w": 3, "p": 2, "x": 1}


def words(text: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", normalise(text).replace("'", "")) if len(w) > 1]


def phonetic(word: str) -> str:
    """A small phonetic key for names written by Spanish and English speakers."""
    w = normalise(word)
    for a, b in (("ph", "f"), ("qu", "k"), ("ll", "y"), ("ch", "x"), ("sh", "x"), ("gue", "ge"), ("gui", "gi"), ("th", "t")):
        w = w.replace(a, b)
    w = re.sub(r"c(?=[ei])", "s", w)
    w = re.sub(r"g(?=[ei])", "j", w)
    table = str.maketrans({"v": "b", "z": "s", "c": "k", "q": "k", "j": "h", "w": "u", "y": "i"})
    w = w.translate(table)
    first, rest = w[:1], w[1:]
    rest = rest.replace("h", "")
    rest = re.sub(r"[aeiou]", "", rest)
    key = first + rest
    key = re.sub(r"(.)\1+", r"\1", key)
    return key[:8]


def tokens_for(text: str) -> set[tuple[str, str]]:
    result = set()
    for w in words(text):
        result.add(("w", blind_index(w, "name-word")))
        result.add(("p", blind_index(phonetic(w), "name-phonetic")))
        if len(w) >= 4:
            result.add(("x", blind_index(w[:4], "name-prefix")))
    return result


def person_names(person) -> list[str]:
    names = [person.given_names or "", person.family_names or ""]
    names += [a.name for a in person.aliases.all()]
    return [n for n in names if n]


def index_person(person) -> None:
    """Rebuild a person's tokens; called by every action that changes names or aliases."""
    from cases.models import SearchToken

    tokens = set()
    for name in person_names(person):
        tokens |= tokens_for(name)
    with transaction.atomic():
        SearchToken.objects.filter(person=person).delete()
        SearchToken.objects.bulk_create([SearchToken(person=person, kind=k, token=t) for k, t in sorted(tokens)])


def name_similarity(query: str, candidate_names: list[str]) -> float:
    """0..1: how well the query's words match the best of the candidate's names, order ignored."""
    q = sorted(words(query))
    best = 0.0
    all_words = sorted({w for n in candidate_names for w in words(n)})
    if not q or not all_words:
        return 0.0
    total = 0.0
    for qw in q:
        total += max(SequenceMatcher(None, qw, cw).ratio() for cw in all_words)
    best = total / len(q)
    return round(best, 3)


@dataclass
class Hit:
    person: object
    score: float
    reasons: list = field(default_factory=list)


def search(query: str, people, *, limit: int = 20, min_score: float = 0.6) -> list[Hit]:
    """People in ``people`` (a queryset already restricted with visible_to) whose names match ``query``."""
    from cases.models import SearchToken

    tokens = tokens_for(query)
    if not tokens:
        return []
    by_kind = {}
    for kind, token in tokens:
        by_kind.setdefault(kind, []).append(token)
    weighted = sum(
        (Count("id", filter=Q(kind=kind, token__in=values)) * _WEIGHTS[kind] for kind, values in by_kind.items()),
        start=0,
    )
    ranked = (
        SearchToken.objects.filter(token__in=[t for _k, t in tokens], person__in=people)
        .values("person_id")
        .annotate(weight=weighted)
        .order_by("-weight")[:CANDIDATES]
    )
    ids = [row["person_id"] for row in ranked]
    hits = []
    for person in people.filter(pk__in=ids).prefetch_related("aliases"):
        score = name_similarity(query, person_names(person))
        if score >= min_score:
            hits.append(Hit(person, score))
    hits.sort(key=lambda h: -h.score)
    return hits[:limit]

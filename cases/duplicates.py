"""Likely duplicate people (issue #4): proposed when a person is created or edited, and listed across the
whole database. Interface used by the case pages; the scoring lives here."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Proposal:
    person: object
    score: float
    reasons: list = field(default_factory=list)


def propose(people, *, given_names: str = "", family_names: str = "", birth_date: str = "", estimated_age=None,
            nationalities=(), identifiers=(), exclude=None, limit: int = 10) -> list[Proposal]:  # fmt: skip
    """People in ``people`` (already restricted with visible_to) who may be the person described.
    ``identifiers`` is a list of (kind, value). Returns proposals with a score (0..1) and the reasons."""
    from cases.search import search

    query = " ".join(p for p in (given_names, family_names) if p)
    if not query:
        return []
    hits = search(query, people.exclude(pk=exclude.pk) if exclude is not None else people, limit=limit)
    return [Proposal(h.person, h.score, ["name"]) for h in hits]

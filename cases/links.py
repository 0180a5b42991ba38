"""Cases linked by what they share (issue #4): the same phone, document, vehicle, bank account, address or online
profile (equal keyed blind index of the same kind), or the same person record.

Only identifiers the user may see on this case are compared (a care officer who does not see the suspect does
not learn where the suspect's phone turns up). Linked cases the user may see are named; of the others only
the count and the kinds of identifier are told, never their reference, so the officer can ask the Head of
Investigations for access."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.choices import IdentifierKind
from cases.models import Case, CasePerson, Identifier

SAME_PERSON = "same_person"
KIND_LABELS = {**dict(IdentifierKind.choices), SAME_PERSON: _("Same person")}


@dataclass
class LinkedCase:
    case: Case
    kinds: list[str]

    @property
    def labels(self) -> list[str]:
        return [str(KIND_LABELS.get(k, k)) for k in self.kinds]


@dataclass
class CaseLinks:
    visible: list[LinkedCase] = field(default_factory=list)
    hidden_count: int = 0
    hidden_kinds: list[str] = field(default_factory=list)

    @property
    def hidden_labels(self) -> list[str]:
        return [str(KIND_LABELS.get(k, k)) for k in self.hidden_kinds]

    def __bool__(self) -> bool:
        return bool(self.visible or self.hidden_count)


def _sorted_kinds(kinds) -> list[str]:
    order = [*IdentifierKind.values, SAME_PERSON]
    return sorted(kinds, key=lambda k: order.index(k) if k in order else len(order))


def linked_cases(case: Case, user, *, links=None) -> CaseLinks:
    """``links``: the case's people ``user`` may see, when the caller has already read them (the case page)."""
    if links is None:
        links = CasePerson.objects.visible_to(user).filter(case=case)
        person_ids = set(links.values_list("person_id", flat=True))
    else:
        person_ids = {link.person_id for link in links}
    # Every identifier sharing a blind index with one of this case's (its own included), in one query; the
    # case's own (kind, index) pairs are picked out of the answer.
    own = Identifier.objects.filter(Q(case=case) | Q(person_id__in=person_ids)).exclude(index="")
    matches = list(
        Identifier.objects.filter(index__in=own.values("index")).values_list("kind", "index", "case_id", "person_id")
    )
    keys = {
        (kind, index) for kind, index, case_id, person_id in matches if case_id == case.pk or person_id in person_ids
    }

    kinds_by_case: dict[int, set[str]] = defaultdict(set)
    person_kinds: dict[int, set[str]] = defaultdict(set)
    for kind, index, case_id, person_id in matches:
        if (kind, index) not in keys:
            continue
        if case_id:
            kinds_by_case[case_id].add(kind)
        elif person_id:
            person_kinds[person_id].add(kind)
    # Where the people sharing an identifier appear, and where this case's people appear too (the same person
    # record in another case links the cases: one Person, several CasePerson links), in one query.
    appearances = CasePerson.objects.filter(
        person_id__in=person_ids | set(person_kinds), person__merged_into__isnull=True
    ).values_list("case_id", "person_id")
    for case_id, person_id in appearances:
        if person_id in person_kinds:
            kinds_by_case[case_id] |= person_kinds[person_id]
        if person_id in person_ids:
            kinds_by_case[case_id].add(SAME_PERSON)
    kinds_by_case.pop(case.pk, None)
    if not kinds_by_case:
        return CaseLinks()

    # Only what the page shows of a linked case (its encrypted closure texts are not read).
    seen = (
        Case.objects.visible_to(user)
        .filter(pk__in=kinds_by_case)
        .only("reference", "status", "opened_at")
        .order_by("-opened_at", "-id")
    )
    visible = [LinkedCase(other, _sorted_kinds(kinds_by_case[other.pk])) for other in seen]
    visible_ids = {item.case.pk for item in visible}
    hidden = [kinds for case_id, kinds in kinds_by_case.items() if case_id not in visible_ids]
    return CaseLinks(
        visible=visible, hidden_count=len(hidden), hidden_kinds=_sorted_kinds(set().union(*hidden)) if hidden else []
    )

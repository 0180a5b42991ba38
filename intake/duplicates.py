"""Possible duplicate reports for the triaging officer (issue #3): the same phone number, the same place within
a short time, or the same named person. Matching uses blind indexes; no plaintext is compared in the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from intake.models import Report

PLACE_WINDOW = timedelta(days=14)
PLACE_DEGREES = Decimal("0.01")  # about 1 km at Trinidad's latitude
NAME_WINDOW = timedelta(days=365)


@dataclass
class Candidate:
    report: Report
    reasons: list = field(default_factory=list)


def _shares_a_name(mine: set[str], theirs: list[str]) -> bool:
    # Two tokens in common (a first name and a surname), or the whole of a one-word name.
    common = mine & set(theirs or [])
    return len(common) >= 2 or (len(common) == 1 and min(len(mine), len(theirs or [])) == 1)


def find_duplicates(report: Report, visible) -> list[Candidate]:
    """Candidates among ``visible`` (a queryset already restricted with visible_to)."""
    others = visible.exclude(pk=report.pk)
    found: dict[int, Candidate] = {}

    def add(other: Report, reason) -> None:
        found.setdefault(other.pk, Candidate(other)).reasons.append(reason)

    if report.reporter_phone_index:
        for other in others.filter(reporter_phone_index=report.reporter_phone_index)[:20]:
            add(other, _("same phone number"))
    if report.latitude is not None and report.longitude is not None:
        near = others.filter(
            latitude__range=(report.latitude - PLACE_DEGREES, report.latitude + PLACE_DEGREES),
            longitude__range=(report.longitude - PLACE_DEGREES, report.longitude + PLACE_DEGREES),
            received_at__range=(report.received_at - PLACE_WINDOW, report.received_at + PLACE_WINDOW),
        )
        for other in near[:20]:
            add(other, _("same place within two weeks"))
    tokens = set(report.named_person_index or [])
    if tokens:
        window = others.filter(received_at__range=(report.received_at - NAME_WINDOW, report.received_at + NAME_WINDOW)).exclude(named_person_index=[])
        for other in window.only("id", "reference", "received_at", "status", "named_person_index")[:2000]:
            if _shares_a_name(tokens, other.named_person_index):
                add(other, _("same named person"))
    linked = set(report.links_from.values_list("other_id", flat=True)) | set(report.links_to.values_list("report_id", flat=True))
    return [c for c in found.values() if c.report.pk not in linked]

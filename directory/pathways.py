"""Which authorised providers fit a need (issue #5). Interface used by referrals; the directory work fills it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ProviderProposal:
    agency: object
    reasons: list = field(default_factory=list)
    distance_km: float | None = None


def propose_providers(need_type: str, *, case_person=None, near: tuple[float, float] | None = None, limit: int = 5) -> list[ProviderProposal]:
    """Authorised providers for ``need_type`` (care.choices.NeedType values), in pathway order, filtered by
    the person's eligibility (age, sex, nationality), language and free capacity, nearest first within a step."""
    from directory.models import Agency

    return [ProviderProposal(a) for a in Agency.objects.filter(authorised_for_referrals=True, is_active=True)[:limit]]

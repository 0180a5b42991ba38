"""Referral statistics per provider (issue #5): counts, acceptance rate and median times, overall and by month.
Aggregates only: no survivor appears here."""

from __future__ import annotations

from collections import defaultdict
from statistics import median

from referrals.choices import ReferralStatus
from referrals.models import Referral


def _hours(start, end) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() / 3600


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(median(values), 1) if values else None


def _summary(rows: list[Referral]) -> dict:
    accepted = sum(1 for r in rows if r.accepted_at is not None)
    declined = sum(1 for r in rows if r.status == ReferralStatus.DECLINED)
    answered = accepted + declined
    return {
        "sent": len(rows),
        "accepted": accepted,
        "declined": declined,
        "completed": sum(1 for r in rows if r.status == ReferralStatus.COMPLETED),
        "acceptance_rate": round(100 * accepted / answered) if answered else None,
        "median_ack_hours": _median([_hours(r.sent_at, r.acknowledged_at) for r in rows]),
        "median_accept_hours": _median([_hours(r.sent_at, r.accepted_at) for r in rows]),
        "median_complete_hours": _median([_hours(r.sent_at, r.completed_at) for r in rows]),
    }


def referral_statistics(queryset=None) -> dict:
    """Every referral ever sent (drafts never count), by provider and by month of sending."""
    referrals = list(
        (queryset if queryset is not None else Referral.objects.all())
        .filter(sent_at__isnull=False)
        .select_related("provider")
        .order_by("sent_at")
    )
    by_provider: dict = defaultdict(list)
    by_month: dict = defaultdict(list)
    by_provider_month: dict = defaultdict(list)
    for r in referrals:
        by_provider[r.provider].append(r)
        month = r.sent_at.strftime("%Y-%m")
        by_month[month].append(r)
        by_provider_month[(r.provider, month)].append(r)
    providers = [
        {"provider": p, **_summary(rows)} for p, rows in sorted(by_provider.items(), key=lambda kv: str(kv[0]))
    ]
    months = [{"month": m, **_summary(rows)} for m, rows in sorted(by_month.items())]
    provider_months = [
        {"provider": p, "month": m, **_summary(rows)}
        for (p, m), rows in sorted(by_provider_month.items(), key=lambda kv: (str(kv[0][0]), kv[0][1]))
    ]
    overall = _summary(referrals)
    peak = max([row["sent"] for row in providers] + [row["sent"] for row in months] + [1])
    for row in providers + months:
        row["bar"] = round(100 * row["sent"] / peak)
        row["accepted_bar"] = round(100 * row["accepted"] / peak)
    return {"overall": overall, "providers": providers, "months": months, "provider_months": provider_months}

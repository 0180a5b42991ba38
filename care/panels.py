"""Victim care's panels on the "my work" home page (issue #4): risk reviews due and permits expiring, for
the victims the user may record care for (their cases' victims; everyone's for leadership)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import F, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from beacon.home import panel
from care.actions import PERMIT_ALERT_DAYS
from care.choices import RiskLevel
from care.models import ImmigrationDocument, RiskAssessment, victims_visible_to
from care.overview import risk_badge
from cases.choices import CaseStatus

# Reviews falling due within this many days are listed before they are overdue.
REVIEW_SOON_DAYS = 7
CLOSED = [CaseStatus.CLOSED, CaseStatus.CLOSED_REFERRED]


def _url(case_id: int, section: str, case_person_id: int) -> str:
    return reverse("care:case_care", args=[case_id]) + f"#{section}-{case_person_id}"


def risk_reviews_due(user, today=None, limit: int = 10) -> list[dict]:
    """Victims in open cases whose latest risk assessment is due for review (or overdue), or who were never
    assessed, soonest first."""
    today = today or timezone.localdate()
    latest = RiskAssessment.objects.filter(case_person=OuterRef("pk")).order_by("-assessed_on", "-id")
    victims = (
        victims_visible_to(user, "change")
        .exclude(case__status__in=CLOSED)
        .annotate(
            next_review=Subquery(latest.values("next_review_on")[:1]), risk_level=Subquery(latest.values("level")[:1])
        )
        .filter(Q(next_review__isnull=True) | Q(next_review__lte=today + timedelta(days=REVIEW_SOON_DAYS)))
        .select_related("case")
        .order_by(F("next_review").asc(nulls_first=True), "pk")[:limit]
    )
    return [
        {
            "reference": v.case.reference,
            "pseudonym": v.pseudonym,
            "url": _url(v.case_id, "risk", v.pk),
            "level": RiskLevel(v.risk_level).label if v.risk_level else "",
            "badge": risk_badge(v.risk_level or ""),
            "next_review": v.next_review,
            "overdue": v.next_review is not None and v.next_review < today,
        }  # fmt: skip
        for v in victims
    ]


def permits_expiring(user, today=None, limit: int = 10) -> list[dict]:
    """Documents still held that expire within the alert window, or have already expired, soonest first."""
    today = today or timezone.localdate()
    documents = (
        ImmigrationDocument.objects.visible_to(user, "change")
        .filter(is_current=True, expires_on__isnull=False, expires_on__lte=today + timedelta(days=PERMIT_ALERT_DAYS))
        .exclude(case_person__case__status__in=CLOSED)
        .select_related("case_person__case")
        .order_by("expires_on", "pk")[:limit]
    )
    return [
        {
            "reference": d.case_person.case.reference,
            "pseudonym": d.case_person.pseudonym,
            "kind": d.get_kind_display(),
            "url": _url(d.case_person.case_id, "immigration", d.case_person_id),
            "expires_on": d.expires_on,
            "days": d.days_left(today),
        }  # fmt: skip
        for d in documents
    ]


@panel(50)
def reviews_panel(request):
    if not request.user.has_perm("care.record"):
        return None
    return {"title": _("Risk reviews due"), "template": "care/_panel_reviews.html", "items": risk_reviews_due(request.user),
            "now": timezone.localdate(), "empty": _("No risk review is due.")}  # fmt: skip


@panel(55)
def permits_panel(request):
    if not request.user.has_perm("care.record"):
        return None
    return {"title": _("Permits expiring"), "template": "care/_panel_permits.html", "items": permits_expiring(request.user),
            "now": timezone.localdate(), "empty": _("No permit or document expires in the next %(days)s days.") % {"days": PERMIT_ALERT_DAYS}}  # fmt: skip

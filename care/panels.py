"""Victim care's panels on the "my work" home page (issue #4): risk reviews due and permits expiring, for
the victims the user may record care for (their cases' victims; everyone's for leadership)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Exists, OuterRef, Q
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
    assessed, soonest first: the never assessed by record, then by review date.

    Two indexed reads rather than the latest assessment looked up for every visible victim (a Director sees
    them all): the never assessed (an anti-join), then the latest assessments already due (those with no later
    assessment of the same person), so the work follows what is due, not how many victims there are."""
    today = today or timezone.localdate()
    victims = victims_visible_to(user, "change").exclude(case__status__in=CLOSED)
    never = (
        victims.filter(~Exists(RiskAssessment.objects.filter(case_person=OuterRef("pk"))))
        .select_related("case")
        .order_by("pk")[:limit]
    )
    rows = [(victim, None, "") for victim in never]
    if len(rows) < limit:
        later = RiskAssessment.objects.filter(case_person=OuterRef("case_person")).filter(
            Q(assessed_on__gt=OuterRef("assessed_on")) | Q(assessed_on=OuterRef("assessed_on"), pk__gt=OuterRef("pk"))
        )
        due = (
            RiskAssessment.objects.filter(
                case_person__in=victims.values("pk"), next_review_on__lte=today + timedelta(days=REVIEW_SOON_DAYS)
            )
            .filter(~Exists(later))
            .select_related("case_person__case")
            .order_by("next_review_on", "case_person_id")[: limit - len(rows)]
        )
        rows += [(a.case_person, a.next_review_on, a.level) for a in due]
    return [
        {
            "reference": v.case.reference,
            "pseudonym": v.pseudonym,
            "url": _url(v.case_id, "risk", v.pk),
            "level": RiskLevel(level).label if level else "",
            "badge": risk_badge(level or ""),
            "next_review": next_review,
            "overdue": next_review is not None and next_review < today,
        }  # fmt: skip
        for v, next_review, level in rows
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

"""Referral panels on the "my work" home page (issue #5): what waits for a provider's staff, and the overdue
referrals the unit's care officers and leadership can see."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from beacon.home import panel
from referrals.choices import AWAITING_ANSWER, Side
from referrals.models import Referral, side_of


@panel(45)
def waiting_panel(request):
    if side_of(request.user) != Side.PROVIDER:
        return None
    referrals = (
        Referral.objects.visible_to(request.user).filter(status__in=AWAITING_ANSWER).order_by("sent_at", "pk")[:10]
    )
    items = [
        {"url": r.get_portal_url(), "reference": r.reference, "status": r.get_status_display(), "urgency": r.get_urgency_display(),
         "urgent": r.urgency == "urgent", "overdue": r.is_overdue, "sent_at": r.sent_at}
        for r in referrals
    ]  # fmt: skip
    return {"title": _("Referrals waiting for you"), "template": "referrals/_panel.html", "items": items,
            "link": reverse("referrals:portal_list"), "empty": _("No referral is waiting for an answer.")}  # fmt: skip


@panel(46)
def overdue_panel(request):
    if side_of(request.user) != Side.UNIT or not (
        request.user.has_perm("referrals.send") or request.user.is_leadership
    ):
        return None
    referrals = (
        Referral.objects.visible_to(request.user).overdue().select_related("provider").order_by("sent_at", "pk")[:10]
    )
    items = [
        {"url": r.get_absolute_url(), "reference": r.reference, "status": r.get_status_display(), "urgency": r.get_urgency_display(),
         "urgent": r.urgency == "urgent", "overdue": True, "sent_at": r.sent_at, "provider": str(r.provider)}
        for r in referrals
    ]  # fmt: skip
    return {"title": _("Overdue referrals"), "template": "referrals/_panel.html", "items": items,
            "link": reverse("referrals:referral_list") + "?overdue=on", "empty": _("No referral is overdue.")}  # fmt: skip

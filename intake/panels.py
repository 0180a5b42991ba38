"""Intake's panels on the "my work" home page (issue #3)."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from beacon.home import panel
from intake.choices import Status
from intake.models import Report


@panel(20)
def assigned_to_me(request):
    user = request.user
    if not (user.has_perm("screening.screen") or user.has_perm("screening.screen_any")):
        return None
    items = list(Report.objects.visible_to(user).filter(assignee=user, status__in=[Status.ASSIGNED, Status.UNDER_SCREENING]).order_by("priority", "received_at")[:10])
    return {"title": _("Reports assigned to me"), "template": "intake/_panel_reports.html", "items": items, "now": timezone.now(),
            "link": reverse("intake:report_list") + "?assigned=me", "empty": _("Nothing assigned to you.")}  # fmt: skip


@panel(30)
def to_triage(request):
    user = request.user
    if not user.has_perm("intake.triage"):
        return None
    items = list(Report.objects.visible_to(user, "triage").filter(status__in=[Status.RECEIVED, Status.TRIAGED]).order_by("received_at")[:10])
    return {"title": _("Waiting for triage or assignment"), "template": "intake/_panel_reports.html", "items": items, "now": timezone.now(),
            "link": reverse("intake:report_list") + "?assigned=none", "empty": _("Nothing waiting.")}  # fmt: skip


@panel(35)
def overdue(request):
    user = request.user
    if not user.has_perm("intake.triage"):
        return None
    now = timezone.now()
    items = list(
        Report.objects.visible_to(user).filter(
            Q(status=Status.ASSIGNED, acknowledged_at__isnull=True, ack_due_at__lt=now)
            | Q(status__in=[Status.ASSIGNED, Status.UNDER_SCREENING], screening_due_at__lt=now)
        ).select_related("assignee")[:10]
    )
    return {"title": _("Overdue"), "template": "intake/_panel_reports.html", "items": items, "now": now,
            "link": reverse("intake:report_list") + "?overdue=on", "empty": _("Nothing overdue.")}  # fmt: skip


@panel(40)
def awaiting_decision(request):
    user = request.user
    if not user.has_perm("screening.decide"):
        return None
    from screening.models import Screening

    items = [s.report for s in Screening.objects.visible_to(user).filter(decision__isnull=True, report__status=Status.UNDER_SCREENING).select_related("report")[:10]]
    return {"title": _("Screenings awaiting your decision"), "template": "intake/_panel_reports.html", "items": items, "now": timezone.now(),
            "link": reverse("intake:report_list") + "?status=under_screening", "empty": _("No decision waiting.")}  # fmt: skip

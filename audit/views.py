from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from audit import log as audit
from audit.forms import AuditFilterForm
from audit.models import AuditEvent


@permission_required("audit.view_log", raise_exception=True)
def event_list(request: HttpRequest) -> HttpResponse:
    events = AuditEvent.objects.visible_to(request.user)
    form = AuditFilterForm(request.GET or None)
    used: list[str] = []
    if form.is_valid():
        data = form.cleaned_data
        tz = timezone.get_current_timezone()
        if data["actor"]:
            events = events.filter(actor_name__iexact=data["actor"])
        if data["action"]:
            events = events.filter(action__startswith=data["action"])
        if data["object_type"]:
            events = events.filter(object_type=data["object_type"])
        if data["object_id"]:
            events = events.filter(object_id=data["object_id"])
        if data["request_id"]:
            events = events.filter(request_id=data["request_id"])
        if data["since"]:
            events = events.filter(at__gte=datetime.combine(data["since"], time.min, tz))
        if data["until"]:
            events = events.filter(at__lt=datetime.combine(data["until"] + timedelta(days=1), time.min, tz))
        used = sorted(name for name, value in data.items() if value)
    page = Paginator(events.order_by("-id"), 100).get_page(request.GET.get("page"))
    # Browsing the audit log is itself audited, with the filter names only (issue #2).
    audit.record("audit.search", actor=request.user, details={"filters": used, "page": page.number})
    return render(request, "audit/event_list.html", {"page": page, "form": form})

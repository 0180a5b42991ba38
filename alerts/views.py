from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from alerts import actions
from alerts.models import Notification
from utilities.querysets import get_visible_or_404


def notification_list(request: HttpRequest) -> HttpResponse:
    items = Notification.objects.visible_to(request.user)
    page = Paginator(items, 30).get_page(request.GET.get("page"))
    return render(request, "alerts/notification_list.html", {"page": page})


def badge(request: HttpRequest) -> HttpResponse:
    """The unread count in the navigation bar, refreshed by htmx every 30 seconds."""
    unread = Notification.objects.visible_to(request.user).unread()
    return render(
        request,
        "alerts/_badge.html",
        {"unread_count": unread.count(), "urgent_count": unread.filter(urgent=True, acknowledged_at__isnull=True).count()},
    )


@require_POST
def open_notification(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_visible_or_404(Notification.objects.all(), request.user, pk=pk)
    actions.mark_read(item, actor=request.user)
    return redirect(item.link or "alerts:list")


@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_visible_or_404(Notification.objects.all(), request.user, pk=pk)
    actions.acknowledge(item, actor=request.user)
    return redirect("alerts:list")


@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    actions.mark_all_read(actor=request.user)
    return redirect("alerts:list")

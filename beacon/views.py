from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from accounts.middleware import mfa_not_required
from beacon import panels  # noqa: F401  (registers the platform's own panels)
from beacon.home import panels_for


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home/home.html", {"panels": panels_for(request)})


@login_not_required
@mfa_not_required
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers and every migration is applied; 503 otherwise (no details leak)."""
    try:
        connection = connections["default"]
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return JsonResponse({"status": "unavailable"}, status=503)
    if pending:
        return JsonResponse({"status": "migrations pending"}, status=503)
    return JsonResponse({"status": "ok"})

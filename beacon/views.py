from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from accounts.middleware import mfa_not_required
from beacon import panels  # noqa: F401  (registers the platform's own panels)
from beacon.home import panels_for
from utilities import antivirus

logger = logging.getLogger(__name__)


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
        pending = not _migrated(connection)
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return JsonResponse({"status": "unavailable"}, status=503)
    if pending:
        return JsonResponse({"status": "migrations pending"}, status=503)
    return JsonResponse({"status": "ok"})


# --- Readiness (issue #11) -----------------------------------------------------------------------------------
_migrated_aliases: set[str] = set()


def _migrated(connection) -> bool:
    """Whether every migration is applied. Loading the migration graph is slow, so once it says yes the
    answer is kept for the life of the process (migrations are not unapplied under a running server)."""
    if connection.alias in _migrated_aliases:
        return True
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return False
    _migrated_aliases.add(connection.alias)
    return True


@login_not_required
@mfa_not_required
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Whether this process can serve requests: 200 with every check "ok", else 503 naming the failed checks.

    /healthz is for "is the process up"; a load balancer or orchestrator asks /readyz before sending traffic.
    The body names checks only: no host names, paths, counts or error texts (the failure is logged by class).
    """
    from stats.dataset import stats_database

    def database() -> None:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")

    def migrations() -> None:
        if not _migrated(connections["default"]):
            raise RuntimeError("migrations pending")

    def task_queue() -> None:
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.exists()

    def media() -> None:
        # MEDIA_ROOT is writable, or with BEACON_STORAGE=s3 the bucket answers a HEAD request (issue #11).
        from utilities.storage import check_available

        check_available()

    checks = {"database": database, "migrations": migrations, "task_queue": task_queue, "media": media}
    if stats_database() != "default":

        def replica() -> None:
            with connections[stats_database()].cursor() as cursor:
                cursor.execute("SELECT 1")

        checks["replica"] = replica
    # Issue #10: with a virus scanner in use, uploads are refused while it is down, so readiness depends on it.
    scanner = antivirus.configured_scanner()
    if scanner is not None:
        checks["antivirus"] = scanner.ping
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            results[name] = "fail"
    ready = all(value == "ok" for value in results.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": results}, status=200 if ready else 503)

"""Large statistical reports generated in the background (issue #8), run by `manage.py beacon_worker`.

Idempotent: a run already started (or finished) is left alone. The result (a file, or the report's tables
as JSON for the screen) is stored encrypted; only counts and labels, never personal data."""

from __future__ import annotations

import json
import logging

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from stats.models import ReportRun, ReportRunStatus

logger = logging.getLogger(__name__)


def run_now(run_id: int) -> bool:
    from alerts.actions import notify
    from stats import exports
    from stats.builder import RUN_STORE, ReportSpec, build, new_stored_name
    from utilities.storage import store_encrypted

    if not ReportRun.objects.filter(pk=run_id, status=ReportRunStatus.QUEUED).update(
        status=ReportRunStatus.RUNNING, progress=1
    ):
        return False
    run = ReportRun.objects.select_related("requested_by").get(pk=run_id)

    def progress(pct: int) -> None:
        ReportRun.objects.filter(pk=run_id).update(progress=max(1, min(99, pct)))

    try:
        report = build(ReportSpec.from_params(run.params), progress=progress)
        if run.format == "html":
            data = json.dumps(report).encode("utf-8")
        else:
            data = exports.render(report, run.format)
    except Exception:
        logger.exception("statistics report run %s failed", run_id)
        ReportRun.objects.filter(pk=run_id).update(
            status=ReportRunStatus.FAILED, error="generation failed", finished_at=timezone.now()
        )
        return False
    stored_name = new_stored_name()
    store_encrypted(RUN_STORE, stored_name, data)
    ReportRun.objects.filter(pk=run_id).update(
        status=ReportRunStatus.READY, progress=100, stored_name=stored_name, size=len(data), finished_at=timezone.now()
    )
    notify(
        [run.requested_by],
        event="stats.report_ready",
        message=_("Your statistical report is ready."),
        link=reverse("stats:builder_run", args=[run.pk]),
    )
    return True


@task()
def run_report(run_id: int) -> bool:
    return run_now(run_id)

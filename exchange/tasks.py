"""Background HTCDS imports (issue #8), run by `manage.py beacon_worker`.

Idempotent: a job already running or finished is left alone, so a task delivered twice imports once."""

from __future__ import annotations

from django_tasks import task


@task()
def run_import_job(job_id: int) -> bool:
    from exchange.actions import run_job

    return run_job(job_id)

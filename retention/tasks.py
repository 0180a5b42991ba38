"""Retention's periodic work (issue #10), called from `alerts.tasks.run_periodic_checks` every minute: the
retention job at most once a day, the access digest at most once a week. Cheap when nothing is due."""

from __future__ import annotations

from django.utils import timezone


def run_due(now=None) -> dict:
    from retention import actions

    now = now or timezone.now()
    done: dict = {}
    run = actions.claim_daily_run(now)
    if run is not None:
        actions.apply_retention(run=run, now=now)
        done["retention_run"] = run.pk
    if actions.claim_weekly_digest(now):
        digest = actions.create_access_digest(now=now, if_due=True)
        if digest is not None:
            done["access_digest"] = digest.pk
    return done

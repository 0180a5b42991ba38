"""Background work of the integrations domain (issue #9), run by `manage.py beacon_worker`.

``deliver_webhook`` is queued when an event commits; a failed attempt queues the next one for when it is
due. ``retry_due_webhooks`` runs with the periodic checks and picks up any due delivery whose task was lost.
Both are idempotent (``integrations.delivery.attempt`` claims before sending).

Primero sends that failed for a passing reason follow the same pattern: ``retry_primero_send`` is queued for
when the retry is due, ``retry_due_primero_sends`` (periodic checks) picks up any whose task was lost or whose
worker died mid-attempt, and ``integrations.actions.attempt_primero_send`` claims before sending."""

from __future__ import annotations

from django_tasks import task

from integrations.choices import DeliveryStatus, SubmissionStatus
from integrations.delivery import attempt, due_deliveries


@task()
def deliver_webhook(delivery_id: int) -> str | None:
    delivery = attempt(delivery_id)
    if delivery is None:
        return None
    if delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at is not None:
        deliver_webhook.using(run_after=delivery.next_attempt_at).enqueue(delivery_id)
    return delivery.status


def retry_due_webhooks(now=None) -> int:
    """Queue a delivery task for every pending delivery that is due (run with the periodic checks, so a lost
    task never strands a delivery). Returns the number queued."""
    ids = list(due_deliveries(now).order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:500])
    for pk in ids:
        deliver_webhook.enqueue(pk)
    return len(ids)


@task()
def retry_primero_send(submission_id: int) -> str | None:
    from integrations.actions import attempt_primero_send

    submission = attempt_primero_send(submission_id)
    return None if submission is None else submission.status


def retry_due_primero_sends(now=None) -> int:
    """Queue a retry for every Primero send that is due: waiting to retry, or pending with its lease run out
    (a worker or web process that died mid-attempt). Returns the number queued."""
    from django.utils import timezone

    from integrations.models import PrimeroSubmission

    now = now or timezone.now()
    due = PrimeroSubmission.objects.filter(
        status__in=[SubmissionStatus.PENDING, SubmissionStatus.RETRYING], next_attempt_at__lte=now
    )
    ids = list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:500])
    for pk in ids:
        retry_primero_send.enqueue(pk)
    return len(ids)

"""Delivering outgoing cooperation messages (issue #9), run by `manage.py beacon_worker` (django-tasks).

Each attempt seals the stored message afresh (same message id, new time stamp and ephemeral key), so a retry
an hour later is still inside the peer's clock window, while the peer's replay check means it is never
accepted twice. Idempotent: a delivered message is never sent again."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone
from django_tasks import task

logger = logging.getLogger(__name__)

# A peer that is down for a while must not lose the message: retry with a growing delay (2, 4, 8... minutes).
DELIVERY_ATTEMPTS = 6


@task()
def deliver_message(message_id: int) -> str:
    from cooperation.actions import attempt_delivery
    from cooperation.choices import Delivery

    outcome = attempt_delivery(message_id)
    if outcome == "retry":
        from cooperation.models import CoopMessage

        message = CoopMessage.objects.get(pk=message_id)
        if message.attempts < DELIVERY_ATTEMPTS and message.delivery == Delivery.PENDING:
            run_after = timezone.now() + timedelta(minutes=2**message.attempts)
            deliver_message.using(run_after=run_after).enqueue(message_id)
        else:
            from cooperation.actions import give_up_delivery

            give_up_delivery(message_id)
            outcome = "failed"
    logger.info("cooperation message %s: %s", message_id, outcome)
    return outcome

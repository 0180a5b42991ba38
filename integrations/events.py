"""Emitting webhook events (issue #9). Actions call ``emit`` inside their transaction:

    emit("referral.updated", referral, change="accepted")

One delivery row per active webhook subscribed to the event is written in the caller's transaction (so a
rolled-back action sends nothing) and the delivery task is queued once it commits. The payload carries the
event's type and the object's type, id and reference: never a name, a narrative or any other personal data.
"""

from __future__ import annotations

import uuid
from functools import partial

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from integrations.models import Webhook, WebhookDelivery


def build_payload(event_id: uuid.UUID, event_type: str, obj: Model | None, *, change: str = "", at=None) -> dict:
    payload: dict = {"id": str(event_id), "type": event_type, "occurred_at": (at or timezone.now()).isoformat()}
    if obj is not None:
        payload["object"] = {
            "type": obj._meta.model_name,
            "id": obj.pk,
            "reference": getattr(obj, "reference", None) or "",
        }
    if change:
        payload["change"] = change
    return payload


def create_delivery(
    webhook: Webhook, event_type: str, obj: Model | None, *, change: str = "", at=None
) -> WebhookDelivery:
    event_id = uuid.uuid4()
    at = at or timezone.now()
    return WebhookDelivery.objects.create(
        webhook=webhook,
        event_id=event_id,
        event_type=event_type,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        payload=build_payload(event_id, event_type, obj, change=change, at=at),
        next_attempt_at=at,
    )


def enqueue_deliveries(ids: list[int]) -> None:
    from integrations.tasks import deliver_webhook

    for pk in ids:
        deliver_webhook.enqueue(pk)


def emit(event_type: str, obj: Model, *, change: str = "") -> list[WebhookDelivery]:
    hooks = [hook for hook in Webhook.objects.filter(is_active=True) if event_type in (hook.events or [])]
    if not hooks:
        return []
    at = timezone.now()
    deliveries = [create_delivery(hook, event_type, obj, change=change, at=at) for hook in hooks]
    transaction.on_commit(partial(enqueue_deliveries, [d.pk for d in deliveries]), robust=True)
    return deliveries

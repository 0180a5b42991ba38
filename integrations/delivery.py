"""Delivering one webhook event (issue #9): sign, POST, record, and schedule the next attempt on failure.

Attempts follow ``RETRY_DELAYS`` (1 minute, 5, 30, 2 hours, 12 hours), then the delivery is marked failed.
Each attempt first claims the delivery with a short lease, so two workers never send it at the same time, and
an attempt that finds it already delivered, failed or not yet due does nothing (idempotent). Response bodies
are read and discarded; only the status code and a short error are kept."""

from __future__ import annotations

import http.client
import json
import logging

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations import net, signing
from integrations.choices import ATTEMPT_LEASE, MAX_ATTEMPTS, RETRY_DELAYS, DeliveryStatus
from integrations.models import WebhookDelivery

logger = logging.getLogger(__name__)

USER_AGENT = "Beacon-Webhooks/1"


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode("utf-8")


def claim_due(queryset, pk: int, now, lease) -> bool:
    """Claim the row ``pk`` of ``queryset`` for one attempt if it is due, by moving its ``next_attempt_at`` to
    the end of a lease: one conditional UPDATE, so of two workers handed the same row only one gets it, and
    a worker that dies mid-attempt leaves it due again once the lease runs out. Used by webhook deliveries and
    Primero retries (``integrations.actions.attempt_primero_send``)."""
    return bool(queryset.filter(pk=pk, next_attempt_at__lte=now).update(next_attempt_at=now + lease))


def attempt(delivery_id: int, now=None) -> WebhookDelivery | None:
    """Try to deliver ``delivery_id`` if it is pending and due. Returns the updated delivery, or None when
    there was nothing to do."""
    now = now or timezone.now()
    claimed = claim_due(WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING), delivery_id, now, ATTEMPT_LEASE)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    hook = delivery.webhook
    code, error = None, ""
    if not hook.is_active:
        error = _("The webhook was deactivated.")
    else:
        body = body_of(delivery)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Beacon-Event": delivery.event_type,
            "X-Beacon-Delivery": str(delivery.event_id),
            "X-Beacon-Signature": signing.header(hook.secret, body),
        }
        try:
            response = net.request(hook.url, method="POST", body=body, headers=headers)
        except (net.DestinationRefused, OSError, http.client.HTTPException) as exc:
            error = net.describe_error(exc)
        else:
            code = response.status
            if 300 <= code < 400:
                error = _("Redirect not followed (HTTP %(code)s).") % {"code": code}
            elif not 200 <= code < 300:
                error = _("HTTP %(code)s.") % {"code": code}
    attempts = delivery.attempts + 1
    fields = {
        "attempts": F("attempts") + 1,
        "last_attempt_at": now,
        "last_response_code": code,
        "last_error": error[:300],
    }
    if not error:
        fields |= {"status": DeliveryStatus.DELIVERED, "delivered_at": timezone.now(), "next_attempt_at": None}
    elif attempts >= MAX_ATTEMPTS or not hook.is_active:
        fields |= {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
    else:
        fields |= {"next_attempt_at": now + RETRY_DELAYS[attempts - 1]}
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
    delivery.refresh_from_db()
    logger.info("webhook %s delivery %s: attempt %s, %s", hook.pk, delivery.event_id, attempts, delivery.status)
    return delivery


def due_deliveries(now=None):
    now = now or timezone.now()
    return WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
